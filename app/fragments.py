"""Pieces of pages kept per worker and shared by every visitor they fit.

A piece (rendered HTML, a question's choice order, compressed text) is kept under a key
naming everything it depends on, next to the content object it was made from (a course,
a lesson, a question, a text): when content is loaded again the objects are new, and a
kept piece of the old ones is made afresh. Macros are part of the key of rendered pieces
too, since ``flask --debug`` reloads templates.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import get_template_attribute

MAX_KEPT = 8192  # pieces per worker, a few KB each; all are dropped when it is reached
_kept: dict[Hashable, tuple[object, Any]] = {}
Piece = TypeVar("Piece")


def macro(template: str, name: str) -> Any:
    """A macro of a template (loaded once, or again when the template changed)."""
    return get_template_attribute(template, name)


def kept(key: Hashable, owner: object, make: Callable[[], Piece]) -> Piece:
    """``make()``, or what it gave before for ``key`` and this ``owner``."""
    entry = _kept.get(key)
    if entry is not None and entry[0] is owner:
        return entry[1]
    if len(_kept) >= MAX_KEPT:
        _kept.clear()
    piece = make()
    _kept[key] = (owner, piece)
    return piece
