"""Write and read what learners did: graded attempts, hint reveals and answer reveals.

Functions here flush and never commit; the view commits once per request. Every write
is a new row: attempts and reveals are never updated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import HintReveal, QuizAttempt, QuizReveal
from app.models.learner import aware
from app.progress.resets import reset_time
from app.quiz_types import GradeResult, QuestionType, QuizSpec
from app.quizzes.learner import Learner


class QuizConflict(Exception):
    """The request cannot be applied to the question as it is now (HTTP 409)."""

    reason = ""
    message = ""

    def __init__(self) -> None:
        super().__init__(self.message)


class StaleRevision(QuizConflict):
    reason = "stale-revision"
    message = (
        "This question has changed since the page was loaded. "
        "Your answer was not graded: reload the page and answer the current version."
    )


class SubmissionTaken(QuizConflict):
    reason = "submission-taken"
    message = (
        "This submission id already belongs to another answer. Reload the page and answer again."
    )


class RevealTooEarly(QuizConflict):
    reason = "answer-first"
    message = "Try the question at least once before showing its answer."


class HintOutOfOrder(ValueError):
    """Hints are shown one at a time, in order (HTTP 400)."""


@dataclass(frozen=True)
class Where:
    """A question in a lesson of a course."""

    course: str
    lesson: str
    question_id: str

    def columns(self) -> dict[str, str]:
        return {"course": self.course, "lesson": self.lesson, "question_id": self.question_id}


@dataclass(frozen=True)
class QuestionState:
    """One learner's history with one question, as the page and the JSON need it."""

    attempts: int = 0
    latest: QuizAttempt | None = None
    wrong_attempts: int = 0
    first_try_correct: bool | None = None  # None until answered
    revealed_at: datetime | None = None  # the latest "Show answer"
    hints_shown: int = 0

    @property
    def revealed(self) -> bool:
        """The answer is on show: revealed after the latest attempt (a wrong one)."""
        if self.revealed_at is None:
            return False
        return self.latest is None or aware(self.revealed_at) >= aware(self.latest.created_at)


@dataclass(frozen=True)
class Recorded:
    attempt: QuizAttempt
    result: GradeResult
    replayed: bool = False  # the same submission_id was stored before


def record_attempt(
    learner: Learner,
    where: Where,
    spec: QuizSpec,
    kind: QuestionType,
    submission_id: str,
    revision: str,
    answer: Any,
) -> Recorded:
    """Grade ``answer`` and store it once per ``submission_id``.

    Raises ``QuizConflict`` (stale revision, another learner's submission id) and
    ``InvalidAnswer`` (nothing stored in either case).
    """
    previous = _attempt_by_submission(submission_id)
    if previous is not None:
        return _replay(learner, where, spec, kind, previous)
    if revision != spec.revision:
        raise StaleRevision
    result = kind.grade(spec, answer)
    attempt = QuizAttempt(
        **learner.columns(),
        **where.columns(),
        revision=spec.revision,
        submission_id=submission_id,
        answer=answer,
        correct=result.correct,
        score=result.score,
        misconceptions=list(result.misconceptions),
        # Computed by the INSERT itself, so two quick submissions never share a number.
        attempt_number=_count(QuizAttempt, learner, where).scalar_subquery() + 1,
        # Shown since the learner last started the course over (a reset hides answers again).
        after_reveal=bool(
            db.session.scalar(_count(QuizReveal, learner, where, reset_time(learner, where.course)))
        ),
    )
    db.session.add(attempt)
    try:
        db.session.flush()
    except IntegrityError:
        # A concurrent request stored the same submission_id first: answer as it did.
        # Nothing else is written before an attempt, so rolling back loses nothing.
        db.session.rollback()
        previous = _attempt_by_submission(submission_id)
        if previous is None:
            raise
        return _replay(learner, where, spec, kind, previous)
    db.session.refresh(attempt, ["attempt_number"])
    return Recorded(attempt, result)


def _replay(
    learner: Learner, where: Where, spec: QuizSpec, kind: QuestionType, previous: QuizAttempt
) -> Recorded:
    if not learner.owns(previous) or previous.question_id != where.question_id:
        raise SubmissionTaken
    if previous.revision == spec.revision:
        result = kind.grade(spec, previous.answer)  # grading is deterministic
    else:
        result = GradeResult(previous.correct, previous.score)
    return Recorded(previous, result, replayed=True)


