"""What learners do with knowledge checks: attempts, answer reveals and hint reveals.

All three tables are append-only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.learner import SLUG_LENGTH, LearnerOwned, one_learner

SUBMISSION_ID_LENGTH = 36  # a UUID in its canonical text form
REVISION_LENGTH = 32


def learner_lesson_indexes(table: str, *covered: str) -> tuple[Index, Index]:
    """A learner's rows of one lesson, found without reading other learners' rows.

    ``covered`` columns are held in the index too, so that reading them needs no row.
    """
    return (
        Index(f"ix_{table}_user_lesson", "user_id", "course", "lesson", "question_id", *covered),
        Index(
            f"ix_{table}_guest_lesson",
            "guest_id",
            "course",
            "lesson",
            "question_id",
            *(("user_id", *covered) if covered else ()),
        ),
    )


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
        # A learner's counts and verdicts per question are read from these alone.
        *learner_lesson_indexes("quiz_attempt", "correct", "after_reveal", "created_at"),
    )

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
