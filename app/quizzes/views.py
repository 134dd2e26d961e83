"""The answer, hint and "Show answer" endpoints of every question.

Each answers JSON to a JSON request (or one whose ``Accept`` prefers JSON), and
otherwise redirects (303) to the question in the lesson page, which shows the result.
A refused form re-renders the lesson with the reason inside the question's section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.http import HTTP_STATUS_CODES

from app.content.model import Course, Lesson
from app.errors import wants_json
from app.extensions import db
from app.lessons.store import catalog
from app.lessons.views import render_lesson
from app.prepared import transaction
from app.progress.services import after_answer, unmet_questions
from app.quiz_types import InvalidAnswer, QuizSpec, registry_for
from app.quizzes.forms import (
    Refused,
    answer_from,
    request_data,
    required,
    sentence,
    submission_id_of,
)
from app.quizzes.fragments import choices_html, question_html, reply_html
from app.quizzes.learner import Learner, current_learner
from app.quizzes.page import LessonQuizzes, lesson_quizzes
from app.quizzes.present import QuestionView
from app.quizzes.services import (
    HintOutOfOrder,
    QuizConflict,
    ShownAttempt,
    Where,
    record_attempt,
    reveal_answer,
    reveal_hint,
)
from app.quizzes.tokens import seen_revision

bp = Blueprint(
    "quizzes",
    __name__,
    url_prefix="/courses/<slug:course_slug>/<slug:lesson_slug>/quiz/<slug:question_id>",
)
bp.add_app_template_global(question_html)
bp.add_app_template_global(choices_html)


@bp.errorhandler(Refused)
def _on_refused(refusal: Refused) -> ResponseReturnValue:
    db.session.rollback()
    course, lesson, spec = _question_or_404(**(request.view_args or {}))
    return _refused(course, lesson, spec, refusal)


@contextmanager
def _refusals(submitted: Any = None) -> Iterator[None]:
    """Turn what the learner can fix into a ``Refused``; the handler rolls back."""
    try:
        yield
    except InvalidAnswer as exc:
        raise Refused(400, "invalid-answer", sentence(exc), submitted) from exc
    except HintOutOfOrder as exc:
        raise Refused(400, "invalid-hint", sentence(exc)) from exc
    except QuizConflict as exc:
        raise Refused(409, exc.reason, exc.message, submitted) from exc


@bp.post("/answer")
def answer(course_slug: str, lesson_slug: str, question_id: str) -> ResponseReturnValue:
    course, lesson, spec = _question_or_404(course_slug, lesson_slug, question_id)
    data = request_data()
    submission_id = submission_id_of(data)
    revision = seen_revision(spec, required(data, "revision"))
    with _refusals():
        submitted = answer_from(spec, data)
    learner = _learner()
    # Its writes are prepared statements: their own transaction, not the ORM session's.
    with _refusals(submitted), transaction(db.engine):
        recorded = record_attempt(
            learner,
            Where(course.slug, lesson.slug, spec.id),
            spec,
            registry_for(current_app)[spec.type],
            submission_id,
            revision,
            submitted,
        )
        if recorded.result.correct:
            after_answer(learner, lesson)  # the lesson may be complete now
    result = recorded.result
    return _reply(
        course,
        lesson,
        spec,
        shown_attempt=recorded.attempt,
        submission_id=recorded.attempt.submission_id,
        replayed=recorded.replayed,
        attempt=recorded.attempt.attempt_number,
        correct=result.correct,
        score=result.score,
        detail=result.detail,
        feedback=list(result.feedback_html),
        in_place=result.in_place,
        total=result.total,
        explanation=spec.explain_html if result.correct and spec.explain_html else None,
    )


@bp.post("/hint")
def hint(course_slug: str, lesson_slug: str, question_id: str) -> ResponseReturnValue:
    course, lesson, spec = _question_or_404(course_slug, lesson_slug, question_id)
    data = request_data()
    revision = seen_revision(spec, required(data, "revision"))
    number = required(data, "hint")
    if not number.isdigit():
        raise Refused(400, "invalid-hint", "The hint number is missing or not a number.")
    with _refusals():
        reveal_hint(
            _learner(), Where(course.slug, lesson.slug, spec.id), spec, revision, int(number)
        )
    db.session.commit()
    return _reply(
        course,
        lesson,
        spec,
        lambda view: {"hints": list(view.hints), "next_hint": view.next_hint},
    )


@bp.post("/reveal")
def reveal(course_slug: str, lesson_slug: str, question_id: str) -> ResponseReturnValue:
    course, lesson, spec = _question_or_404(course_slug, lesson_slug, question_id)
    revision = seen_revision(spec, required(request_data(), "revision"))
    with _refusals():
        reveal_answer(_learner(), Where(course.slug, lesson.slug, spec.id), spec, revision)
    db.session.commit()
    return _reply(
        course,
        lesson,
        spec,
        lambda view: {"answer": list(view.key_html), "explanation": spec.explain_html or None},
    )


def _learner() -> Learner:
    """The learner these views write for (a new guest gets an id), once per request."""
    learner = g.get("quiz_learner")
    if learner is None:
        learner = g.quiz_learner = current_learner(create=True)
    assert learner is not None  # noqa: S101 - create=True always gives one
    return learner


def _question_or_404(
    course_slug: str, lesson_slug: str, question_id: str
) -> tuple[Course, Lesson, QuizSpec]:
    course = catalog().course(course_slug)
    lesson = course.lesson(lesson_slug) if course else None
    spec = lesson.question(question_id) if lesson else None
    if course is None or lesson is None or spec is None:
        abort(404, description="There is no such question in this lesson.")
    return course, lesson, spec


def _reply(
    course: Course,
    lesson: Lesson,
    spec: QuizSpec,
    fields_of: Callable[[QuestionView], dict[str, Any]] | None = None,
    shown_attempt: ShownAttempt | None = None,
    **fields: Any,
) -> ResponseReturnValue:
    """After a write: back to the question (303), or JSON with the question's new state."""
    if not wants_json():
        return _back_to_question(course, lesson, spec)
    shown = {spec.id: shown_attempt} if shown_attempt is not None else None
    quizzes = lesson_quizzes(course, lesson, shown_attempts=shown, only=spec.id, learner=_learner())
    view = quizzes.views[spec.id]
    return jsonify(
        question=spec.id,
        **fields,
        **(fields_of(view) if fields_of else {}),
        **_fragments(lesson, spec, view, quizzes),
    )


