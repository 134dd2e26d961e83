"""Reading what a question's endpoints receive: a form or a JSON object, checked.

Anything the learner (or a script) can fix raises ``Refused``, which the views turn into
a 400 or 409 in the request's own format; nothing is stored.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, request

from app.quiz_types import InvalidAnswer, QuizSpec
from app.quiz_types.spec import MAX_TEXT_ANSWER
from app.quizzes.present import normalise_answer, order_from_positions

MAX_LIST_ANSWER = 100  # more values than any question has options


class Refused(Exception):
    """A request the learner can fix: shown in the question's section (or as JSON)."""

    def __init__(self, status: int, reason: str, message: str, submitted: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.submitted = submitted


def request_data() -> dict[str, Any]:
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


def required(data: dict[str, Any], name: str) -> str:
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


def submission_id_of(data: dict[str, Any]) -> str:
    raw = required(data, "submission_id")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise Refused(400, "invalid-submission_id", "The submission id is not a UUID.") from None


def answer_from(spec: QuizSpec, data: dict[str, Any]) -> str | list[str]:
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


def sentence(exc: Exception) -> str:
    text = str(exc).strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."
