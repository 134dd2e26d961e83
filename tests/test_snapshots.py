"""Lesson pages kept per learner state: the same page as a fresh rendering, fresh tokens
in every response, and every change a learner makes on the very next page."""

from __future__ import annotations

import gzip
import re

from flask import Flask

from tests.account_client import Browser
from tests.conftest import MakeApp
from tests.quiz_client import Learner, answer_form, correct_answer, section_of, wrong_answer

COURSE = "flask-fundamentals"
LESSON = "what-is-flask"
PATH = f"/courses/{COURSE}/{LESSON}/"
SUBMISSION_RE = re.compile(r'name="submission_id" value="([^"]*)"')
CSRF_RE = re.compile(r'(?:name="csrf_token" value|name="csrf-token" content)="([^"]*)"')
OPTION_RE = re.compile(r'<li class="quiz-(?:option|order-item)">.*?</li>', re.S)


def normalized(page: str) -> tuple[str, list[str]]:
    """The page without its tokens and with its options out of their (shuffled) lists."""
    page = SUBMISSION_RE.sub('name="submission_id" value=""', page)
    page = CSRF_RE.sub("csrf", page)
    options = sorted(item.replace(" selected", "") for item in OPTION_RE.findall(page))
    return OPTION_RE.sub("option", page), options


def question(learner: Learner, kind: str = "single"):  # noqa: ANN201 - a QuizSpec
    return next(q for q in learner.lesson(LESSON).questions if q.type == kind)


def test_a_kept_page_has_fresh_tokens_and_takes_an_answer(make_app: MakeApp) -> None:
    learner = Learner(make_app())
    pages = [learner.page(LESSON) for _ in range(4)]
    submissions = [set(SUBMISSION_RE.findall(page)) for page in pages]
    for ids, page in zip(submissions, pages, strict=True):
        assert len(ids) == len(SUBMISSION_RE.findall(page)) > 1
    assert not set.intersection(*submissions), "every response has submission ids of its own"
    for page in pages:
        assert "\x00" not in page and "\x01" not in page
        assert len(set(CSRF_RE.findall(page))) == 1, "one CSRF token throughout a page"
    spec = question(learner)
    form = answer_form(section_of(pages[-1], spec.id))
    data = {**form.fields, "answer": correct_answer(spec)}
    response = learner.client.post(f"{PATH}quiz/{spec.id}/answer", data=data)
    assert response.status_code == 303
    assert "quiz-verdict" in section_of(learner.page(LESSON), spec.id)


def test_a_kept_page_is_the_page_a_fresh_rendering_gives(make_app: MakeApp) -> None:
    kept_app = make_app()
    rendering_app = make_app(LESSON_SNAPSHOT_BYTES=0)  # same database and secret key
    learner = Learner(kept_app)
    spec = question(learner)
    learner.page(LESSON)
    learner.post_json(LESSON, spec, wrong_answer(spec))
    learner.action(LESSON, question(learner, "multi"), "hint")
    cookie = learner.client.get_cookie("session")
    assert cookie is not None
    other = rendering_app.test_client()
    other.set_cookie("session", cookie.value)
    for _ in range(3):
        kept = learner.page(LESSON)
        rendered = other.get(PATH).get_data(as_text=True)
        assert normalized(kept) == normalized(rendered)
    assert "quiz-verdict" in section_of(kept, spec.id)


def test_gzip_and_plain_responses_carry_the_same_page(make_app: MakeApp) -> None:
    client = make_app().test_client()
    for _ in range(3):
        zipped = client.get(PATH, headers={"Accept-Encoding": "gzip"})
        plain = client.get(PATH, headers={"Accept-Encoding": "identity"})
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert "Content-Encoding" not in plain.headers
        assert "Accept-Encoding" in zipped.headers["Vary"]
        assert int(zipped.headers["Content-Length"]) == len(zipped.data)
        unzipped = gzip.decompress(zipped.data).decode()
        assert normalized(unzipped) == normalized(plain.get_data(as_text=True))