def _fragments(
    lesson: Lesson, spec: QuizSpec, view: QuestionView, quizzes: LessonQuizzes
) -> dict[str, Any]:
    """Server-rendered parts of the question for scripts to put in place."""
    check = next(c for c in lesson.checks if spec in c.questions)
    summary = quizzes.summaries[check.index]
    questions = len(lesson.questions)
    met = questions - len(unmet_questions(_learner(), lesson))
    return {
        **reply_html(view, summary, met, questions),
        "summary": {
            "answered": summary.answered,
            "total": summary.total,
            "first_try_correct": summary.first_try_correct,
            "complete": summary.complete,
        },
        "can_reveal": view.can_reveal,
        "next_submission_id": view.submission_id,
    }


def _refused(
    course: Course, lesson: Lesson, spec: QuizSpec, refusal: Refused
) -> ResponseReturnValue:
    if wants_json():
        response = jsonify(
            error=HTTP_STATUS_CODES.get(refusal.status, "Error"),
            status=refusal.status,
            reason=refusal.reason,
            message=refusal.message,
            question=spec.id,
        )
        return response, refusal.status
    submitted = {spec.id: refusal.submitted} if refusal.submitted is not None else {}
    return render_lesson(
        course, lesson, notices={spec.id: refusal.message}, submitted=submitted
    ), refusal.status


def _back_to_question(course: Course, lesson: Lesson, spec: QuizSpec) -> ResponseReturnValue:
    url = url_for("lessons.lesson_page", course_slug=course.slug, lesson_slug=lesson.slug)
    return redirect(f"{url}#q-{spec.id}", code=303)
