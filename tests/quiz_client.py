"""A learner driving knowledge checks through HTTP: read the page's forms, post answers."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.content.model import Lesson
from app.extensions import db
from app.lessons.store import catalog
from app.models import HintReveal, QuizAttempt, QuizReveal
from app.quiz_types import QuizSpec
from app.quiz_types.free import NumberRule, parse_number_rule


@dataclass
class QuestionForm:
    """What the page offers for one question."""

    section: str
    fields: dict[str, str]  # csrf_token, submission_id, revision
    values: list[str]  # option ids (choice) or position select names (order)

    @property
    def csrf(self) -> str:
        return self.fields["csrf_token"]


def section_of(page: str, question_id: str) -> str:
    match = re.search(
        rf'<section class="quiz quiz-\w+" id="q-{re.escape(question_id)}".*?</section>',
        page,
        re.DOTALL,
    )
    assert match, f"question {question_id} is not on the page"
    return match.group(0)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def answer_form(section: str) -> QuestionForm:
    form = re.search(r"<form [^>]*data-quiz-answer>.*?</form>", section, re.DOTALL)
    assert form, "the question has no answer form"
    body = form.group(0)
    fields = dict(re.findall(r'name="(csrf_token|submission_id|revision)" value="([^"]*)"', body))
    values = re.findall(r'name="answer" value="([^"]*)"', body)
    values += re.findall(r'name="(position-[\w-]+)"', body)
    return QuestionForm(section, fields, values)


def correct_answer(spec: QuizSpec) -> str | list[str]:
    if spec.type == "single":
        return next(o.id for o in spec.options if o.correct)
    if spec.type == "multi":
        return [o.id for o in spec.options if o.correct]
    if spec.type == "order":
        return [o.id for o in spec.options]
    if spec.type == "truefalse":
        return spec.answers[0]
    if spec.type == "number":
        rule = parse_number_rule(spec.answers[0])
        assert isinstance(rule, NumberRule)
        return str((rule.low + rule.high) / 2)
    return next(a for a in spec.answers if not a.startswith("/"))


def wrong_answer(spec: QuizSpec) -> str | list[str]:
    if spec.type == "single":
        return next(o.id for o in spec.options if not o.correct)
    if spec.type == "multi":
        return [next(o.id for o in spec.options if not o.correct)]
    if spec.type == "order":
        return [o.id for o in reversed(spec.options)]
    if spec.type == "truefalse":
        return "true" if spec.answers[0] == "false" else "false"
    if spec.type == "number":
        rule = parse_number_rule(spec.answers[0])
        assert isinstance(rule, NumberRule)
        return str(rule.high + Decimal(1000))
    return "certainly not the answer"


def form_data(spec: QuizSpec, answer: str | list[str]) -> dict[str, Any]:
    """The fields a browser without JavaScript sends for ``answer``."""
    if spec.type == "order":
        return {f"position-{option_id}": str(n) for n, option_id in enumerate(answer, start=1)}
    return {"answer": answer}


class Learner:
    """One browser: its own cookie jar, reading pages and answering questions."""

    def __init__(self, app: Flask, course: str = "flask-fundamentals") -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.course = course

    def lesson(self, slug: str) -> Lesson:
        with self.app.app_context():
            course = catalog().course(self.course)
            assert course is not None
            lesson = course.lesson(slug)
        assert lesson is not None
        return lesson

    def page(self, lesson: str, status: int = 200) -> str:
        response = self.client.get(f"/courses/{self.course}/{lesson}/")
        assert response.status_code == status
        return response.get_data(as_text=True)

    def form(self, lesson: str, question_id: str) -> QuestionForm:
        return answer_form(section_of(self.page(lesson), question_id))

    def url(self, lesson: str, question_id: str, action: str = "answer") -> str:
        return f"/courses/{self.course}/{lesson}/quiz/{question_id}/{action}"

    def post_form(
        self, lesson: str, spec: QuizSpec, answer: str | list[str], **overrides: Any
    ) -> TestResponse:
        form = self.form(lesson, spec.id)
        data = {**form.fields, **form_data(spec, answer), **overrides}
        data = {key: value for key, value in data.items() if value is not None}
        return self.client.post(self.url(lesson, spec.id), data=data)

    def post_json(
        self,
        lesson: str,
        spec: QuizSpec,
        answer: Any,
        submission_id: str | None = None,
        csrf: bool = True,
        **overrides: Any,
    ) -> TestResponse:
        form = self.form(lesson, spec.id)
        body = {
            "submission_id": submission_id or str(uuid.uuid4()),
            "revision": form.fields["revision"],
            "answer": answer,
            **overrides,
        }
        headers = {"X-CSRFToken": form.csrf} if csrf else {}
        return self.client.post(self.url(lesson, spec.id), json=body, headers=headers)

    def action(self, lesson: str, spec: QuizSpec, action: str, json: bool = False, **extra: Any):
        """Press "Show a hint" or "Show answer" (a form post, or JSON with the header)."""
        form = self.form(lesson, spec.id)
        data = {"revision": form.fields["revision"], **extra}
        if json:
            return self.client.post(
                self.url(lesson, spec.id, action), json=data, headers={"X-CSRFToken": form.csrf}
            )
        return self.client.post(
            self.url(lesson, spec.id, action), data={"csrf_token": form.csrf, **data}
        )


def rows(app: Flask, model: type = QuizAttempt) -> list[Any]:
    with app.app_context():
        return list(db.session.scalars(db.select(model).order_by(model.id)))


def counts(app: Flask) -> tuple[int, int, int]:
    return (len(rows(app, QuizAttempt)), len(rows(app, QuizReveal)), len(rows(app, HintReveal)))
