"""Columns shared by every table that records something one learner did.

A learner is an account (``user_id``; its rows go when the account is deleted) or a
guest id kept in the signed session (``guest_id``); exactly one is set.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

SLUG_LENGTH = 100  # course, lesson and question ids are slugs well below this
GUEST_ID_LENGTH = 32  # uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class LearnerOwned:
    """A row that belongs to one learner in one course (claimed, exported, deleted with it)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    guest_id: Mapped[str | None] = mapped_column(String(GUEST_ID_LENGTH), index=True)
    course: Mapped[str] = mapped_column(String(SLUG_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


def one_learner() -> CheckConstraint:
    return CheckConstraint("(user_id IS NULL) <> (guest_id IS NULL)", name="one_learner")
