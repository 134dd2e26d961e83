"""Write and read what learners did: graded attempts, hint reveals and answer reveals.

Functions here flush and never commit; the view commits once per request. Every write
is a new row: attempts and reveals are never updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from flask import g
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import HintReveal, QuizAttempt, QuizReveal
from app.models.learner import aware, now
from app.prepared import Prepared
from app.progress.resets import since_reset
from app.quiz_types import GradeResult, QuestionType, QuizSpec
from app.quizzes.learner import Learner, learner_is


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


class ShownAttempt(Protocol):
    """A stored attempt as far as pages need it (a ``QuizAttempt`` or a row of its columns)."""

    id: int
    revision: str
    answer: Any
    correct: bool
    attempt_number: int
    created_at: datetime


@dataclass(frozen=True)
class QuestionState:
    """One learner's history with one question, as the page and the JSON need it."""

    answered: bool = False  # since the learner last started the course over
    latest: ShownAttempt | None = None
    answered_wrong: bool = False
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
    attempt: StoredAttempt
    result: GradeResult
    replayed: bool = False  # the same submission_id was stored before


@dataclass(frozen=True)
class StoredAttempt:
    """A stored attempt's columns as read in the request (a ``ShownAttempt``).

    Unlike the ORM row, it can still be read after the commit without a query.
    """

    id: int
    submission_id: str
    revision: str
    answer: Any
    correct: bool
    attempt_number: int
    created_at: datetime

    @classmethod
    def of(cls, row: QuizAttempt) -> StoredAttempt:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


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

    One prebuilt statement stores the attempt unless its submission id is taken, numbers
    it, notes whether the answer was shown before, and gives back what the reply needs.
    """
    if revision != spec.revision:
        previous = _attempt_by_submission(submission_id)
        if previous is not None:  # a resent form from before the question changed
            return _replay(learner, where, spec, kind, previous)
        raise StaleRevision
    result = kind.grade(spec, answer)
    dialect = db.engine.dialect.name
    params = {
        **learner.params("q_"),
        "q_course": where.course,
        "q_lesson": where.lesson,
        "q_question_id": where.question_id,
        "user_id": learner.user_id,
        "guest_id": learner.guest_id,
        **where.columns(),
        "revision": spec.revision,
        "submission_id": submission_id,
        "answer": answer,
        "correct": result.correct,
        "score": result.score,
        "misconceptions": list(result.misconceptions),
        "created_at": now(),
    }
    inserted = _insert_attempt(learner.kind, dialect).here(params, write=True)
    stored = inserted[0] if inserted else None
    if stored is None:
        # The submission id is stored already (a resent answer, or a concurrent request
        # that stored it first): answer as the first time. Nothing was written.
        previous = _attempt_by_submission(submission_id)
        if previous is None:  # held by an attempt deleted since (its account was deleted)
            raise SubmissionTaken
        return _replay(learner, where, spec, kind, previous)
    forget_activity()
    attempt = StoredAttempt(
        id=stored.id,
        submission_id=submission_id,
        revision=spec.revision,
        answer=answer,
        correct=result.correct,
        attempt_number=stored.attempt_number,
        created_at=params["created_at"],
    )
    return Recorded(attempt, result)


@cache
def _insert_attempt(kind: str, dialect: str) -> Prepared:
    """INSERT … ON CONFLICT (submission_id) DO NOTHING RETURNING id, attempt_number.

    The attempt's number is computed by the INSERT itself, so two quick submissions never
    share one; ``after_reveal``: the learner pressed "Show answer" on the question since
    their last reset. The subqueries' parameters are prefixed ``q_``.
    """
    mine = (
        QuizAttempt.course == bindparam("q_course"),
        QuizAttempt.lesson == bindparam("q_lesson"),
        QuizAttempt.question_id == bindparam("q_question_id"),
    )
    # The learner's attempts at a question are numbered 1, 2, 3… (a claim renumbers them):
    # the next number follows the newest attempt's, found without counting them all.
    newest = (
        select(QuizAttempt.attempt_number)
        .where(learner_is(QuizAttempt, kind, "q_"), *mine)
        .order_by(QuizAttempt.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    revealed = exists().where(
        learner_is(QuizReveal, kind, "q_"),
        QuizReveal.course == bindparam("q_course"),
        QuizReveal.lesson == bindparam("q_lesson"),
        QuizReveal.question_id == bindparam("q_question_id"),
        since_reset(kind, QuizReveal.created_at, "q_"),
    )
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return Prepared(
        insert(QuizAttempt.__table__)
        .values(
            **{
                name: bindparam(name, type_=QuizAttempt.__table__.c[name].type)
                for name in (
                    "user_id",
                    "guest_id",
                    "course",
                    "lesson",
                    "question_id",
                    "revision",
                    "submission_id",
                    "answer",
                    "correct",
                    "score",
                    "misconceptions",
                    "created_at",
                )
            },
            attempt_number=func.coalesce(newest, 0) + 1,
            after_reveal=revealed,
        )
        .on_conflict_do_nothing(index_elements=["submission_id"])
        .returning(QuizAttempt.id, QuizAttempt.attempt_number)
    )


def _replay(
    learner: Learner, where: Where, spec: QuizSpec, kind: QuestionType, previous: QuizAttempt
) -> Recorded:
    if not learner.owns(previous) or previous.question_id != where.question_id:
        raise SubmissionTaken
    if previous.revision == spec.revision:
        result = kind.grade(spec, previous.answer)  # grading is deterministic
    else:
        result = GradeResult(previous.correct, previous.score)
    return Recorded(StoredAttempt.of(previous), result, replayed=True)


_BY_SUBMISSION = select(QuizAttempt).where(QuizAttempt.submission_id == bindparam("submission_id"))


def _attempt_by_submission(submission_id: str) -> QuizAttempt | None:
    return db.session.scalar(_BY_SUBMISSION, {"submission_id": submission_id})


def reveal_answer(learner: Learner, where: Where, spec: QuizSpec, revision: str) -> bool:
    """Record "Show answer"; only after a wrong attempt. False when it is already shown."""
    if revision != spec.revision:
        raise StaleRevision
    state = question_state(learner, where)
    if not state.answered_wrong:
        raise RevealTooEarly
    if state.revealed or (state.latest is not None and state.latest.correct):
        return False
    db.session.add(QuizReveal(**learner.columns(), **where.columns(), revision=spec.revision))
    db.session.flush()
    forget_activity()
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
    forget_activity()
    return True


def question_state(learner: Learner | None, where: Where) -> QuestionState:
    """One question's state for ``learner`` (empty when nothing was done yet)."""
    states = lesson_activity(learner, where.course, where.lesson).states
    return states.get(where.question_id, QuestionState())


