"""Rendered pieces of pages kept per worker and shared by every visitor they fit.

A piece is kept under a key naming everything its HTML depends on, next to the content
object it was rendered from (a course, a lesson, a question): when content is loaded
again the objects are new, and a kept piece of the old ones is rendered afresh. Macros
are part of the key too, since ``flask --debug`` reloads templates.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import get_template_attribute
from markupsafe import Markup

MAX_KEPT = 8192  # pieces per worker, a few KB each; all are dropped when it is reached
_kept: dict[Hashable, tuple[object, Markup]] = {}


def macro(template: str, name: str) -> Any:
    """A macro of a template (loaded once, or again when the template changed)."""
    return get_template_attribute(template, name)


def kept(key: Hashable, owner: object, render: Callable[[], Markup]) -> Markup:
    """``render()`` (a macro's autoescaped output), or what it gave before for ``key``."""
    entry = _kept.get(key)
    if entry is not None and entry[0] is owner:
        return entry[1]
    if len(_kept) >= MAX_KEPT:
        _kept.clear()
    html = render()
    _kept[key] = (owner, html)
    return html
