"""Who is answering: an account, or a guest id kept in the signed session cookie."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from flask import session
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, bindparam

GUEST_SESSION_KEY = "guest_id"
GUEST_ID_RE = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Learner:
    """Exactly one of ``user_id`` and ``guest_id`` is set."""

    user_id: int | None = None
    guest_id: str | None = None

    def owns(self, row: Any) -> bool:
        if self.user_id is not None:
            return bool(row.user_id == self.user_id)
        return row.user_id is None and row.guest_id == self.guest_id

    def rows_of(self, model: Any) -> ColumnElement[bool]:
        """A WHERE clause selecting this learner's rows of ``model``."""
        if self.user_id is not None:
            return model.user_id == self.user_id
        return and_(model.user_id.is_(None), model.guest_id == self.guest_id)

    def columns(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "guest_id": self.guest_id}

    @property
    def kind(self) -> str:
        """``"user"`` or ``"guest"``: which of ``learner_is`` statements fits this learner."""
        return "user" if self.user_id is not None else "guest"

    def params(self, prefix: str = "") -> dict[str, Any]:
        """Values for the bound parameters of ``learner_is(model, self.kind, prefix)``."""
        if self.user_id is not None:
            return {f"{prefix}user_id": self.user_id}
        return {f"{prefix}guest_id": self.guest_id}


def learner_is(model: Any, kind: str, prefix: str = "") -> ColumnElement[bool]:
    """``Learner.rows_of`` with bound parameters, for statements built once and reused.

    A statement built once skips SQLAlchemy's per-call construction and cache-key work;
    pass ``learner.params(prefix)`` when executing it. (An INSERT keeps the names of its
    own columns for itself: its subqueries use a ``prefix``.)
    """
    if kind == "user":
        return model.user_id == bindparam(f"{prefix}user_id")
    return and_(model.user_id.is_(None), model.guest_id == bindparam(f"{prefix}guest_id"))


def current_learner(create: bool = False) -> Learner | None:
    """The visitor as a learner; with ``create``, a guest id is minted for a new visitor.

    A signed-in visitor is their account. Reading a page never mints a guest id, so
    anonymous reading writes no cookie of its own.
    """
    if current_user.is_authenticated:
        return Learner(user_id=current_user.id)
    guest_id = session.get(GUEST_SESSION_KEY)
    if not (isinstance(guest_id, str) and GUEST_ID_RE.fullmatch(guest_id)):
        if not create:
            return None
        guest_id = uuid.uuid4().hex
        session[GUEST_SESSION_KEY] = guest_id
        session.permanent = True  # guests keep their answers for PERMANENT_SESSION_LIFETIME
    return Learner(guest_id=guest_id)
