"""Record how far learners read and when a lesson is complete.

Functions here flush and never commit; the view commits once per request. Counters
only move forward and are updated in one UPDATE each (``CASE`` on the stored value), so
two syncs arriving together never move a learner backwards.

A lesson is complete when the learner has reached its end (``percent_read`` 100) and
answered every question of the lesson correctly at least once before showing its
answer, or when they pressed "Mark as complete".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol

from flask import g
from sqlalchemy import ColumnElement, Select, bindparam, case, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.content.model import Lesson
from app.database import insert_ignoring_duplicates
from app.extensions import db
from app.models import LessonProgress
from app.models.learner import aware, now
from app.prepared import Prepared
from app.progress.resets import reset_time, since_reset
from app.quizzes.learner import Learner, learner_is
from app.quizzes.services import lesson_activity

VISIT_WRITE_INTERVAL = timedelta(minutes=10)  # a lesson GET writes at most this often
END_PERCENT = 100


def is_current(row: LessonProgress, reset: datetime | None) -> bool:
    """The row was started after the learner's last reset of the course (so it counts)."""
    return reset is None or aware(row.started_at) >= reset


def course_rows(learner: Learner | None, course: str) -> dict[str, LessonProgress]:
    """The learner's progress rows that count in ``course``, by lesson slug.

    Read once per request; the writes below keep the request's copy up to date.
    """
    if learner is None:
        return {}
    cache = g.setdefault("course_progress_rows", {})
    if (learner, course) not in cache:
        rows = db.session.scalars(
            _rows_statement(learner.kind), {**learner.params(), "course": course}
        )
        cache[(learner, course)] = {row.lesson: row for row in rows}
    return cache[(learner, course)]


@cache
def _rows_statement(kind: str) -> Select[tuple[LessonProgress]]:
    return select(LessonProgress).where(
        learner_is(LessonProgress, kind),
        LessonProgress.course == bindparam("course"),
        since_reset(kind, LessonProgress.started_at),
    )


def record_visit(learner: Learner, lesson: Lesson) -> bool:
    """The learner opened the lesson: start it, or note the visit (once per interval).

    True when something was written (the caller commits).
    """
    row = course_rows(learner, lesson.course_slug).get(lesson.slug)
    if row is not None and not visit_is_due(row.last_seen_at):
        return False
    _current_row(learner, lesson, touch=True)
    return True


def visit_is_due(last_seen_at: datetime) -> bool:
    """A visit is written when the lesson was last seen ``VISIT_WRITE_INTERVAL`` ago."""
    return aware(last_seen_at) <= now() - VISIT_WRITE_INTERVAL


def forget_cached_rows() -> None:
    """After a commit the request's rows are stale: read them again when next needed."""
    g.pop("course_progress_rows", None)


def record_reading(
    learner: Learner, lesson: Lesson, section: str | None, percent_read: int
) -> ProgressRow:
    """The page reports the learner reached ``section`` and read ``percent_read`` %.

    Usually one prebuilt UPDATE … RETURNING: the row counts (started since the last
    reset) and is moved forward. When there is no such row, it is made first.
    """
    index = lesson.outline.index(section) if section is not None else -1
    params = {  # an UPDATE keeps its columns' names for itself: the parameters are q_…
        **learner.params("q_"),
        "q_course": lesson.course_slug,
        "q_lesson": lesson.slug,
        "q_now": now(),
        "q_section": section,
        "q_index": index,
        "q_percent_read": percent_read,
    }
    statement = _reading_update(learner.kind)
    row = db.session.connection().execute(statement, params).first()
    if row is None:  # not started, or started before a reset: start it (afresh)
        _current_row(learner, lesson)
        row = db.session.connection().execute(statement, params).first()
        assert row is not None  # noqa: S101 - the row exists and counts now
    row = complete_if_earned(learner, lesson, row)
    forget_cached_rows()
    return row


class ProgressRow(Protocol):
    """A progress row's columns (a ``LessonProgress``, or a row a statement returned)."""

    id: int
    started_at: datetime
    last_seen_at: datetime
    furthest_section: str | None
    percent_read: int
    completed_at: datetime | None
    marked_complete: bool


def _counting_row(kind: str) -> tuple[ColumnElement[bool], ...]:
    """The learner's row for the lesson, if it counts (started since the last reset); for
    UPDATEs, whose parameters are prefixed ``q_``."""
    return (
        learner_is(LessonProgress, kind, "q_"),
        LessonProgress.course == bindparam("q_course"),
        LessonProgress.lesson == bindparam("q_lesson"),
        since_reset(kind, LessonProgress.started_at, "q_"),
    )


@cache
def _reading_update(kind: str) -> Any:
    further = LessonProgress.furthest_index < bindparam("q_index")
    percent = bindparam("q_percent_read")
    return (
        update(LessonProgress.__table__)
        .where(*_counting_row(kind))
        .values(
            last_seen_at=bindparam("q_now"),
            furthest_section=case(
                (further, bindparam("q_section")), else_=LessonProgress.furthest_section
            ),
            furthest_index=case(
                (further, bindparam("q_index")), else_=LessonProgress.furthest_index
            ),
            percent_read=case(
                (LessonProgress.percent_read < percent, percent),
                else_=LessonProgress.percent_read,
            ),
        )
        .returning(*PROGRESS_RETURNED)
    )


