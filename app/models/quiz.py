"""What learners do with knowledge checks: attempts, answer reveals and hint reveals.

All three tables are append-only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.learner import GUEST_ID_LENGTH, SLUG_LENGTH, LearnerOwned, one_learner

SUBMISSION_ID_LENGTH = 36  # a UUID in its canonical text form
REVISION_LENGTH = 32


QUESTION_KEY = ("course", "lesson", "question_id")


def learner_lesson_indexes(table: str) -> tuple[Index, Index]:
    """A learner's rows of one lesson, found without reading other learners' rows."""
    return (
        Index(f"ix_{table}_user_lesson", "user_id", *QUESTION_KEY),
        Index(f"ix_{table}_guest_lesson", "guest_id", *QUESTION_KEY),
    )


VERDICT_COLUMNS = ("correct", "after_reveal", "created_at")


def only_rows_with(column: str) -> dict[str, Any]:
    """A partial index: the rows where ``column`` is set (SQLite and PostgreSQL)."""
    where = text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


class LearnerActivity(LearnerOwned):
    """Columns shared by every row that records something a learner did on a question."""

    lesson: Mapped[str] = mapped_column(String(SLUG_LENGTH))
    question_id: Mapped[str] = mapped_column(String(SLUG_LENGTH))
    revision: Mapped[str] = mapped_column(String(REVISION_LENGTH))


class QuizAttempt(LearnerActivity, db.Model):
    """One graded submission. ``submission_id`` makes a retried POST store nothing new."""

    __tablename__ = "quiz_attempt"
    __table_args__ = (
        one_learner(),
        # The instructor's counts are read from the first alone; wrong answers start at the second.
        Index(
            "ix_quiz_attempt_question",
            "course",
            "lesson",
            "question_id",
            "attempt_number",
            "correct",
        ),
        Index("ix_quiz_attempt_wrong", "course", "correct", "lesson", "question_id"),
        # A learner's counts and verdicts per question are read from the first two alone;
        # their first and newest attempt at it are the ends of the other two, which hold
        # the attempts in the order they were made. Each index holds the rows of one kind
        # of learner: storing a guest's attempt updates the guest's indexes only.
        Index(
            "ix_quiz_attempt_user_lesson",
            "user_id",
            *QUESTION_KEY,
            *VERDICT_COLUMNS,
            **only_rows_with("user_id"),
        ),
        Index(
            "ix_quiz_attempt_guest_lesson",
            "guest_id",
            *QUESTION_KEY,
            "user_id",
            *VERDICT_COLUMNS,
            **only_rows_with("guest_id"),
        ),
        Index("ix_quiz_attempt_user_order", "user_id", *QUESTION_KEY, **only_rows_with("user_id")),
        Index(
            "ix_quiz_attempt_guest_order",
            "guest_id",
            *QUESTION_KEY,
            "user_id",
            **only_rows_with("guest_id"),
        ),
    )

    # The indexes above start with these: attempts need no index of either alone.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    guest_id: Mapped[str | None] = mapped_column(String(GUEST_ID_LENGTH))

    submission_id: Mapped[str] = mapped_column(String(SUBMISSION_ID_LENGTH), unique=True)
    answer: Mapped[Any] = mapped_column(JSON)
    correct: Mapped[bool]
    score: Mapped[float]  # partial credit from 0 to 1 (multi-choice, order)
    attempt_number: Mapped[int]  # 1 for the learner's first attempt at this question
    after_reveal: Mapped[bool] = mapped_column(default=False)  # the answer was shown before
    misconceptions: Mapped[list[str]] = mapped_column(JSON, default=list)


class QuizReveal(LearnerActivity, db.Model):
    """The learner pressed "Show answer" (allowed only after a wrong attempt)."""

    __tablename__ = "quiz_reveal"
    __table_args__ = (
        one_learner(),
        Index("ix_quiz_reveal_question", "course", "lesson", "question_id"),
        *learner_lesson_indexes("quiz_reveal"),
    )


class HintReveal(LearnerActivity, db.Model):
    """The learner asked for hint number ``hint_number`` (1-based) of a question."""

    __tablename__ = "hint_reveal"
    __table_args__ = (
        one_learner(),
        Index("ix_hint_reveal_question", "course", "lesson", "question_id"),
        *learner_lesson_indexes("hint_reveal"),
    )

    hint_number: Mapped[int]
