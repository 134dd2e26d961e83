"""How far each learner got in each lesson, and when they last started a course over.

``LessonProgress`` has one row per learner and lesson, updated in place. A row counts
only when it was started after the learner's ``CourseReset.reset_at`` for that course (if any);
an older row is started afresh the next time the learner opens the lesson.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.learner import SLUG_LENGTH, LearnerOwned, now, one_learner

SECTION_LENGTH = 200  # heading ids: "h-" and a slug of the heading text


class LessonProgress(LearnerOwned, db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (
        one_learner(),
        UniqueConstraint("user_id", "course", "lesson", name="uq_lesson_progress_user"),
        UniqueConstraint("guest_id", "course", "lesson", name="uq_lesson_progress_guest"),
        Index("ix_lesson_progress_lesson", "course", "lesson"),
    )

    lesson: Mapped[str] = mapped_column(String(SLUG_LENGTH))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # The furthest heading reported by the page, and its position among the headings.
    furthest_section: Mapped[str | None] = mapped_column(String(SECTION_LENGTH))
    furthest_index: Mapped[int] = mapped_column(default=-1)
    percent_read: Mapped[int] = mapped_column(default=0)  # 100: the end was reached
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    marked_complete: Mapped[bool] = mapped_column(default=False)  # "Mark as complete"


class CourseReset(LearnerOwned, db.Model):
    """The learner started the course over at ``reset_at``; only later activity counts."""

    __tablename__ = "course_reset"
    __table_args__ = (
        one_learner(),
        UniqueConstraint("user_id", "course", name="uq_course_reset_user"),
        UniqueConstraint("guest_id", "course", name="uq_course_reset_guest"),
    )

    reset_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
