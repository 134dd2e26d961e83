"""What pages and the API show of a learner's progress in a course.

Everything counts from the learner's last reset of the course. Quiz scores are over the
questions the learner answered: "first try" is the share answered correctly on the first
attempt, "best" the share answered correctly at some point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import url_for
from sqlalchemy import case, func, select

from app.content.model import Course, Lesson
from app.extensions import db
from app.models import QuizAttempt
from app.models.learner import aware
from app.progress.resets import reset_time
from app.progress.services import END_PERCENT, ProgressRow, course_rows, unmet_questions
from app.quizzes.learner import Learner

RECENT_ACTIVITY = 6  # entries in "Recent activity"


def iso(moment: datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None


@dataclass(frozen=True)
class LessonStatus:
    lesson: Lesson
    row: ProgressRow | None

    @property
    def started_at(self) -> datetime | None:
        return aware(self.row.started_at) if self.row else None

    @property
    def completed_at(self) -> datetime | None:
        return aware(self.row.completed_at) if self.row and self.row.completed_at else None

    @property
    def last_seen_at(self) -> datetime | None:
        return aware(self.row.last_seen_at) if self.row else None

    @property
    def percent_read(self) -> int:
        return self.row.percent_read if self.row else 0

    @property
    def furthest_section(self) -> str | None:
        return self.row.furthest_section if self.row else None

    @property
    def complete(self) -> bool:
        return self.completed_at is not None

    @property
    def state(self) -> str:
        if self.complete:
            return "complete"
        return "in-progress" if self.row is not None else "not-started"

    @property
    def minutes_left(self) -> int:
        if self.complete:
            return 0
        return self.lesson.outline.minutes_left(self.lesson.minutes, self.furthest_section)

    def to_json(self) -> dict[str, Any]:
        return {
            "lesson": self.lesson.slug,
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at),
            "percent_read": self.percent_read,
            "furthest_section": self.furthest_section,
            "last_seen_at": iso(self.last_seen_at),
        }


@dataclass(frozen=True)
class QuizScore:
    total: int  # questions in the course
    answered: int
    first_try: int  # answered correctly on the first attempt
    best: int  # answered correctly at least once

    @property
    def first_try_percent(self) -> int | None:
        return _percent(self.first_try, self.answered) if self.answered else None

    @property
    def best_percent(self) -> int | None:
        return _percent(self.best, self.answered) if self.answered else None


@dataclass(frozen=True)
class Activity:
    when: datetime
    kind: str  # "started", "completed", "correct", "incorrect"
    lesson: Lesson


@dataclass(frozen=True)
class Resume:
    lesson: Lesson
    section: str | None  # a heading id, or None for the top of the lesson
    started: bool  # False: the learner has not opened this lesson yet

    @property
    def url(self) -> str:
        url = url_for(
            "lessons.lesson_page", course_slug=self.lesson.course_slug, lesson_slug=self.lesson.slug
        )
        return f"{url}#{self.section}" if self.section else url


@dataclass(frozen=True)
class CourseProgress:
    course: Course
    lessons: tuple[LessonStatus, ...]
    score: QuizScore
    recent: tuple[Activity, ...]
    reset_at: datetime | None

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def done(self) -> int:
        return sum(1 for status in self.lessons if status.complete)

    @property
    def percent_complete(self) -> int:
        return _percent(self.done, self.total) if self.total else 0

    @property
    def minutes_left(self) -> int:
        return sum(status.minutes_left for status in self.lessons)

    @property
    def started(self) -> bool:
        return any(status.row is not None for status in self.lessons) or self.score.answered > 0

    @property
    def last_synced_at(self) -> datetime | None:
        seen = [status.last_seen_at for status in self.lessons if status.last_seen_at]
        return max(seen) if seen else None

    @property
    def resume(self) -> Resume | None:
        """Where "Continue where you left off" goes; None once every lesson is complete.

        The lesson seen last, at its furthest section, unless it is complete: then the
        next lesson not complete yet.
        """
        seen = [status for status in self.lessons if status.row is not None]
        if not seen:
            return Resume(self.lessons[0].lesson, None, False) if self.lessons else None
        latest = max(seen, key=lambda status: status.row.last_seen_at)  # type: ignore[union-attr]
        if not latest.complete:
            return Resume(latest.lesson, latest.furthest_section, True)
        order = list(self.lessons)
        after = order[order.index(latest) + 1 :] + order[: order.index(latest)]
        following = next((status for status in after if not status.complete), None)
        if following is None:
            return None
        return Resume(following.lesson, following.furthest_section, following.row is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "course": self.course.slug,
            "percent_complete": self.percent_complete,
            "lessons": [status.to_json() for status in self.lessons],
            "last_synced_at": iso(self.last_synced_at),
        }


def course_progress(learner: Learner | None, course: Course) -> CourseProgress:
    """The learner's progress in ``course`` (empty for a visitor who has done nothing)."""
    rows = course_rows(learner, course.slug)
    lessons = tuple(LessonStatus(lesson, rows.get(lesson.slug)) for lesson in course.lessons)
    reset = reset_time(learner, course.slug)
    score = _quiz_score(learner, course, reset)
    recent = _recent_activity(learner, course, lessons, reset)
    return CourseProgress(course, lessons, score, recent, reset)


