"""When a learner last started a course over; activity before it no longer counts."""

from __future__ import annotations

from datetime import datetime

from flask import g
from sqlalchemy import ColumnElement, bindparam, func, or_, select, update

from app.database import insert_ignoring_duplicates
from app.extensions import db
from app.models import CourseReset
from app.models.learner import aware, now
from app.quizzes.learner import Learner, learner_is


def reset_time(learner: Learner | None, course: str) -> datetime | None:
    """The learner's latest reset of ``course``; looked up once per request."""
    if learner is None:
        return None
    cache = g.setdefault("course_resets", {})
    key = (learner, course)
    if key not in cache:
        moment = db.session.scalar(
            select(CourseReset.reset_at).where(
                learner.rows_of(CourseReset), CourseReset.course == course
            )
        )
        cache[key] = aware(moment) if moment is not None else None
    return cache[key]


def since_reset(
    kind: str, moment: ColumnElement[datetime], prefix: str = ""
) -> ColumnElement[bool]:
    """SQL: ``moment`` is not before the learner's latest reset of the course (so it counts).

    Compares with the reset time read by a subquery that does not depend on the row, so
    the database reads it once per statement rather than once per row. Its parameters
    are those of ``learner_is(…, kind, prefix)`` and ``<prefix>course``; readers need no
    separate query for the reset time.
    """
    reset = (
        select(func.max(CourseReset.reset_at))
        .where(
            learner_is(CourseReset, kind, prefix),
            CourseReset.course == bindparam(f"{prefix}course"),
        )
        .scalar_subquery()
    )
    return or_(reset.is_(None), moment >= reset)


def reset_course(learner: Learner, course: str) -> datetime:
    """Start ``course`` over for ``learner``: one row per learner and course, moved forward."""
    moment = now()
    insert_ignoring_duplicates(CourseReset, **learner.columns(), course=course, reset_at=moment)
    db.session.execute(
        update(CourseReset)
        .where(learner.rows_of(CourseReset), CourseReset.course == course)
        .values(reset_at=moment)
    )
    g.setdefault("course_resets", {})[(learner, course)] = moment
    g.pop("course_progress_rows", None)  # rows read before the reset no longer count
    g.pop("lesson_activity", None)
    return moment