PROGRESS_SHOWN = (  # what pages and the API show of a progress row (``ProgressRow``)
    LessonProgress.started_at,
    LessonProgress.last_seen_at,
    LessonProgress.furthest_section,
    LessonProgress.percent_read,
    LessonProgress.completed_at,
    LessonProgress.marked_complete,
)
PROGRESS_RETURNED = (LessonProgress.id, *PROGRESS_SHOWN)


@cache
def _completion(kind: str) -> Prepared:
    """Completes the learner's row for the lesson if it counts, was read to the end and is
    not complete yet (the caller found every question met)."""
    return Prepared(
        update(LessonProgress.__table__)
        .where(
            *_counting_row(kind),
            LessonProgress.completed_at.is_(None),
            LessonProgress.percent_read >= END_PERCENT,
        )
        .values(completed_at=bindparam("q_now"))
        .returning(*PROGRESS_RETURNED)
    )


def _complete(learner: Learner, lesson: Lesson) -> ProgressRow | None:
    """The row completed now, or None when nothing was completed (one UPDATE)."""
    params = {
        **learner.params("q_"),
        "q_course": lesson.course_slug,
        "q_lesson": lesson.slug,
        "q_now": now(),
    }
    done = _completion(learner.kind).here(params, write=True)
    if not done:
        return None
    forget_cached_rows()
    return done[0]  # type: ignore[no-any-return]


def mark_complete(learner: Learner, lesson: Lesson) -> LessonProgress:
    """ "Mark as complete": the learner says they are done with the lesson."""
    row = _current_row(learner, lesson)
    moment = now()
    db.session.execute(
        update(LessonProgress)
        .where(LessonProgress.id == row.id, LessonProgress.completed_at.is_(None))
        .values(completed_at=moment, marked_complete=True, last_seen_at=moment)
    )
    db.session.refresh(row)
    return row


def after_answer(learner: Learner, lesson: Lesson) -> None:
    """A correct answer may be the last thing the lesson was waiting for: once every
    question is met, the learner's row is completed if it was read to the end."""
    if not unmet_questions(learner, lesson):
        _complete(learner, lesson)


def complete_if_earned(learner: Learner, lesson: Lesson, row: ProgressRow) -> ProgressRow:
    """The row (as a reading report's UPDATE returned it), completed now if the learner
    earned it: read to the end, every question met."""
    if row.completed_at is not None or row.percent_read < END_PERCENT:
        return row
    if unmet_questions(learner, lesson):
        return row
    return _complete(learner, lesson) or row


def unmet_questions(learner: Learner | None, lesson: Lesson) -> list[str]:
    """Ids of the lesson's questions not yet answered correctly before a reveal."""
    met = lesson_activity(learner, lesson.course_slug, lesson.slug).met
    return [question.id for question in lesson.questions if question.id not in met]


def _current_row(learner: Learner, lesson: Lesson, touch: bool = False) -> LessonProgress:
    """The learner's row for ``lesson``, created (or started afresh after a reset) as needed.

    With ``touch``, its ``last_seen_at`` moves to now (the callers that update the row
    anyway set it themselves). Usually one query: the row, and whether it counts.
    """
    moment = now()
    params = {**learner.params(), "course": lesson.course_slug, "lesson": lesson.slug}
    statement = _row_and_standing(learner.kind)
    found = db.session.execute(statement, params).first()
    if found is None:
        insert_ignoring_duplicates(
            LessonProgress,
            **learner.columns(),
            course=lesson.course_slug,
            lesson=lesson.slug,
            started_at=moment,
            last_seen_at=moment,
        )  # a request adding the same row at once is no error: both read it back
        found = db.session.execute(statement, params).first()
        assert found is not None  # noqa: S101 - inserted above unless it existed
    row, counts = found
    if not counts:  # started before the learner's last reset: start it afresh
        reset = reset_time(learner, lesson.course_slug)
        db.session.execute(
            update(LessonProgress)
            .where(LessonProgress.id == row.id, LessonProgress.started_at < reset)
            .values(
                started_at=moment,
                last_seen_at=moment,
                furthest_section=None,
                furthest_index=-1,
                percent_read=0,
                completed_at=None,
                marked_complete=False,
            ),
            execution_options={"synchronize_session": False},
        )
        db.session.refresh(row)
    elif touch:
        db.session.execute(
            update(LessonProgress).where(LessonProgress.id == row.id).values(last_seen_at=moment),
            execution_options={"synchronize_session": False},
        )
        set_committed_value(row, "last_seen_at", moment)
    cached = g.get("course_progress_rows", {}).get((learner, lesson.course_slug))
    if cached is not None:
        cached[lesson.slug] = row
    return row


@cache
def _row_and_standing(kind: str) -> Select[tuple[LessonProgress, bool]]:
    """One learner's row for a lesson, and whether it was started since their last reset."""
    return (
        select(LessonProgress, since_reset(kind, LessonProgress.started_at))
        .where(
            learner_is(LessonProgress, kind),
            LessonProgress.course == bindparam("course"),
            LessonProgress.lesson == bindparam("lesson"),
        )
        .execution_options(populate_existing=True)
    )