def _attempt_by_submission(submission_id: str) -> QuizAttempt | None:
    return db.session.scalar(select(QuizAttempt).where(QuizAttempt.submission_id == submission_id))


def _count(model: Any, learner: Learner, where: Where, since: datetime | None = None) -> Any:
    """SELECT count of the learner's rows of ``model`` for one question (from ``since``)."""
    query = (
        select(func.count(model.id))
        .where(learner.rows_of(model))
        .where(
            model.course == where.course,
            model.lesson == where.lesson,
            model.question_id == where.question_id,
        )
    )
    return query.where(model.created_at >= since) if since is not None else query


def reveal_answer(learner: Learner, where: Where, spec: QuizSpec, revision: str) -> bool:
    """Record "Show answer"; only after a wrong attempt. False when it is already shown."""
    if revision != spec.revision:
        raise StaleRevision
    state = question_state(learner, where)
    if state.wrong_attempts == 0:
        raise RevealTooEarly
    if state.revealed or (state.latest is not None and state.latest.correct):
        return False
    db.session.add(QuizReveal(**learner.columns(), **where.columns(), revision=spec.revision))
    db.session.flush()
    return True


def reveal_hint(learner: Learner, where: Where, spec: QuizSpec, revision: str, number: int) -> bool:
    """Record hint ``number``; hints come one at a time. False when it was shown already."""
    if revision != spec.revision:
        raise StaleRevision
    state = question_state(learner, where)
    if number <= state.hints_shown:
        return False
    if number != state.hints_shown + 1 or number > len(spec.hints_html):
        raise HintOutOfOrder(f"the next hint is number {state.hints_shown + 1}")
    db.session.add(
        HintReveal(
            **learner.columns(), **where.columns(), revision=spec.revision, hint_number=number
        )
    )
    db.session.flush()
    return True


def question_state(learner: Learner | None, where: Where) -> QuestionState:
    """One question's state for ``learner`` (empty when nothing was done yet)."""
    states = question_states(learner, where.course, where.lesson, [where.question_id])
    return states.get(where.question_id, QuestionState())


def question_states(
    learner: Learner | None, course: str, lesson: str, question_ids: Iterable[str] | None = None
) -> dict[str, QuestionState]:
    """Each question's state for ``learner`` in one lesson, in four small queries.

    Only what happened since the learner last started the course over counts: after a
    reset the questions read as unanswered again (the attempts themselves are kept).
    """
    if learner is None:
        return {}
    only = list(question_ids) if question_ids is not None else None
    since = reset_time(learner, course)

    def scoped(model: Any, *columns: Any) -> Any:
        query = (
            select(model.question_id, *columns)
            .where(learner.rows_of(model), model.course == course, model.lesson == lesson)
            .group_by(model.question_id)
        )
        if since is not None:
            query = query.where(model.created_at >= since)
        return query.where(model.question_id.in_(only)) if only is not None else query

    wrong = func.sum(case((QuizAttempt.correct, 0), else_=1))
    attempts = {
        row[0]: row
        for row in db.session.execute(
            scoped(
                QuizAttempt,
                func.count(QuizAttempt.id),
                func.max(QuizAttempt.id),
                wrong,
                func.min(QuizAttempt.id),
            )
        )
    }
    wanted = {row[2] for row in attempts.values()} | {row[4] for row in attempts.values()}
    loaded = {
        row.id: row
        for row in db.session.scalars(select(QuizAttempt).where(QuizAttempt.id.in_(wanted)))
    }
    reveals = dict(db.session.execute(scoped(QuizReveal, func.max(QuizReveal.created_at))).all())
    hints = dict(
        db.session.execute(
            scoped(HintReveal, func.count(func.distinct(HintReveal.hint_number)))
        ).all()
    )
    states: dict[str, QuestionState] = {}
    for question_id in set(attempts) | set(reveals) | set(hints):
        row = attempts.get(question_id)
        states[question_id] = QuestionState(
            attempts=row[1] if row else 0,
            latest=loaded.get(row[2]) if row else None,
            wrong_attempts=int(row[3] or 0) if row else 0,
            first_try_correct=loaded[row[4]].correct if row else None,
            revealed_at=reveals.get(question_id),
            hints_shown=hints.get(question_id, 0),
        )
    return states
