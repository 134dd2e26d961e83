"""Question views for a whole lesson page: one set of queries, then one view per question."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import current_app, url_for

from app.content.model import Course, Lesson
from app.quiz_types import registry_for
from app.quizzes.learner import Learner, current_learner
from app.quizzes.present import CheckSummary, QuestionView, check_summary, question_view
from app.quizzes.services import QuestionState, ShownAttempt, question_states
from app.quizzes.tokens import page_revision


@dataclass(frozen=True)
class LessonQuizzes:
    views: dict[str, QuestionView]
    summaries: dict[int, CheckSummary]  # by knowledge-check index


def lesson_quizzes(
    course: Course,
    lesson: Lesson,
    notices: Mapping[str, str] | None = None,
    submitted: Mapping[str, Any] | None = None,
    shown_attempts: Mapping[str, ShownAttempt] | None = None,
    only: str | None = None,
    learner: Learner | None = None,
) -> LessonQuizzes:
    """Views and summaries for every question of ``lesson`` for the current learner.

    ``shown_attempts`` shows a given attempt as a question's result instead of its latest
    (a replayed submission answers with its own result). With ``only``, the view of that
    question alone (the summaries are always complete). ``learner``: the current one, when
    the caller has it already.
    """
    if not lesson.questions:
        return LessonQuizzes({}, {})
    registry = registry_for(current_app)
    states = question_states(learner or current_learner(), course.slug, lesson.slug)
    for question_id, attempt in (shown_attempts or {}).items():
        states[question_id] = replace(states.get(question_id, QuestionState()), latest=attempt)
    notices = notices or {}
    submitted = submitted or {}
    views: dict[str, QuestionView] = {}
    summaries: dict[int, CheckSummary] = {}
    lesson_url = url_for("lessons.lesson_page", course_slug=course.slug, lesson_slug=lesson.slug)
    for check in lesson.checks:
        questions = check.questions
        for number, spec in enumerate(questions, start=1):
            if only is not None and spec.id != only:
                continue
            views[spec.id] = question_view(
                spec,
                registry[spec.type],
                states.get(spec.id),
                number,
                len(questions),
                url=f"{lesson_url}quiz/{spec.id}/",
                revision=page_revision(spec),
                notice=notices.get(spec.id, ""),
                submitted=submitted.get(spec.id),
            )
        summaries[check.index] = check_summary(check, states)
    return LessonQuizzes(views, summaries)
