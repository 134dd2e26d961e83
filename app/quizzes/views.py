"""The answer, hint and "Show answer" endpoints of every question.

Each answers JSON to a JSON request (or one whose ``Accept`` prefers JSON), and
otherwise redirects (303) to the question in the lesson page, which shows the result.
A refused form re-renders the lesson with the reason inside the question's section.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    get_template_attribute,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from app.content.model import Course, Lesson
from app.errors import wants_json
from app.extensions import db
from app.lessons.store import catalog
from app.lessons.views import render_lesson
from app.quiz_types import InvalidAnswer, QuizSpec, registry_for
from app.quiz_types.spec import MAX_TEXT_ANSWER
from app.quizzes.learner import current_learner
from app.quizzes.page import lesson_quizzes
from app.quizzes.present import normalise_answer, order_from_positions
from app.quizzes.services import (
    HintOutOfOrder,
    QuestionState,
    QuizConflict,
    Where,
    question_states,
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
MAX_LIST_ANSWER = 100  # more values than any question has options


class Refused(Exception):
    """A request the learner can fix: shown in the question's section (or as JSON)."""

    def __init__(self, status: int, reason: str, message: str, submitted: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.submitted = submitted


@bp.post("/answer")
def answer(course_slug: str, lesson_slug: str, question_id: str) -> ResponseReturnValue:
    course, lesson, spec = _question_or_404(course_slug, lesson_slug, question_id)
    kind = registry_for(current_app)[spec.type]
    data = _request_data()
    submitted: Any = None
    try:
        submission_id = _submission_id(data)
        revision = seen_revision(spec, _required(data, "revision"))
        submitted = _answer_from(spec, data)
        where = Where(course.slug, lesson.slug, spec.id)
        learner = current_learner(create=True)
        assert learner is not None  # noqa: S101 - create=True always gives one
        recorded = record_attempt(learner, where, spec, kind, submission_id, revision, submitted)
        db.session.commit()
    except InvalidAnswer as exc:
        db.session.rollback()
        return _refused(
            course, lesson, spec, Refused(400, "invalid-answer", _sentence(exc), submitted)
        )
    except QuizConflict as exc:
        db.session.rollback()
        return _refused(course, lesson, spec, Refused(409, exc.reason, exc.message, submitted))
    except Refused as exc:
        db.session.rollback()
        return _refused(course, lesson, spec, exc)
    if not wants_json():
        return _back_to_question(course, lesson, spec)
    state = _state(course, lesson, spec)
    quizzes = lesson_quizzes(
        course, lesson, overrides={spec.id: replace(state, latest=recorded.attempt)}
    )
    result = recorded.result
    body = {
        "question": spec.id,
        "submission_id": recorded.attempt.submission_id,
        "replayed": recorded.replayed,
        "attempt": recorded.attempt.attempt_number,
        "correct": result.correct,
        "score": result.score,
        "detail": result.detail,
        "feedback": list(result.feedback_html),
        "in_place": result.in_place,
        "total": result.total,
        "explanation": spec.explain_html if result.correct and spec.explain_html else None,
        **_fragments(course, lesson, spec, quizzes),
    }
    return jsonify(body)


@bp.post("/hint")
def hint(course_slug: str, lesson_slug: str, question_id: str) -> ResponseReturnValue:
    course, lesson, spec = _question_or_404(course_slug, lesson_slug, question_id)
    data = _request_data()
    try:
        revision = seen_revision(spec, _required(data, "revision"))
        number = _required(data, "hint")
        if not number.isdigit():
            raise Refused(400, "invalid-hint", "The hint number is missing or not a number.")
        learner = current_learner(create=True)
        assert learner is not None  # noqa: S101
        where = Where(course.slug, lesson.slug, spec.id)
        reveal_hint(learner, where, spec, revision, int(number))
        db.session.commit()
    except HintOutOfOrder as exc:
        db.session.rollback()
        return _refused(course, lesson, spec, Refused(400, "invalid-hint", _sentence(exc)))
    except QuizConflict as exc:
        db.session.rollback()
        return _refused(course, lesson, spec, Refused(409, exc.reason, exc.message))
    except Refused as exc:
        db.session.rollback()
        return _refused(course, lesson, spec, exc)
    if not wants_json():
        return _back_to_question(course, lesson, spec)
    quizzes = lesson_quizzes(course, lesson)
    view = quizzes.views[spec.id]
    return jsonify(
        question=spec.id,
        hints=list(view.hints),
        next_hint=view.next_hint,
        **_fragments(course, lesson, spec, quizzes),
    )


@bp.post("/reveal")
def reveal(course_slug: str, lesson_slug: str, question_id: str) -> ResponseReturnValue:
    course, lesson, spec = _question_or_404(course_slug, lesson_slug, question_id)
    data = _request_data()
    try:
        revision = seen_revision(spec, _required(data, "revision"))
        learner = current_learner(create=True)
        assert learner is not None  # noqa: S101
        reveal_answer(learner, Where(course.slug, lesson.slug, spec.id), spec, revision)
        db.session.commit()
    except QuizConflict as exc:
        db.session.rollback()
        return _refused(course, lesson, spec, Refused(409, exc.reason, exc.message))
    except Refused as exc:
        db.session.rollback()
        return _refused(course, lesson, spec, exc)
    if not wants_json():
        return _back_to_question(course, lesson, spec)
    quizzes = lesson_quizzes(course, lesson)
    view = quizzes.views[spec.id]
    return jsonify(
        question=spec.id,
        answer=list(view.key_html),
        explanation=spec.explain_html or None,
        **_fragments(course, lesson, spec, quizzes),
    )


def _question_or_404(
    course_slug: str, lesson_slug: str, question_id: str
) -> tuple[Course, Lesson, QuizSpec]:
    course = catalog().course(course_slug)
    lesson = course.lesson(lesson_slug) if course else None
    spec = lesson.question(question_id) if lesson else None
    if course is None or lesson is None or spec is None:
        abort(404, description="There is no such question in this lesson.")
    return course, lesson, spec


def _request_data() -> dict[str, Any]:
    """The JSON object or the form; anything else is a 400 before any work is done."""
    if request.is_json:
        data = request.get_json()
        if not isinstance(data, dict):
            abort(400, description="The request body must be a JSON object.")
        return data
    return {key: request.form.getlist(key) for key in request.form}


def _value(data: dict[str, Any], name: str) -> Any:
    value = data.get(name)
    if request.is_json:
        return value
    return value[0] if value and len(value) == 1 else value


def _required(data: dict[str, Any], name: str) -> str:
    value = _value(data, name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise Refused(
            400,
            f"missing-{name}",
            f"The form is missing its {name.replace('_', ' ')}. Reload the page and try again.",
        )
    return value.strip()


def _submission_id(data: dict[str, Any]) -> str:
    raw = _required(data, "submission_id")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise Refused(400, "invalid-submission_id", "The submission id is not a UUID.") from None


def _answer_from(spec: QuizSpec, data: dict[str, Any]) -> str | list[str]:
    """The learner's answer, shaped for grading; malformed input raises ``InvalidAnswer``."""
    if spec.type == "order" and not request.is_json and "answer" not in data:
        return order_from_positions(spec, {k: v[0] for k, v in data.items() if len(v) == 1})
    raw = data.get("answer")
    if raw is None:
        raw = []
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidAnswer("the answer must be a string or a list of strings")
    if len(values) > MAX_LIST_ANSWER or any(len(v) > MAX_TEXT_ANSWER for v in values):
        raise InvalidAnswer(f"answers are limited to {MAX_TEXT_ANSWER} characters")
    return normalise_answer(spec, values)


def _state(course: Course, lesson: Lesson, spec: QuizSpec) -> QuestionState:
    states = question_states(current_learner(), course.slug, lesson.slug, [spec.id])
    return states.get(spec.id, QuestionState())


def _fragments(course: Course, lesson: Lesson, spec: QuizSpec, quizzes: Any) -> dict[str, Any]:
    """Server-rendered parts of the question for scripts to put in place."""
    view = quizzes.views[spec.id]
    check = next(c for c in lesson.checks if spec in c.questions)
    summary = quizzes.summaries[check.index]
    macro = get_template_attribute
    return {
        "result_html": str(macro("_macros/quiz.html", "quiz_result")(view)),
        "help_html": str(macro("_macros/quiz.html", "quiz_help")(view)),
        "summary_html": str(macro("_macros/quiz.html", "check_summary")(summary)),
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
            error=_status_name(refusal.status),
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


def _status_name(status: int) -> str:
    return {400: "Bad Request", 409: "Conflict"}.get(status, "Error")


def _sentence(exc: Exception) -> str:
    text = str(exc).strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."
