"""How learners do in a course, from SQL aggregates over progress rows and attempts.

Guests count as learners. Lesson figures count the progress that learners see (rows
started since their last reset of the course); question figures count every attempt
ever made, resets included, since attempts are kept.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from markupsafe import Markup
from sqlalchemy import String, and_, case, cast, func, or_, select

from app.content.loader import display_path
from app.content.model import Course, Lesson
from app.extensions import db
from app.models import CourseReset, LessonProgress, QuizAttempt
from app.models.learner import now
from app.quiz_types import QuizSpec

CODE_BLOCK_RE = re.compile(r'<(figure|div) class="code-block".*?</\1>', re.DOTALL)


@dataclass(frozen=True)
class LessonStats:
    lesson: Lesson
    started: int
    completed: int


@dataclass(frozen=True)
class WrongAnswer:
    text: str  # the option or answer, as the learner saw or typed it
    count: int
    misconception: str


@dataclass(frozen=True)
class QuestionStats:
    lesson: Lesson
    spec: QuizSpec
    source: str  # path:line of the question's opening fence
    attempts: int
    learners: int
    first_try_percent: int | None  # of learners' first attempts, the share correct
    wrong: WrongAnswer | None  # the most-chosen wrong answer

    @property
    def prompt(self) -> str:
        """The prompt as one line of text, code blocks shortened to "[code]"."""
        html = CODE_BLOCK_RE.sub(" [code] ", self.spec.prompt_html)
        return Markup(html).striptags()  # noqa: S704 - our own rendered HTML


@dataclass(frozen=True)
class CourseStats:
    course: Course
    learners: int  # learners with any progress in the course
    lessons: tuple[LessonStats, ...]
    questions: tuple[QuestionStats, ...]
    computed_at: datetime


def learner_key(model: Any) -> Any:
    """One value per learner, account or guest, in ``model``'s rows (for COUNT DISTINCT)."""
    return func.coalesce("u:" + cast(model.user_id, String), "g:" + model.guest_id)


def course_stats(course: Course) -> CourseStats:
    """The course's figures, computed at most once per ``INSTRUCTOR_STATS_MAX_AGE`` seconds.

    They aggregate every attempt ever made, which takes a few hundred milliseconds on a
    course with thousands of learners, so each worker keeps its last result. Past their
    max age, kept figures are still shown for ``INSTRUCTOR_STATS_STALE_FOR`` seconds more
    while a background thread computes new ones (HTTP's stale-while-revalidate): no view
    waits for the aggregates except the first, and those after a long quiet spell.
    """
    max_age = current_app.config["INSTRUCTOR_STATS_MAX_AGE"]
    kept = _kept_figures()
    stats = kept.stats.get(course.slug)
    if stats is not None and stats.course is course and max_age > 0:
        age = _age(stats)
        if age < max_age:
            return stats
        if age < max_age + current_app.config["INSTRUCTOR_STATS_STALE_FOR"]:
            kept.refresh(current_app._get_current_object(), course)  # type: ignore[attr-defined]
            return stats
    stats = kept.stats[course.slug] = compute_course_stats(course)
    return stats


def compute_course_stats(course: Course) -> CourseStats:
    return CourseStats(
        course,
        course_learner_counts(course.slug).get(course.slug, 0),
        _lesson_stats(course),
        _question_stats(course),
        now(),
    )


@dataclass
class KeptFigures:
    """One application's last figures per course, and the courses being computed anew."""

    stats: dict[str, CourseStats] = field(default_factory=dict)
    refreshing: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, app: Flask, course: Course) -> None:
        """Compute the course's figures in a thread of their own, unless one already is."""
        with self.lock:
            if course.slug in self.refreshing:
                return
            self.refreshing.add(course.slug)
        threading.Thread(
            target=self._compute,
            args=(app, course),
            name=f"instructor-stats-{course.slug}",
            daemon=True,
        ).start()

    def _compute(self, app: Flask, course: Course) -> None:
        try:
            with app.app_context():
                self.stats[course.slug] = compute_course_stats(course)
        except Exception:
            # The kept figures stay, with their time on the page; the next view tries again.
            app.logger.exception("computing the figures of course %r failed", course.slug)
        finally:
            with self.lock:
                self.refreshing.discard(course.slug)


def _kept_figures() -> KeptFigures:
    kept = current_app.extensions.get("instructor_stats")
    if kept is None:
        kept = current_app.extensions.setdefault("instructor_stats", KeptFigures())
    return kept  # type: ignore[no-any-return]


def _age(stats: CourseStats) -> float:
    return (now() - stats.computed_at).total_seconds()


