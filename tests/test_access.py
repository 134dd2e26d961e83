"""Signed-in answers belong to the signed-in account, whatever the request body says,
and a CSRF token works only in the session it was issued to."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app.accounts.users import find_user
from app.models import QuizAttempt
from tests.account_client import Browser, add_user, csrf_tokens, migrated_app
from tests.quiz_client import Learner, correct_answer, rows

LESSON, QUESTION = "what-is-flask", "string-view-response-defaults"


@pytest.fixture(scope="module")
def access_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = migrated_app(Path(tmp_path_factory.mktemp("access")))
    add_user(app, "ada@example.org")
    add_user(app, "bob@example.org")
    return app


def signed_in_learner(app: Flask, email: str) -> tuple[Learner, int]:
    browser = Browser(app)
    assert browser.login(email).status_code == 303
    learner = browser.learner()
    with app.app_context():
        user = find_user(email)
        assert user is not None
        return learner, user.id


def test_an_answer_naming_another_account_is_stored_under_the_sender(access_app: Flask) -> None:
    ada, ada_id = signed_in_learner(access_app, "ada@example.org")
    _, bob_id = signed_in_learner(access_app, "bob@example.org")
    spec = ada.lesson(LESSON).question(QUESTION)
    assert spec is not None
    bobs_before = [r.id for r in rows(access_app) if r.user_id == bob_id]

    form_post = ada.post_form(
        LESSON, spec, correct_answer(spec), user_id=str(bob_id), guest_id="f" * 32
    )
    json_post = ada.post_json(LESSON, spec, correct_answer(spec), user_id=bob_id)

    assert form_post.status_code == 303 and json_post.status_code == 200
    stored = [r for r in rows(access_app) if r.question_id == QUESTION]
    assert [r.user_id for r in stored[-2:]] == [ada_id, ada_id]
    assert all(r.guest_id is None for r in stored[-2:])
    assert [r.id for r in rows(access_app) if r.user_id == bob_id] == bobs_before


def test_a_csrf_token_from_another_session_is_refused(access_app: Flask) -> None:
    ada, _ = signed_in_learner(access_app, "ada@example.org")
    bob, _ = signed_in_learner(access_app, "bob@example.org")
    spec = ada.lesson(LESSON).question(QUESTION)
    assert spec is not None
    before = len(rows(access_app, QuizAttempt))
    bobs_token = bob.form(LESSON, QUESTION).csrf

    response = ada.post_form(LESSON, spec, correct_answer(spec), csrf_token=bobs_token)

    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert len(rows(access_app, QuizAttempt)) == before


def test_a_session_seen_from_another_browser_must_confirm_the_password(
    access_app: Flask,
) -> None:
    """Session protection "basic": still signed in, but no longer fresh."""
    browser = Browser(access_app)
    assert browser.login("ada@example.org").status_code == 303
    assert "Current password" in browser.get("/account").get_data(as_text=True)

    other_agent = {"User-Agent": "SomethingElse/1.0"}
    page = browser.get("/account", headers=other_agent)

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "confirm your password" in text and "Current password" not in text
    token = csrf_tokens(text)["profile-csrf_token"]
    change = browser.client.post(
        "/account/password",
        data={"password-csrf_token": token, "password-current_password": "x"},
        headers=other_agent,
    )
    assert change.status_code == 302
    assert change.location.startswith("/auth/login?next=")
