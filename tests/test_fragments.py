"""Pieces of lesson pages are rendered once and shared only by learners they fit."""

from __future__ import annotations

import re

from tests.conftest import MakeApp
from tests.quiz_client import Learner, answer_form, correct_answer, section_of, wrong_answer

LESSON = "what-is-flask"


def first_question(learner: Learner, kind: str) -> str:
    spec = next(q for q in learner.lesson(LESSON).questions if q.type == kind)
    return spec.id


def without_tokens(section: str) -> str:
    section = re.sub(r'name="submission_id" value="[^"]*"', "", section)
    return re.sub(r'name="csrf_token" value="[^"]*"', "", section)


def test_each_learner_gets_their_own_tokens_in_a_shared_rendering(make_app: MakeApp) -> None:
    app = make_app()
    ada, grace = Learner(app), Learner(app)
    question = first_question(ada, "single")
    seen: dict[tuple[str, ...], str] = {}
    tokens: set[str] = set()
    submissions: set[str] = set()
    for learner in [ada, grace] * 20:
        page = learner.page(LESSON)
        assert "\x00" not in page
        form = answer_form(section_of(page, question))
        meta_token = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert meta_token and form.csrf == meta_token.group(1), "the page's own CSRF token"
        tokens.add(form.csrf)
        submissions.add(form.fields["submission_id"])
        order = tuple(form.values)
        rendered = without_tokens(section_of(page, question))
        assert seen.setdefault(order, rendered) == rendered, "same order, same HTML"
    assert len(submissions) == 40, "a fresh submission id for every render"
    assert len(tokens) > 1
    assert 1 < len(seen) <= 8, "one of eight orders per render"


def test_the_shared_tokens_are_accepted(make_app: MakeApp) -> None:
    learner = Learner(make_app())
    for _ in range(3):
        learner.page(LESSON)  # fill the kept renderings
    spec = learner.lesson(LESSON).question(first_question(learner, "single"))
    assert spec is not None
    response = learner.post_json(LESSON, spec, correct_answer(spec))
    assert response.status_code == 200
    assert response.get_json()["correct"] is True


def test_a_touched_question_is_rendered_for_its_learner(make_app: MakeApp) -> None:
    app = make_app()
    ada, grace = Learner(app), Learner(app)
    spec = ada.lesson(LESSON).question(first_question(ada, "single"))
    assert spec is not None
    assert ada.post_json(LESSON, spec, wrong_answer(spec)).status_code == 200
    mine = section_of(ada.page(LESSON), spec.id)
    assert "quiz-result" in mine and "checked" in mine
    theirs = section_of(grace.page(LESSON), spec.id)
    assert "checked" not in theirs and "Show answer" not in theirs
    assert "Show answer" in mine


def completed_in_nav(page: str) -> list[str]:
    nav = re.search(r'<nav class="course-nav".*?</nav>', page, re.DOTALL)
    assert nav
    return re.findall(
        r'href="/courses/flask-fundamentals/([\w-]+)/" class="is-complete"', nav.group(0)
    )


def test_the_course_navigation_shows_each_learner_their_own_completed_lessons(
    make_app: MakeApp,
) -> None:
    app = make_app()
    ada, grace = Learner(app), Learner(app)
    for learner in (ada, grace):
        assert completed_in_nav(learner.page("what-micro-means")) == []
    page = ada.page(LESSON)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    done = ada.client.post(
        f"/courses/flask-fundamentals/{LESSON}/complete", data={"csrf_token": token.group(1)}
    )
    assert done.status_code in (302, 303)
    for _ in range(2):
        assert completed_in_nav(ada.page("what-micro-means")) == [LESSON]
        assert completed_in_nav(grace.page("what-micro-means")) == []
    current = re.search(r'<a href="[^"]+"[^>]*aria-current="page"', ada.page("wsgi"))
    assert current and "/wsgi/" in current.group(0), "the lesson being read is marked"


def test_a_reply_shows_each_learner_what_their_page_shows(make_app: MakeApp) -> None:
    """An answer's reply carries HTML kept per result: filled in with the learner's own
    attempt number and CSRF token, it reads exactly as their page does afterwards."""
    app = make_app()
    ada, grace = Learner(app), Learner(app)
    spec = ada.lesson(LESSON).question(first_question(ada, "single"))
    assert spec is not None
    for learner, answers in (
        (ada, [wrong_answer(spec)]),
        (grace, [wrong_answer(spec), wrong_answer(spec)]),  # the same result, attempt 2
        (ada, [correct_answer(spec)]),
        (grace, [correct_answer(spec)]),
    ):
        for answer in answers:
            reply = learner.post_json(LESSON, spec, answer).get_json()
        section = section_of(learner.page(LESSON), spec.id)
        assert f"Attempt {reply['attempt']}</span>" in reply["result_html"]
        for part in ("result_html", "help_html"):
            assert reply[part].strip() and reply[part].strip() in section, part
        form = answer_form(section)
        assert "\x00" not in reply["result_html"] + reply["help_html"]
        if 'name="csrf_token"' in reply["help_html"]:
            assert f'value="{form.csrf}"' in reply["help_html"]
    assert reply["attempt"] == 3