def course_learner_counts(*courses: str) -> dict[str, int]:
    """Learners with any progress, per course slug (all courses, or only ``courses``)."""
    query = select(
        LessonProgress.course, func.count(func.distinct(learner_key(LessonProgress)))
    ).group_by(LessonProgress.course)
    if courses:
        query = query.where(LessonProgress.course.in_(courses))
    return {course: count for course, count in db.session.execute(query)}


def _current_progress(course: Course) -> Any:
    """Progress rows of ``course`` that count: started after the learner's last reset."""
    same_learner = or_(
        CourseReset.user_id == LessonProgress.user_id,
        CourseReset.guest_id == LessonProgress.guest_id,
    )
    return (
        select(LessonProgress)
        .outerjoin(CourseReset, and_(CourseReset.course == LessonProgress.course, same_learner))
        .where(
            LessonProgress.course == course.slug,
            or_(CourseReset.id.is_(None), LessonProgress.started_at >= CourseReset.reset_at),
        )
        .subquery()
    )


def _lesson_stats(course: Course) -> tuple[LessonStats, ...]:
    current = _current_progress(course)
    rows = db.session.execute(
        select(current.c.lesson, func.count(), func.count(current.c.completed_at)).group_by(
            current.c.lesson
        )
    )
    counts = {lesson: (started, completed) for lesson, started, completed in rows}
    return tuple(LessonStats(lesson, *counts.get(lesson.slug, (0, 0))) for lesson in course.lessons)


def _question_stats(course: Course) -> tuple[QuestionStats, ...]:
    first = QuizAttempt.attempt_number == 1
    totals = {
        (row.lesson, row.question_id): row
        for row in db.session.execute(
            select(
                QuizAttempt.lesson,
                QuizAttempt.question_id,
                func.count().label("attempts"),
                # Each learner's attempts at a question are numbered from 1 (claims renumber
                # them), so the first attempts count the learners, without COUNT DISTINCT.
                func.sum(case((first, 1), else_=0)).label("firsts"),
                func.sum(case((first & QuizAttempt.correct, 1), else_=0)).label("first_correct"),
            )
            .where(QuizAttempt.course == course.slug)
            .group_by(QuizAttempt.lesson, QuizAttempt.question_id)
        )
    }
    wrong = _most_chosen_wrong(course)
    stats: list[QuestionStats] = []
    for lesson in course.lessons:
        path = display_path(Path(course.path) / lesson.file_name)
        for spec in lesson.questions:
            row = totals.get((lesson.slug, spec.id))
            firsts = int(row.firsts or 0) if row else 0
            most = wrong.get((lesson.slug, spec.id))
            stats.append(
                QuestionStats(
                    lesson=lesson,
                    spec=spec,
                    source=f"{path}:{spec.line}",
                    attempts=row.attempts if row else 0,
                    learners=firsts,
                    first_try_percent=(
                        int(row.first_correct or 0) * 100 // firsts if row and firsts else None
                    ),
                    wrong=_describe(spec, *most) if most else None,
                )
            )
    return tuple(stats)


def _most_chosen_wrong(course: Course) -> dict[tuple[str, str], tuple[str, int]]:
    """Per question, the wrong answer given most often (ties: the first in text order)."""
    answer = cast(QuizAttempt.answer, String)
    count = func.count(QuizAttempt.id)
    ranked = (
        select(
            QuizAttempt.lesson,
            QuizAttempt.question_id,
            answer.label("answer"),
            count.label("n"),
            func.row_number()
            .over(
                partition_by=(QuizAttempt.lesson, QuizAttempt.question_id),
                order_by=(count.desc(), answer),
            )
            .label("rank"),
        )
        .where(QuizAttempt.course == course.slug, QuizAttempt.correct.is_(False))
        .group_by(QuizAttempt.lesson, QuizAttempt.question_id, answer)
        .subquery()
    )
    rows = db.session.execute(
        select(ranked.c.lesson, ranked.c.question_id, ranked.c.answer, ranked.c.n).where(
            ranked.c.rank == 1
        )
    )
    return {(lesson, question): (text, n) for lesson, question, text, n in rows}


def _describe(spec: QuizSpec, stored: str, count: int) -> WrongAnswer:
    """The stored answer (JSON text) as people read it, with its misconception tags."""
    try:
        answer = json.loads(stored)
    except ValueError:
        answer = stored
    by_id = {option.id: option for option in spec.options}
    chosen = answer if isinstance(answer, list) else [answer]
    options = [by_id[value] for value in chosen if isinstance(value, str) and value in by_id]
    if options and len(options) == len(chosen):
        separator = " → " if spec.type == "order" else "; "
        text = separator.join(option.text for option in options)
        tags = sorted({option.misconception for option in options if option.misconception})
        return WrongAnswer(text, count, ", ".join(tags))
    return WrongAnswer(", ".join(str(value) for value in chosen), count, "")