def test_each_change_shows_on_the_next_page(make_app: MakeApp) -> None:
    app = make_app()
    browser = Browser(app)
    learner = browser.learner()
    single, multi = question(learner), question(learner, "multi")
    before = learner.page(LESSON)
    assert "quiz-verdict" not in section_of(before, single.id)

    learner.post_json(LESSON, single, wrong_answer(single))
    page = learner.page(LESSON)
    assert "quiz-verdict" in section_of(page, single.id)
    assert "Show answer" in section_of(page, single.id)

    learner.action(LESSON, single, "reveal")
    assert "quiz-key" in section_of(learner.page(LESSON), single.id)

    learner.action(LESSON, multi, "hint")
    assert "quiz-hint" in section_of(learner.page(LESSON), multi.id)

    token = CSRF_RE.findall(learner.page(LESSON))[0]
    sync = learner.client.post(
        f"/api/v1/progress/{COURSE}/{LESSON}",
        json={"section": None, "percent_read": 60},
        headers={"X-CSRFToken": token},
    )
    assert sync.status_code == 200
    assert 'value="60"' in learner.page(LESSON)

    done = browser.submit(PATH, {}, action=f"{PATH}complete")
    assert done.status_code == 303
    page = learner.page(LESSON)  # with the flash message: rendered, not kept
    assert "is marked as complete" in page
    assert "You completed this lesson" in page
    again = learner.page(LESSON)
    assert "is marked as complete" not in again, "a flash message is shown once"
    assert "You completed this lesson" in again

    assert browser.submit(f"/courses/{COURSE}/reset", {}).status_code in (302, 303)
    page = learner.page(LESSON)
    assert "You completed this lesson" not in page
    assert "quiz-verdict" not in section_of(page, single.id)


def test_the_header_follows_the_reader(make_app: MakeApp) -> None:
    app = make_app()
    browser = Browser(app)
    assert "Create account" in browser.get(PATH).get_data(as_text=True)
    assert browser.register("reader@example.com", display_name="Ada").status_code == 303
    browser.get(PATH)  # the welcome message
    assert "Ada" in header(browser.get(PATH).get_data(as_text=True))
    renamed = browser.submit(
        "/account",
        {"profile-display_name": "Grace"},
        action="/account/profile",
        csrf_field="profile-csrf_token",
    )
    assert renamed.status_code == 303
    shown = header(browser.get(PATH).get_data(as_text=True))
    assert "Grace" in shown and "Ada" not in shown
    assert browser.logout().status_code in (302, 303)
    assert "Create account" in header(browser.get(PATH).get_data(as_text=True))


def header(page: str) -> str:
    match = re.search(r'<header class="site-header">.*?</header>', page, re.S)
    assert match
    return match.group(0)


def test_pages_are_right_with_no_room_to_keep_them(make_app: MakeApp) -> None:
    app: Flask = make_app(LESSON_SNAPSHOT_BYTES=1)  # no snapshot fits
    learner = Learner(app)
    spec = question(learner)
    first, second = learner.page(LESSON), learner.page(LESSON)
    assert normalized(first) == normalized(second)
    assert learner.post_json(LESSON, spec, correct_answer(spec)).status_code == 200
    assert "quiz-verdict" in section_of(learner.page(LESSON), spec.id)
    assert len(app.extensions["lesson_snapshots"]) == 0


def test_the_kept_pages_stay_within_their_budget(make_app: MakeApp) -> None:
    budget = 200_000
    app = make_app(LESSON_SNAPSHOT_BYTES=budget)
    learners = [Learner(app) for _ in range(8)]
    for learner in learners:
        for slug in ("what-is-flask", "what-micro-means", "wsgi"):
            assert learner.client.get(f"/courses/{COURSE}/{slug}/").status_code == 200
    store = app.extensions["lesson_snapshots"]
    assert 0 < len(store) < 24
    assert store.size <= budget


def test_a_kept_page_names_the_host_it_was_asked_on(make_app: MakeApp) -> None:
    client = make_app().test_client()
    for _ in range(2):
        for host in ("learn.example.org", "courses.example.net"):
            page = client.get(PATH, base_url=f"https://{host}").get_data(as_text=True)
            assert f'<link rel="canonical" href="https://{host}{PATH}">' in page
