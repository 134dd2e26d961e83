"""Moving a guest's work to an account, exporting an account's data, deleting it all.

Every table listed by ``activity_models()`` takes part: its rows are claimed, exported
and deleted with no change here. Lesson progress (one row per learner and lesson) is
merged first, so that no lesson ends up with two rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, inspect, select, update

from app.extensions import db
from app.models import (
    CourseReset,
    HintReveal,
    LessonProgress,
    QuizAttempt,
    User,
    activity_models,
)
from app.models.learner import aware
from app.progress.resets import reset_time
from app.progress.services import forget_cached_rows, is_current
from app.quizzes.learner import Learner
from app.quizzes.services import forget_activity

EXPORT_FORMAT = "learn-flask-account-export/1"
PRIVATE_COLUMNS = {"password_hash", "session_token", "failed_logins", "failed_logins_since"}
LEARNER_COLUMNS = {"user_id", "guest_id"}
PROGRESS_STATE = (
    "started_at",
    "last_seen_at",
    "furthest_section",
    "furthest_index",
    "percent_read",
    "completed_at",
    "marked_complete",
)


def claim_guest_work(guest_id: str, user_id: int) -> int:
    """Give every row of ``guest_id`` to the account; returns how many rows moved.

    Attempts are renumbered per question in the order they happened, and a hint the
    learner opened both as a guest and signed in is kept once (the earlier row).
    The caller commits.
    """
    questions = {
        tuple(row)
        for row in db.session.execute(
            select(QuizAttempt.course, QuizAttempt.lesson, QuizAttempt.question_id)
            .where(QuizAttempt.user_id.is_(None), QuizAttempt.guest_id == guest_id)
            .distinct()
        )
    }
    _merge_progress(guest_id, user_id)
    moved = 0
    for model in activity_models():
        result = db.session.execute(
            update(model)
            .where(model.user_id.is_(None), model.guest_id == guest_id)
            .values(user_id=user_id, guest_id=None)
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount or 0
    if moved:
        _renumber_attempts(user_id, questions)
        _drop_repeated_hints(user_id)
    forget_activity()  # the request's copies describe the rows as they were
    forget_cached_rows()
    return moved


def _merge_progress(guest_id: str, user_id: int) -> None:
    """Fold the guest's lesson progress into the account's before the rows move.

    Where both have a row for a lesson, the account keeps one with the more advanced
    state of each: the earlier start, the later visit, the furthest section, the higher
    percentage, and completion if either completed it. A guest's row from before the
    guest (or the account) started the course over is dropped. The guest's reset of a
    course moves over only when the account has no work of its own in that course.
    """
    guest, account = Learner(guest_id=guest_id), Learner(user_id=user_id)
    guest_resets = {
        row.course: row
        for row in db.session.scalars(select(CourseReset).where(guest.rows_of(CourseReset)))
    }
    for row in db.session.scalars(select(LessonProgress).where(guest.rows_of(LessonProgress))):
        reset = guest_resets.get(row.course)
        if not is_current(row, aware(reset.reset_at) if reset else None):
            db.session.delete(row)
            continue
        mine = db.session.scalar(
            select(LessonProgress).where(
                account.rows_of(LessonProgress),
                LessonProgress.course == row.course,
                LessonProgress.lesson == row.lesson,
            )
        )
        if mine is None:
            continue  # moves over with the other rows
        account_reset = reset_time(account, row.course)
        if not is_current(mine, account_reset):
            _copy_state(row, mine)
        elif is_current(row, account_reset):
            _fold_state(row, mine)
        # else: the guest's row predates the account's reset and counts no more.
        db.session.delete(row)
    for course, reset in guest_resets.items():
        if _has_work(account, course):
            db.session.delete(reset)
    db.session.flush()


def _copy_state(source: LessonProgress, target: LessonProgress) -> None:
    for name in PROGRESS_STATE:
        setattr(target, name, getattr(source, name))


def _fold_state(source: LessonProgress, target: LessonProgress) -> None:
    target.started_at = min(aware(source.started_at), aware(target.started_at))
    target.last_seen_at = max(aware(source.last_seen_at), aware(target.last_seen_at))
    if source.furthest_index > target.furthest_index:
        target.furthest_index, target.furthest_section = (
            source.furthest_index,
            source.furthest_section,
        )
    target.percent_read = max(source.percent_read, target.percent_read)
    finished = [row for row in (source, target) if row.completed_at is not None]
    if finished:
        first = min(finished, key=lambda row: aware(row.completed_at))  # type: ignore[arg-type]
        target.completed_at, target.marked_complete = first.completed_at, first.marked_complete


def _has_work(learner: Learner, course: str) -> bool:
    return any(
        db.session.scalar(
            select(model.id).where(learner.rows_of(model), model.course == course).limit(1)
        )
        is not None
        for model in activity_models()
    )


def _renumber_attempts(user_id: int, questions: set[tuple[str, str, str]]) -> None:
    """Number the attempts of each claimed question 1, 2, ... in the order they happened."""
    if not questions:
        return
    by_question: dict[tuple[str, str, str], list[QuizAttempt]] = defaultdict(list)
    attempts = db.session.scalars(
        select(QuizAttempt)
        .where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.question_id.in_({question for _, _, question in questions}),
        )
        .order_by(QuizAttempt.created_at, QuizAttempt.id)
    )
    for attempt in attempts:
        key = (attempt.course, attempt.lesson, attempt.question_id)
        if key in questions:
            by_question[key].append(attempt)
    for rows in by_question.values():
        for number, attempt in enumerate(rows, start=1):
            attempt.attempt_number = number
    db.session.flush()


def _drop_repeated_hints(user_id: int) -> None:
    seen: set[tuple[str, str, str, int]] = set()
    repeated: list[int] = []
    hints = db.session.scalars(
        select(HintReveal).where(HintReveal.user_id == user_id).order_by(HintReveal.id)
    )
    for hint in hints:
        key = (hint.course, hint.lesson, hint.question_id, hint.hint_number)
        if key in seen:
            repeated.append(hint.id)
        seen.add(key)
    if repeated:
        db.session.execute(delete(HintReveal).where(HintReveal.id.in_(repeated)))


def delete_account(user: User) -> None:
    """Remove the account and every row that belongs to it. The caller commits."""
    for model in activity_models():
        db.session.execute(delete(model).where(model.user_id == user.id))
    db.session.delete(user)
    db.session.flush()


def export_account(user: User) -> dict[str, Any]:
    """Everything stored about the account, as JSON-ready data (no secrets)."""
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": _json_value(datetime.now(UTC)),
        "account": _row_dict(user, skip=PRIVATE_COLUMNS),
    }
    for model in activity_models():
        rows = db.session.scalars(
            select(model).where(model.user_id == user.id).order_by(model.created_at, model.id)
        )
        data[model.__tablename__] = [_row_dict(row, skip=LEARNER_COLUMNS) for row in rows]
    return data


def _row_dict(row: Any, skip: set[str]) -> dict[str, Any]:
    return {
        column.key: _json_value(getattr(row, column.key))
        for column in inspect(type(row)).column_attrs
        if column.key not in skip
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat()
    return value
