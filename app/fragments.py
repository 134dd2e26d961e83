"""Pieces of pages kept per worker and shared by every visitor they fit.

A piece (rendered HTML, a question's choice order, compressed text) is kept under a key
naming everything it depends on, next to the content object it was made from (a course,
a lesson, a question, a text): when content is loaded again the objects are new, and a
kept piece of the old ones is made afresh. Macros are part of the key of rendered pieces
too, since ``flask --debug`` reloads templates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import current_app, g, get_template_attribute, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app.csrf import remember

MAX_KEPT = 8192  # pieces per worker, a few KB each; all are dropped when it is reached
_kept: dict[Hashable, tuple[object, Any]] = {}
Piece = TypeVar("Piece")


def macro(template: str, name: str) -> Any:
    """A macro of a template: looked up once per app while templates are not reloaded
    (``TEMPLATES_AUTO_RELOAD``, debug), else each time (again when the template changed)."""
    env = current_app.jinja_env
    if env.auto_reload:
        return get_template_attribute(template, name)
    return kept(("macro", template, name), env, lambda: get_template_attribute(template, name))


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


# What a page fills in for each response: its CSRF token and each form's submission id.
# While a kept page is rendered (``slots_open``) these stand in for them (a NUL never
# occurs in escaped HTML), and the page is filled in per response.
CSRF_SLOT = "\x00slot:csrf\x00"
SUBMISSION_SLOT = "\x00slot:submission\x00"


VARIANTS_SLOT = "\x00slot:variants:{}\x00"  # one of several renderings, picked per response


@contextmanager
def slots_open() -> Iterator[list[tuple[str, ...]]]:
    """Render with slots for the per-response tokens instead of the tokens.

    Gives the list of the page's variant slots (``variants_slot``), by number.
    """
    variants: list[tuple[str, ...]] = []
    g.rendering_slots = True
    g.slot_variants = variants
    try:
        yield variants
    finally:
        g.rendering_slots = False
        g.slot_variants = None


def slots_are_open() -> bool:
    return bool(g.get("rendering_slots"))


def variants_slot(renderings: tuple[str, ...]) -> Markup:
    """A slot for one of ``renderings`` (each may hold token slots), picked per response."""
    variants = g.slot_variants
    variants.append(renderings)
    return Markup(VARIANTS_SLOT.format(len(variants) - 1))  # noqa: S704 - our own marker


def csrf_token() -> str:
    """The request's CSRF token (the ``csrf_token()`` of templates), or its slot."""
    return CSRF_SLOT if slots_are_open() else signed_csrf_token()


MAX_SIGNED_TOKENS = 4096  # sessions whose signed token a worker keeps; all go when full
_signed_tokens: dict[tuple[Any, str], str] = {}


def signed_csrf_token() -> str:
    """Flask-WTF's ``generate_csrf()``, signed once per worker for each session's token.

    The signed form only adds a signature and its time to the session's token, and with
    ``WTF_CSRF_TIME_LIMIT = None`` any signed form of it stays valid: the signature is
    computed once instead of for every page. With a time limit, every page signs afresh.
    """
    config = current_app.config
    raw = session.get(config["WTF_CSRF_FIELD_NAME"])
    if config["WTF_CSRF_TIME_LIMIT"] is not None or not isinstance(raw, str):
        return generate_csrf()
    key = (config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, raw)
    token = _signed_tokens.get(key)
    if token is None:
        if len(_signed_tokens) >= MAX_SIGNED_TOKENS:
            _signed_tokens.clear()
        token = _signed_tokens[key] = generate_csrf()
        remember(token, raw)  # valid when sent back with this session
    return token


def submission_id() -> str:
    """A fresh id for a form's submission (a resent form is recognised by it), or its slot."""
    return SUBMISSION_SLOT if slots_are_open() else str(uuid.uuid4())