def _quiz_score(learner: Learner | None, course: Course, reset: datetime | None) -> QuizScore:
    questions = {(lesson.slug, q.id) for lesson in course.lessons for q in lesson.questions}
    if learner is None:
        return QuizScore(len(questions), 0, 0, 0)
    query = (
        select(
            QuizAttempt.lesson,
            QuizAttempt.question_id,
            func.min(QuizAttempt.id),
            func.max(case((QuizAttempt.correct, 1), else_=0)),
        )
        .where(learner.rows_of(QuizAttempt), QuizAttempt.course == course.slug)
        .group_by(QuizAttempt.lesson, QuizAttempt.question_id)
    )
    if reset is not None:
        query = query.where(QuizAttempt.created_at >= reset)
    answered = [row for row in db.session.execute(query) if (row[0], row[1]) in questions]
    first_ids = [row[2] for row in answered]
    first_correct = db.session.scalar(
        select(func.count(QuizAttempt.id)).where(QuizAttempt.id.in_(first_ids), QuizAttempt.correct)
    )
    best = sum(1 for row in answered if row[3])
    return QuizScore(len(questions), len(answered), int(first_correct or 0), best)


def _recent_activity(
    learner: Learner | None,
    course: Course,
    lessons: tuple[LessonStatus, ...],
    reset: datetime | None,
) -> tuple[Activity, ...]:
    events: list[Activity] = []
    for status in lessons:
        if status.started_at:
            events.append(Activity(status.started_at, "started", status.lesson))
        if status.completed_at:
            events.append(Activity(status.completed_at, "completed", status.lesson))
    if learner is not None:
        query = (
            select(QuizAttempt.created_at, QuizAttempt.correct, QuizAttempt.lesson)
            .where(learner.rows_of(QuizAttempt), QuizAttempt.course == course.slug)
            .order_by(QuizAttempt.id.desc())
            .limit(RECENT_ACTIVITY)
        )
        if reset is not None:
            query = query.where(QuizAttempt.created_at >= reset)
        for created_at, correct, lesson_slug in db.session.execute(query):
            lesson = course.lesson(lesson_slug)
            if lesson is not None:
                kind = "correct" if correct else "incorrect"
                events.append(Activity(aware(created_at), kind, lesson))
    events.sort(key=lambda event: event.when, reverse=True)
    return tuple(events[:RECENT_ACTIVITY])


def _percent(part: int, whole: int) -> int:
    """A whole percentage, rounded down so that 100 means all of it."""
    return part * 100 // whole


@dataclass(frozen=True)
class LessonPageProgress:
    """The lesson page's progress bar, "N min left", completion box and sidebar checks."""

    status: LessonStatus
    completed: frozenset[str]  # slugs of the course's completed lessons
    unmet: tuple[str, ...]  # questions not yet answered correctly before a reveal

    @property
    def questions(self) -> int:
        return len(self.status.lesson.questions)

    @property
    def questions_met(self) -> int:
        return self.questions - len(self.unmet)

    @property
    def reached_end(self) -> bool:
        return self.status.percent_read >= END_PERCENT

    @property
    def resume_title(self) -> str | None:
        """The title of the section to pick up from, when there is one past the top."""
        section = self.status.furthest_section
        if self.status.complete or not section or self.reached_end:
            return None
        return next((entry.title for entry in self.status.lesson.toc if entry.id == section), None)

    def script_data(self) -> dict[str, Any]:
        """What progress.js needs: where to sync, and minutes left from each section."""
        lesson = self.status.lesson
        return {
            "sync_url": url_for(
                "api.sync", course_slug=lesson.course_slug, lesson_slug=lesson.slug
            ),
            "sections": [
                [section, lesson.outline.minutes_left(lesson.minutes, section)]
                for section in lesson.heading_ids
            ],
            "minutes": lesson.minutes,
            "percent_read": self.status.percent_read,
            "furthest_section": self.status.furthest_section,
            "completed": self.status.complete,
            "last_synced_at": iso(self.status.last_seen_at),
        }


def lesson_page_progress(
    learner: Learner | None, course: Course, lesson: Lesson
) -> LessonPageProgress:
    rows = course_rows(learner, course.slug)
    completed = frozenset(slug for slug, row in rows.items() if row.completed_at is not None)
    status = LessonStatus(lesson, rows.get(lesson.slug))
    unmet = tuple(unmet_questions(learner, lesson)) if not status.complete else ()
    return LessonPageProgress(status, completed, unmet)
