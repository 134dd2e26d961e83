"""Answering knowledge checks over HTTP: forms without JavaScript, JSON with the CSRF header,
and the integrity rules (CSRF, foreign options, stale revisions, retried submissions)."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from flask import Flask
from psycopg import sql
from sqlalchemy.engine import make_url

from app.models import HintReveal
from app.quiz_types import QuizSpec
from tests.conftest import MakeApp
from tests.quiz_client import (
    Learner,
    answer_form,
    correct_answer,
    counts,
    rows,
    section_of,
    text_of,
    wrong_answer,
)

COURSE = "flask-fundamentals"
LESSONS = ("what-is-flask", "what-micro-means", "werkzeug")
SINGLE = "string-view-response-defaults"  # in what-is-flask
ORDER = "flask-request-to-response-order"  # in what-is-flask


@pytest.fixture
def quiz_app(make_app: MakeApp) -> Iterator[Flask]:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield app


@pytest.fixture
def learner(quiz_app: Flask) -> Learner:
    return Learner(quiz_app)


def spec_of(learner: Learner, question_id: str, lesson: str = "what-is-flask") -> QuizSpec:
    spec = learner.lesson(lesson).question(question_id)
    assert spec is not None
    return spec


def one_per_type(learner: Learner) -> list[tuple[str, QuizSpec]]:
    seen: dict[str, tuple[str, QuizSpec]] = {}
    for slug in LESSONS:
        for spec in learner.lesson(slug).questions:
            seen.setdefault(spec.type, (slug, spec))
    assert set(seen) == {"single", "multi", "truefalse", "text", "number", "order"}
    return list(seen.values())


def test_every_question_is_a_form_with_the_contract_fields(learner: Learner) -> None:
    for slug in LESSONS:
        page = learner.page(slug)
        for spec in learner.lesson(slug).questions:
            section = section_of(page, spec.id)
            form = answer_form(section)
            action = f'action="/courses/{COURSE}/{slug}/quiz/{spec.id}/answer"'
            assert re.search(rf'<form [^>]*method="post" {action}', section)
            assert uuid.UUID(form.fields["submission_id"]).version == 4
            assert form.fields["csrf_token"] and form.fields["revision"]
            assert "<fieldset" in section and "<legend" in section
            answer_part = re.search(r"<form .*?</form>", section, re.DOTALL).group(0)
            assert len(re.findall(r"<button[^>]*>", answer_part)) == 1
            assert re.search(r'<button type="submit"[^>]*>Check</button>', answer_part)
            if spec.type in ("single", "multi"):
                assert sorted(form.values) == sorted(o.id for o in spec.options)
                assert not {"correct", "1", "0", "true"} & set(form.values)
            if spec.type == "truefalse":
                assert re.findall(r'<label for="[^"]+">(True|False)</label>', section) == [
                    "True",
                    "False",
                ]
            for option_id in form.values:  # every input and select has its own label
                name = option_id if option_id.startswith("position-") else None
                target = (
                    re.search(rf'<select[^>]*id="([^"]+)" name="{name}"', section).group(1)
                    if name
                    else f"q-{spec.id}-{option_id}"
                )
                assert re.search(rf'<label [^>]*for="{re.escape(target)}"', section)
            if spec.type == "order":
                selects = re.findall(r"<select.*?</select>", section, re.DOTALL)
                assert len(selects) == len(spec.options)
                for select in selects:
                    values = re.findall(r'<option value="(\d+)"', select)
                    assert values == [str(n) for n in range(1, len(spec.options) + 1)]


def test_each_render_mints_a_new_submission_id(learner: Learner) -> None:
    ids = {learner.form("what-is-flask", SINGLE).fields["submission_id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("right", [True, False], ids=["correct", "wrong"])
def test_form_post_without_javascript_for_every_type(learner: Learner, right: bool) -> None:
    for slug, spec in one_per_type(learner):
        answer = correct_answer(spec) if right else wrong_answer(spec)
        response = learner.post_form(slug, spec, answer)
        assert response.status_code == 303, (spec.id, response.get_data(as_text=True)[:300])
        assert response.headers["Location"] == f"/courses/{COURSE}/{slug}/#q-{spec.id}"
        section = section_of(learner.page(slug), spec.id)
        shown = text_of(section)
        if right:
            assert "Correct!" in shown and "Not quite" not in shown, spec.id
            if spec.explain_html:
                assert text_of(spec.explain_html) in shown
        else:
            assert "Not quite." in shown and "Try again." in shown, spec.id
            assert text_of(spec.explain_html) not in shown
            assert "Show answer" in shown
        if spec.type == "order" and not right:
            in_place = len(spec.options) % 2  # reversed: only a middle item stays in place
            assert f"{in_place} of {len(spec.options)} items in the right place" in shown
    assert len(rows(learner.app)) == 6


def test_wrong_choice_shows_the_chosen_option_feedback_and_keeps_the_choice(
    learner: Learner,
) -> None:
    spec = spec_of(learner, SINGLE)
    wrong = next(o for o in spec.options if not o.correct and o.feedback_html)
    learner.post_form("what-is-flask", spec, wrong.id)
    section = section_of(learner.page("what-is-flask"), SINGLE)
    assert text_of(wrong.feedback_html) in text_of(section)
    for other in spec.options:
        if other is not wrong and other.feedback_html:
            assert text_of(other.feedback_html) not in text_of(section)
    assert re.search(rf'value="{wrong.id}" id="[^"]+" checked', section)


def test_json_post_with_the_csrf_header_for_every_type(learner: Learner) -> None:
    for slug, spec in one_per_type(learner):
        wrong = learner.post_json(slug, spec, wrong_answer(spec))
        assert wrong.status_code == 200, wrong.get_json()
        body = wrong.get_json()
        assert body["correct"] is False and body["explanation"] is None
        assert body["question"] == spec.id and body["attempt"] == 1
        assert "Not quite." in text_of(body["result_html"])
        assert body["can_reveal"] is True and "Show answer" in body["help_html"]
        uuid.UUID(body["next_submission_id"])
        right = learner.post_json(slug, spec, correct_answer(spec)).get_json()
        assert right["correct"] is True and right["attempt"] == 2 and right["score"] == 1.0
        assert right["explanation"] == (spec.explain_html or None)
        assert "Correct!" in text_of(right["result_html"])
        if spec.type == "order":
            assert wrong.get_json()["total"] == len(spec.options)
            assert right["in_place"] == len(spec.options)
    assert len(rows(learner.app)) == 12


def test_every_reply_carries_the_lessons_question_checklist(learner: Learner) -> None:
    """The "N of M answered correctly" item follows each answer; a reveal meets nothing."""
    specs = learner.lesson("what-is-flask").questions
    total = len(specs)

    def item(body: dict) -> tuple[bool, str]:
        html = body["checklist_html"]
        assert html.startswith('<li class="checklist-item') and "data-check-questions" in html
        return 'class="checklist-item is-done"' in html, text_of(html)

    first, *others = specs
    wrong = learner.post_json("what-is-flask", first, wrong_answer(first)).get_json()
    assert item(wrong) == (
        False,
        f"0 of {total} questions answered correctly before showing the answer",
    )
    revealed = learner.action("what-is-flask", first, "reveal", json=True).get_json()
    assert item(revealed)[1].startswith(f"0 of {total} ")
    after_reveal = learner.post_json("what-is-flask", first, correct_answer(first)).get_json()
    assert after_reveal["correct"] is True and item(after_reveal)[1].startswith(f"0 of {total} ")
    for met, spec in enumerate(others, start=1):
        body = learner.post_json("what-is-flask", spec, correct_answer(spec)).get_json()
        assert item(body) == (
            False,
            f"{met} of {total} questions answered correctly before showing the answer",
        )
    page = learner.page("what-is-flask")
    assert f"{total - 1} of {total} questions answered correctly" in text_of(page)


def test_accept_header_asks_for_json_from_a_form_post(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    form = learner.form("what-is-flask", SINGLE)
    response = learner.client.post(
        learner.url("what-is-flask", SINGLE),
        data={**form.fields, "answer": correct_answer(spec)},
        headers={"Accept": "application/json, text/html;q=0.5"},
    )
    assert response.status_code == 200 and response.get_json()["correct"] is True


def test_missing_csrf_token_is_refused_and_stores_nothing(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    as_form = learner.post_form("what-is-flask", spec, correct_answer(spec), csrf_token=None)
    assert as_form.status_code == 400
    page = as_form.get_data(as_text=True)
    assert "security token" in page and "Back to the lesson" in page
    as_json = learner.post_json("what-is-flask", spec, correct_answer(spec), csrf=False)
    assert as_json.status_code == 400 and "security token" in as_json.get_json()["message"]
    wrong_token = learner.post_form("what-is-flask", spec, correct_answer(spec), csrf_token="x")
    assert wrong_token.status_code == 400
    assert counts(learner.app) == (0, 0, 0)


def test_an_option_of_another_question_is_refused(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    other = learner.lesson("what-micro-means").questions[0]
    foreign = other.options[0].id
    as_form = learner.post_form("what-is-flask", spec, foreign)
    assert as_form.status_code == 400
    section = section_of(as_form.get_data(as_text=True), SINGLE)
    assert "option this question does not have" in text_of(section)
    as_json = learner.post_json("what-is-flask", spec, foreign)
    assert as_json.status_code == 400 and as_json.get_json()["reason"] == "invalid-answer"
    assert rows(learner.app) == []


@pytest.mark.parametrize(
    "answer",
    [None, [], "", ["a", "b"], {"id": "x"}, 7, "x" * 501],
    ids=["missing", "empty-list", "empty", "two-unknown", "object", "number", "too-long"],
)
def test_malformed_answers_are_400_and_store_nothing(learner: Learner, answer: object) -> None:
    spec = spec_of(learner, SINGLE)
    response = learner.post_json("what-is-flask", spec, answer)
    assert response.status_code == 400
    assert response.get_json()["message"]
    assert rows(learner.app) == []


def test_an_empty_form_re_renders_the_lesson_with_a_message(learner: Learner) -> None:
    for question_id, message in [(SINGLE, "Choose one option."), (ORDER, "position from 1")]:
        spec = spec_of(learner, question_id)
        form = learner.form("what-is-flask", question_id)
        response = learner.client.post(learner.url("what-is-flask", question_id), data=form.fields)
        assert response.status_code == 400
        section = section_of(response.get_data(as_text=True), question_id)
        assert message in text_of(section) and "quiz-notice" in section
        assert spec.explain_html not in section
    assert rows(learner.app) == []


def test_order_positions_must_be_distinct(learner: Learner) -> None:
    spec = spec_of(learner, ORDER)
    form = learner.form("what-is-flask", ORDER)
    data = {**form.fields, **{name: "1" for name in form.values}}
    response = learner.client.post(learner.url("what-is-flask", ORDER), data=data)
    assert response.status_code == 400
    assert "different position" in text_of(section_of(response.get_data(as_text=True), ORDER))
    assert len(form.values) == len(spec.options) and rows(learner.app) == []


def test_stale_revision_is_refused_with_409(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    as_form = learner.post_form("what-is-flask", spec, correct_answer(spec), revision="0" * 16)
    assert as_form.status_code == 409
    section = section_of(as_form.get_data(as_text=True), SINGLE)
    assert "changed since the page was loaded" in text_of(section)
    as_json = learner.post_json("what-is-flask", spec, correct_answer(spec), revision="abc")
    assert as_json.status_code == 409
    assert as_json.get_json()["reason"] == "stale-revision"
    # the content hash itself is not accepted either: only the page's keyed revision is
    raw = learner.post_json("what-is-flask", spec, correct_answer(spec), revision=spec.revision)
    assert raw.status_code == 409
    assert rows(learner.app) == []


@pytest.mark.parametrize("missing", ["revision", "submission_id"])
def test_missing_revision_or_submission_id_is_400(learner: Learner, missing: str) -> None:
    spec = spec_of(learner, SINGLE)
    as_form = learner.post_form("what-is-flask", spec, correct_answer(spec), **{missing: None})
    assert as_form.status_code == 400
    assert "missing its" in text_of(section_of(as_form.get_data(as_text=True), SINGLE))
    form = learner.form("what-is-flask", SINGLE)
    body = {"submission_id": str(uuid.uuid4()), "revision": form.fields["revision"]}
    del body[missing]
    as_json = learner.client.post(
        learner.url("what-is-flask", SINGLE),
        json={**body, "answer": correct_answer(spec)},
        headers={"X-CSRFToken": form.csrf},
    )
    assert as_json.status_code == 400 and as_json.get_json()["reason"] == f"missing-{missing}"
    assert rows(learner.app) == []


def test_a_submission_id_that_is_not_a_uuid_is_400(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    response = learner.post_json("what-is-flask", spec, correct_answer(spec), "not-a-uuid")
    assert response.status_code == 400 and rows(learner.app) == []


def test_a_retried_submission_is_stored_once_with_the_same_response(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    submission = str(uuid.uuid4())
    first = learner.post_json("what-is-flask", spec, wrong_answer(spec), submission)
    again = learner.post_json("what-is-flask", spec, wrong_answer(spec), submission)
    assert first.status_code == again.status_code == 200
    keys = ("correct", "score", "feedback", "attempt", "submission_id", "explanation")
    assert {k: first.get_json()[k] for k in keys} == {k: again.get_json()[k] for k in keys}
    assert again.get_json()["replayed"] is True
    # a retry carrying a different answer still returns what was stored the first time
    changed = learner.post_json("what-is-flask", spec, correct_answer(spec), submission)
    assert changed.get_json()["correct"] is False
    # without JavaScript, a re-sent form lands on the same question, stored once
    form = learner.form("what-is-flask", SINGLE)
    data = {**form.fields, "answer": correct_answer(spec)}
    assert learner.client.post(learner.url("what-is-flask", SINGLE), data=data).status_code == 303
    assert learner.client.post(learner.url("what-is-flask", SINGLE), data=data).status_code == 303
    assert [row.attempt_number for row in rows(learner.app)] == [1, 2]


def test_another_learners_submission_id_is_409(quiz_app: Flask) -> None:
    ada, bob = Learner(quiz_app), Learner(quiz_app)
    spec = spec_of(ada, SINGLE)
    submission = str(uuid.uuid4())
    assert ada.post_json("what-is-flask", spec, correct_answer(spec), submission).status_code == 200
    taken = bob.post_json("what-is-flask", spec, correct_answer(spec), submission)
    assert taken.status_code == 409 and taken.get_json()["reason"] == "submission-taken"
    # the same id sent for another question by its owner is refused as well
    other = spec_of(ada, ORDER)
    assert (
        ada.post_json("what-is-flask", other, correct_answer(other), submission).status_code == 409
    )
    assert len(rows(quiz_app)) == 1


def test_learners_see_only_their_own_results(quiz_app: Flask) -> None:
    ada, bob = Learner(quiz_app), Learner(quiz_app)
    spec = spec_of(ada, SINGLE)
    ada.post_form("what-is-flask", spec, correct_answer(spec))
    assert "Correct!" in text_of(section_of(ada.page("what-is-flask"), SINGLE))
    assert "Correct!" not in text_of(section_of(bob.page("what-is-flask"), SINGLE))
    (row,) = rows(quiz_app)
    assert row.user_id is None and re.fullmatch(r"[0-9a-f]{32}", row.guest_id)


def test_attempt_rows_record_the_answer_and_its_grade(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    wrong = next(o for o in spec.options if not o.correct and o.misconception)
    learner.post_json("what-is-flask", spec, wrong.id)
    multi = next(q for q in learner.lesson("what-is-flask").questions if q.type == "multi")
    learner.post_json("what-is-flask", multi, correct_answer(multi))
    first, second = rows(learner.app)
    assert (first.course, first.lesson, first.question_id) == (COURSE, "what-is-flask", SINGLE)
    assert first.answer == wrong.id and first.correct is False and first.score == 0
    assert first.misconceptions == [wrong.misconception]
    assert first.revision == spec.revision and first.attempt_number == 1
    assert first.created_at is not None and first.after_reveal is False
    assert second.answer == correct_answer(multi) and second.correct is True


def test_answering_again_after_a_correct_answer_is_a_new_attempt(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    learner.post_form("what-is-flask", spec, correct_answer(spec))
    learner.post_form("what-is-flask", spec, correct_answer(spec))
    learner.post_form("what-is-flask", spec, wrong_answer(spec))
    assert [(r.attempt_number, r.correct) for r in rows(learner.app)] == [
        (1, True),
        (2, True),
        (3, False),
    ]
    # the page follows the latest attempt: wrong, explanation hidden again
    section = section_of(learner.page("what-is-flask"), SINGLE)
    assert "Not quite." in text_of(section) and "Attempt 3" in text_of(section)
    assert text_of(spec.explain_html) not in text_of(section)
    learner.post_form("what-is-flask", spec, correct_answer(spec))
    section = section_of(learner.page("what-is-flask"), SINGLE)
    assert "Correct!" in text_of(section) and text_of(spec.explain_html) in text_of(section)


def test_show_answer_only_after_a_wrong_attempt(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    assert "Show answer" not in section_of(learner.page("what-is-flask"), SINGLE)
    early = learner.action("what-is-flask", spec, "reveal", json=True)
    assert early.status_code == 409 and early.get_json()["reason"] == "answer-first"
    assert learner.action("what-is-flask", spec, "reveal").status_code == 409
    learner.post_form("what-is-flask", spec, correct_answer(spec))
    assert learner.action("what-is-flask", spec, "reveal", json=True).status_code == 409
    assert counts(learner.app)[1] == 0

    learner.post_form("what-is-flask", spec, wrong_answer(spec))
    section = section_of(learner.page("what-is-flask"), SINGLE)
    assert "Show answer" in section
    response = learner.action("what-is-flask", spec, "reveal")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#q-{SINGLE}")
    section = section_of(learner.page("what-is-flask"), SINGLE)
    correct = next(o for o in spec.options if o.correct)
    assert "The correct answer" in text_of(section) and correct.html in section
    assert text_of(spec.explain_html) in text_of(section)
    assert "Show answer" not in section
    # pressing it again (a retry) records nothing new
    assert learner.action("what-is-flask", spec, "reveal", json=True).status_code == 200
    assert counts(learner.app)[1] == 1
    # a reveal is not an attempt
    assert len(rows(learner.app)) == 2


def test_a_reveal_stops_later_correct_answers_counting_as_first_try(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    learner.post_json("what-is-flask", spec, wrong_answer(spec))
    reveal = learner.action("what-is-flask", spec, "reveal", json=True).get_json()
    assert reveal["answer"] and reveal["explanation"] == spec.explain_html
    after = learner.post_json("what-is-flask", spec, correct_answer(spec)).get_json()
    assert after["correct"] is True
    assert [r.after_reveal for r in rows(learner.app)] == [False, True]
    assert after["summary"]["first_try_correct"] == 0
    # a wrong answer after the reveal hides the answer again until revealed again
    learner.post_json("what-is-flask", spec, wrong_answer(spec))
    section = section_of(learner.page("what-is-flask"), SINGLE)
    assert "The correct answer" not in text_of(section) and "Show answer" in section


def test_hints_are_revealed_one_at_a_time(make_app: MakeApp, write_content) -> None:
    content = write_content(
        {
            "demo/course.yml": "title: Demo\nsummary: Hints.\n",
            "demo/01-hints.md": """
                ---
                title: Hints
                summary: A question with two hints.
                ---
                ## Check

                ```quiz id=two-hints
                Which port does `flask run` use?

                answer: 5000
                hint: It is a four-digit number.
                hint: It starts with a 5.
                explain: 5000 is the default.
                ```
                """,
        }
    )
    app = make_app(content_dir=content)
    assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    learner = Learner(app, course="demo")
    spec = learner.lesson("hints").question("two-hints")
    assert spec is not None
    page = learner.page("hints")
    assert "four-digit" not in page and "starts with a 5" not in page
    assert learner.action("hints", spec, "hint", hint="2").status_code == 400
    assert learner.action("hints", spec, "hint", hint="1").status_code == 303
    section = section_of(learner.page("hints"), "two-hints")
    assert "four-digit" in section and "starts with a 5" not in section
    assert "Show another hint" in section
    # a retried first hint adds nothing
    assert learner.action("hints", spec, "hint", json=True, hint="1").status_code == 200
    second = learner.action("hints", spec, "hint", json=True, hint="2")
    assert second.status_code == 200
    assert [text_of(h) for h in second.get_json()["hints"]] == [
        "It is a four-digit number.",
        "It starts with a 5.",
    ]
    assert second.get_json()["next_hint"] is None
    assert "Show another hint" not in second.get_json()["help_html"]
    assert learner.action("hints", spec, "hint", hint="3").status_code == 400
    assert [row.hint_number for row in rows(app, HintReveal)] == [1, 2]


def test_knowledge_check_summary_counts_first_tries(learner: Learner) -> None:
    lesson = learner.lesson("what-is-flask")
    questions = lesson.questions
    page = learner.page("what-is-flask")
    assert "correct on first try" not in page
    for index, spec in enumerate(questions):
        answer = correct_answer(spec) if index % 2 == 0 else wrong_answer(spec)
        body = learner.post_json("what-is-flask", spec, answer).get_json()
        if index < len(questions) - 1:
            assert f"{index + 1} of {len(questions)} answered" in text_of(body["summary_html"])
    # correcting a wrong first try later does not change the first-try score
    learner.post_json("what-is-flask", questions[1], correct_answer(questions[1]))
    expected = (len(questions) + 1) // 2
    summary = re.search(
        r'class="knowledge-check-summary".*?</div>', learner.page("what-is-flask"), re.DOTALL
    )
    assert f"{expected} of {len(questions)} correct on first try" in text_of(summary.group(0))
    labels = re.findall(r"Question (\d+) of (\d+)", text_of(learner.page("what-is-flask")))
    assert labels[: len(questions)] == [(str(n), str(len(questions))) for n in range(1, 7)]


def test_shuffled_per_render_and_graded_by_id(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    orders = {tuple(learner.form("what-is-flask", SINGLE).values) for _ in range(12)}
    assert len(orders) > 1, "choices should be shuffled at each render"
    correct = correct_answer(spec)
    for _ in range(3):
        assert learner.post_json("what-is-flask", spec, correct).get_json()["correct"] is True
    order_spec = spec_of(learner, ORDER)
    shown = {tuple(learner.form("what-is-flask", ORDER).values) for _ in range(12)}
    assert len(shown) > 1
    assert tuple(f"position-{o.id}" for o in order_spec.options) not in shown


def test_unknown_course_lesson_or_question_is_404(learner: Learner) -> None:
    spec = spec_of(learner, SINGLE)
    form = learner.form("what-is-flask", SINGLE)
    for url in (
        f"/courses/{COURSE}/what-is-flask/quiz/no-such-question/answer",
        f"/courses/{COURSE}/no-such-lesson/quiz/{SINGLE}/answer",
        f"/courses/no-such-course/what-is-flask/quiz/{SINGLE}/answer",
        f"/courses/{COURSE}/werkzeug/quiz/{SINGLE}/answer",  # a question of another lesson
    ):
        as_form = learner.client.post(url, data={**form.fields, "answer": correct_answer(spec)})
        assert as_form.status_code == 404, url
        as_json = learner.client.post(
            url,
            json={**form.fields, "answer": correct_answer(spec)},
            headers={"X-CSRFToken": form.csrf},
        )
        assert as_json.status_code == 404 and as_json.get_json()["status"] == 404
    assert learner.client.get(learner.url("what-is-flask", SINGLE)).status_code == 405
    assert rows(learner.app) == []


def test_a_body_over_the_limit_is_413(learner: Learner) -> None:
    form = learner.form("what-is-flask", SINGLE)
    big = "x" * (1024 * 1024 + 10)
    as_json = learner.client.post(
        learner.url("what-is-flask", SINGLE),
        data=f'{{"answer": "{big}"}}',
        content_type="application/json",
        headers={"X-CSRFToken": form.csrf},
    )
    assert as_json.status_code == 413 and as_json.get_json()["status"] == 413
    as_form = learner.client.post(
        learner.url("what-is-flask", SINGLE), data={**form.fields, "answer": big}
    )
    assert as_form.status_code == 413 and "too large" in as_form.get_data(as_text=True)
    assert rows(learner.app) == []


@contextmanager
def another_writer_holds_the_lock(app: Flask) -> Iterator[None]:
    """Another process holds the database's write lock until the block ends; readers pass."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(url.database, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as other:  # one transaction, rolled back on leaving
        tables = other.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        names = sql.SQL(", ").join(sql.Identifier(name) for (name,) in tables.fetchall())
        other.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(names))
        try:
            yield
        finally:
            other.rollback()