def question_states(learner: Learner | None, course: str, lesson: str) -> dict[str, QuestionState]:
    """Each question's state for ``learner`` in one lesson (a copy the caller may change)."""
    return dict(lesson_activity(learner, course, lesson).states)


@dataclass(frozen=True)
class LessonActivity:
    """What one learner did on one lesson's questions since they last started the course over.

    After a reset the questions read as unanswered again (the rows themselves are kept).
    """

    states: dict[str, QuestionState]
    met: frozenset[str]  # answered correctly at least once before the answer was shown


def lesson_activity(learner: Learner | None, course: str, lesson: str) -> LessonActivity:
    """Read in two queries, once per request; every write below forgets the request's copy."""
    if learner is None:
        return LessonActivity({}, frozenset())
    cache = g.setdefault("lesson_activity", {})
    key = (learner, course, lesson)
    if key not in cache:
        cache[key] = _load_activity(learner, course, lesson)
    return cache[key]


def forget_activity() -> None:
    g.pop("lesson_activity", None)


def _load_activity(learner: Learner, course: str, lesson: str) -> LessonActivity:
    from app.lessons.store import catalog  # the lesson's questions; the store reads no rows

    found = catalog().course(course)
    shown = found.lesson(lesson) if found is not None else None
    ids = [question.id for question in shown.questions] if shown is not None else []
    params = {**learner.params(), "course": course, "lesson": lesson}
    attempts = {}
    if ids:
        asked = {f"q{n}": question_id for n, question_id in enumerate(ids)}
        rows = _attempts(learner.kind, len(ids)).here({**params, **asked})
        attempts = {row.question_id: row for row in rows}
    reveals: dict[str, datetime] = {}
    hints: dict[str, int] = {}
    for question_id, revealed_at, shown_hints in _reveals(learner.kind).here(params):
        if revealed_at is not None:
            reveals[question_id] = revealed_at
        else:
            hints[question_id] = int(shown_hints)
    states: dict[str, QuestionState] = {}
    for question_id in set(attempts) | set(reveals) | set(hints):
        row = attempts.get(question_id)
        states[question_id] = QuestionState(
            answered=row is not None,
            latest=row,
            answered_wrong=bool(row.answered_wrong) if row else False,
            first_try_correct=bool(row.first_correct) if row else None,
            revealed_at=reveals.get(question_id),
            hints_shown=hints.get(question_id, 0),
        )
    return LessonActivity(states, frozenset(q for q, row in attempts.items() if row.met))