def test_a_busy_database_answers_503_and_stores_nothing(
    make_app: MakeApp, empty_database_url: str
) -> None:
    app = make_app(DATABASE_URL=empty_database_url, DATABASE_BUSY_TIMEOUT_MS=50)
    assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    learner = Learner(app)
    spec = spec_of(learner, SINGLE)
    form = learner.form("what-is-flask", SINGLE)
    body = {**form.fields, "answer": correct_answer(spec)}
    with another_writer_holds_the_lock(app):
        as_json = learner.client.post(
            learner.url("what-is-flask", SINGLE), json=body, headers={"X-CSRFToken": form.csrf}
        )
        assert as_json.status_code == 503 and int(as_json.headers["Retry-After"]) > 0
        assert as_json.get_json()["status"] == 503
        as_form = learner.client.post(learner.url("what-is-flask", SINGLE), data=body)
        assert as_form.status_code == 503 and "Retry-After" in as_form.headers
        assert "Nothing was saved" in as_form.get_data(as_text=True)
    assert rows(app) == []
    # the same submission goes through once the database is free again, and only once
    retried = learner.client.post(
        learner.url("what-is-flask", SINGLE), json=body, headers={"X-CSRFToken": form.csrf}
    )
    assert retried.status_code == 200 and retried.get_json()["correct"] is True
    assert len(rows(app)) == 1