def _scope(model: Any, kind: str) -> ColumnElement[bool]:
    """The learner's rows of ``model`` in one lesson since they last started the course over."""
    return and_(
        learner_is(model, kind),
        model.course == bindparam("course"),
        model.lesson == bindparam("lesson"),
        since_reset(kind, model.created_at),
    )


@cache
def _attempts(kind: str, questions: int) -> Prepared:
    """Per question answered since the reset: the newest attempt's columns (``ShownAttempt``),
    whether one was wrong, whether the first was right, and whether one was right before
    the answer was shown.

    Each figure is one index lookup per question (``q0``, ``q1``… are the lesson's question
    ids), so reading them takes as long after a thousand attempts as after one.
    """
    asked = union_all(
        *(select(cast(bindparam(f"q{n}"), String).label("id")) for n in range(questions))
    ).subquery("asked")

    def mine(attempt: Any) -> tuple[ColumnElement[bool], ...]:
        return (
            learner_is(attempt, kind),
            attempt.course == bindparam("course"),
            attempt.lesson == bindparam("lesson"),
            attempt.question_id == asked.c.id,
        )

    newest, first, wrong, met = (aliased(QuizAttempt) for _ in range(4))
    latest = aliased(QuizAttempt, name="latest")
    newest_id = select(func.max(newest.id)).where(*mine(newest)).scalar_subquery()
    return Prepared(
        select(
            asked.c.id.label("question_id"),
            latest.id,
            latest.revision,
            latest.answer,
            latest.correct,
            latest.attempt_number,
            latest.created_at,
            exists()
            .where(*mine(wrong), wrong.correct.is_(False), since_reset(kind, wrong.created_at))
            .label("answered_wrong"),
            select(first.correct)
            .where(*mine(first), since_reset(kind, first.created_at))
            .order_by(first.id)
            .limit(1)
            .scalar_subquery()
            .label("first_correct"),
            exists()
            .where(
                *mine(met),
                met.correct.is_(True),
                met.after_reveal.is_(False),
                since_reset(kind, met.created_at),
            )
            .label("met"),
        )
        .select_from(asked)
        .join(latest, latest.id == newest_id)
        .where(since_reset(kind, latest.created_at))
    )


@cache
def _reveals(kind: str) -> Prepared:
    """Per question: the latest "Show answer" (hints 0), or how many hints were shown."""
    return Prepared(
        union_all(
            select(QuizReveal.question_id, func.max(QuizReveal.created_at), literal(0))
            .where(_scope(QuizReveal, kind))
            .group_by(QuizReveal.question_id),
            select(
                HintReveal.question_id, null(), func.count(func.distinct(HintReveal.hint_number))
            )
            .where(_scope(HintReveal, kind))
            .group_by(HintReveal.question_id),
        )
    )
