"""Account settings (display name, password, delete, export) and the dashboard, over HTTP
on a real app and SQLite file: one app per module, one account per test."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from app.accounts.passwords import password_matches
from app.extensions import db
from app.lessons.store import catalog
from app.models import HintReveal, QuizAttempt, QuizReveal, User
from app.quiz_types import QuizSpec
from tests.account_client import PASSWORD, Browser, add_user, get_user, migrated_app
from tests.quiz_client import Learner, correct_answer, rows, section_of, text_of, wrong_answer

COURSE = "flask-fundamentals"
LESSON = "what-is-flask"
SINGLE = "string-view-response-defaults"  # a single-choice question in what-is-flask
ORDER = "flask-request-to-response-order"  # an order question in what-is-flask
NEW_PASSWORD = "a brand new pass phrase 42"
ACTIVITY = (QuizAttempt, QuizReveal, HintReveal)


@pytest.fixture(scope="module")
def settings_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return migrated_app(
        tmp_path_factory.mktemp("account-settings"),
        LOGIN_RATE_LIMIT="1000 per minute",
        ACCOUNT_RATE_LIMIT="1000 per minute",
    )


@pytest.fixture(scope="module")
def bystander(settings_app: Flask) -> int:
    """Another account with an attempt, a reveal and a hint of its own; returns its id."""
    user_id = add_user(settings_app, "bystander@example.org", display_name="Bystander")
    browser = Browser(settings_app)
    assert browser.login("bystander@example.org").status_code == 303
    learner = browser.learner()
    spec = spec_of(learner, SINGLE)
    assert learner.post_json(LESSON, spec, wrong_answer(spec)).status_code == 200
    assert learner.action(LESSON, spec, "reveal", json=True).status_code == 200
    lesson, hinted = hinted_question(learner)
    assert learner.action(lesson, hinted, "hint", json=True, hint="1").status_code == 200
    assert all(own_rows(settings_app, model, user_id) for model in ACTIVITY)
    return user_id


# ---------- helpers ----------


def signed_in(app: Flask, email: str, display_name: str = "", remember: bool = False) -> Browser:
    """A new account, signed in (fresh) in its own browser."""
    add_user(app, email, display_name=display_name)
    browser = Browser(app)
    response = browser.login(email, remember=remember)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return browser


def spec_of(learner: Learner, question_id: str, lesson: str = LESSON) -> QuizSpec:
    spec = learner.lesson(lesson).question(question_id)
    assert spec is not None
    return spec


def hinted_question(learner: Learner) -> tuple[str, QuizSpec]:
    """The first question of the bundled course that has hints, with its lesson."""
    with learner.app.app_context():
        course = catalog().course(COURSE)
        assert course is not None
        found = [
            (lesson.slug, spec)
            for lesson in course.lessons
            for spec in lesson.questions
            if spec.hints_html
        ]
    assert found, "the bundled content has no question with hints"
    return found[0]


def own_rows(app: Flask, model: type, user_id: int) -> list[Any]:
    return [row for row in rows(app, model) if row.user_id == user_id]


def post_settings(browser: Browser, form: str, data: dict[str, Any]) -> TestResponse:
    """Submit one of the three forms of /account with that form's CSRF token."""
    prefixed = {f"{form}-{name}": value for name, value in data.items()}
    return browser.submit(
        "/account", prefixed, action=f"/account/{form}", csrf_field=f"{form}-csrf_token"
    )


def field_error(page: str, field_id: str) -> str | None:
    """The message shown next to a field (None when the field has no error)."""
    match = re.search(rf'<p class="form-error" id="{field_id}-error">(.*?)</p>', page, re.DOTALL)
    return text_of(match.group(1)).removeprefix("Error: ") if match else None


def header_name(page: str) -> str:
    match = re.search(r'<a class="site-nav-account"[^>]*>(.*?)</a>', page, re.DOTALL)
    assert match, "no account link in the header"
    return text_of(match.group(1)).removeprefix("Account settings for ").strip()


def login_target(response: TestResponse) -> str:
    """Where a redirect to the sign-in page sends the person back to afterwards."""
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login"
    (target,) = parse_qs(location.query)["next"]
    return target


def page_text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


# ---------- the settings page ----------


def test_settings_page_has_the_three_forms_and_the_export_link(settings_app: Flask) -> None:
    browser = signed_in(settings_app, "page@example.org", display_name="Page Reader")
    response = browser.get("/account")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    for action, fields in (
        ("profile", ["profile-csrf_token", "profile-display_name"]),
        ("password", ["password-csrf_token", "password-current_password", "password-new_password"]),
        ("delete", ["delete-csrf_token", "delete-confirm_email"]),
    ):
        form = re.search(rf'<form method="post" action="/account/{action}".*?</form>', page, re.S)
        assert form, f"no {action} form"
        for name in fields:
            assert f'name="{name}"' in form.group(0)
    assert 'value="Page Reader"' in page  # the display name field is filled in
    assert re.search(r'<a [^>]*href="/account/export"[^>]*download', page)
    assert "page@example.org" in page


def test_settings_page_needs_a_sign_in(settings_app: Flask) -> None:
    response = settings_app.test_client().get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=%2Faccount"
    assert response.headers["Cache-Control"] == "no-store"
    for path in ("/dashboard", "/account/export"):
        assert settings_app.test_client().get(path).status_code == 302
    anonymous = settings_app.test_client()
    assert anonymous.post("/account/profile").status_code == 400  # no CSRF token at all


# ---------- display name ----------


def test_a_valid_display_name_is_saved_and_shown(settings_app: Flask) -> None:
    browser = signed_in(settings_app, "rename@example.org", display_name="Old Name")
    response = post_settings(browser, "profile", {"display_name": "  Grace   Hopper "})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert get_user(settings_app, "rename@example.org").display_name == "Grace Hopper"
    settings = browser.get("/account")
    assert "Your display name is saved." in page_text(settings)
    assert header_name(settings.get_data(as_text=True)) == "Grace Hopper"
    dashboard = browser.get("/dashboard")
    assert dashboard.status_code == 200
    assert header_name(dashboard.get_data(as_text=True)) == "Grace Hopper"
    assert "Hello, Grace Hopper" in page_text(dashboard)
    assert "Old Name" not in page_text(dashboard)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter the name other people will see."),
        ("   ", "Enter the name other people will see."),
        ("n" * 81, "Use at most 80 characters."),
    ],
    ids=["empty", "spaces", "81-chars"],
)
def test_an_invalid_display_name_is_refused_next_to_the_field(
    settings_app: Flask, name: str, message: str
) -> None:
    email = f"badname-{len(name)}-{name[:1].strip() or 'x'}@example.org"
    browser = signed_in(settings_app, email, display_name="Kept Name")
    response = post_settings(browser, "profile", {"display_name": name})
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert field_error(page, "profile-display_name") == message
    assert 'aria-invalid="true"' in page
    # only the profile form shows an error
    assert field_error(page, "password-new_password") is None
    assert field_error(page, "delete-confirm_email") is None
    assert get_user(settings_app, email).display_name == "Kept Name"
    assert header_name(browser.get("/dashboard").get_data(as_text=True)) == "Kept Name"


def test_a_profile_post_without_csrf_token_is_refused(settings_app: Flask) -> None:
    browser = signed_in(settings_app, "nocsrf@example.org", display_name="Unchanged")
    response = browser.client.post("/account/profile", data={"profile-display_name": "Hacked"})
    assert response.status_code == 400
    assert "security token" in page_text(response)
    forged = browser.client.post(
        "/account/profile",
        data={"profile-display_name": "Hacked", "profile-csrf_token": "not-a-token"},
    )
    assert forged.status_code == 400
    assert get_user(settings_app, "nocsrf@example.org").display_name == "Unchanged"


def test_extra_fields_cannot_change_role_or_email(settings_app: Flask) -> None:
    browser = signed_in(settings_app, "sneaky@example.org", display_name="Sneaky")
    extra = {
        "role": "admin",
        "email": "other@example.org",
        "profile-role": "admin",
        "profile-email": "other@example.org",
    }
    response = browser.submit(
        "/account",
        {"profile-display_name": "Still Sneaky", **extra},
        action="/account/profile",
        csrf_field="profile-csrf_token",
    )
    assert response.status_code == 303
    user = get_user(settings_app, "sneaky@example.org")
    assert user is not None
    assert (user.display_name, user.role, user.email) == (
        "Still Sneaky",
        "learner",
        "sneaky@example.org",
    )
    assert get_user(settings_app, "other@example.org") is None


# ---------- password ----------


def test_password_change_needs_the_current_password(settings_app: Flask) -> None:
    email = "nocurrent@example.org"
    browser = signed_in(settings_app, email)
    before = get_user(settings_app, email)
    response = post_settings(browser, "password", {"current_password": "", "new_password": "x"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "password-current_password") == "Enter your current password."
    after = get_user(settings_app, email)
    assert after.password_hash == before.password_hash
    assert after.failed_logins == 0


def test_a_wrong_current_password_is_refused_and_counted(settings_app: Flask) -> None:
    email = "wrongcurrent@example.org"
    browser = signed_in(settings_app, email)
    before = get_user(settings_app, email)
    assert before.failed_logins == 0
    response = post_settings(
        browser,
        "password",
        {"current_password": "not my password at all", "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "password-current_password") == "That isn't your current password."
    assert "isn't your current password" in page_text(response)
    after = get_user(settings_app, email)
    assert after.failed_logins == 1
    assert after.failed_logins_since is not None
    assert after.password_hash == before.password_hash
    assert after.session_token == before.session_token
    assert browser.signed_in()  # a typo does not sign the person out


def test_a_weak_new_password_is_refused(settings_app: Flask) -> None:
    email = "weaknew@example.org"
    browser = signed_in(settings_app, email, display_name="Weak Choice")
    before = get_user(settings_app, email)
    for weak, message in (
        ("short", "Use at least 12 characters (this one has 5)."),
        ("password1234", "most common"),
        (email, "Don't use your email address or your name"),
    ):
        response = post_settings(
            browser, "password", {"current_password": PASSWORD, "new_password": weak}
        )
        assert response.status_code == 400, weak
        error = field_error(response.get_data(as_text=True), "password-new_password")
        assert error is not None and message in error, (weak, error)
    after = get_user(settings_app, email)
    assert after.password_hash == before.password_hash
    assert after.password_changed_at == before.password_changed_at
    assert after.failed_logins == 0  # the right current password is not a failure


def test_a_password_change_replaces_the_password(settings_app: Flask) -> None:
    email = "changer@example.org"
    browser = signed_in(settings_app, email)
    elsewhere = Browser(settings_app)
    assert elsewhere.login(email).status_code == 303
    before = get_user(settings_app, email)
    response = post_settings(
        browser, "password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    after = get_user(settings_app, email)
    assert password_matches(after.password_hash, NEW_PASSWORD)
    assert not password_matches(after.password_hash, PASSWORD)
    assert after.password_changed_at > before.password_changed_at
    assert after.session_token != before.session_token
    assert "Your password is changed." in page_text(browser.get("/account"))
    assert browser.signed_in()  # this browser stays signed in...
    assert not elsewhere.signed_in()  # ...every other session is signed out

    browser.logout()
    old = Browser(settings_app).login(email, PASSWORD)
    assert old.status_code == 400
    assert "don't match an account" in page_text(old)
    fresh = Browser(settings_app)
    assert fresh.login(email, NEW_PASSWORD).status_code == 303
    assert fresh.signed_in()


# ---------- deleting the account ----------


def test_deleting_needs_the_account_email(settings_app: Flask) -> None:
    email = "keepme@example.org"
    browser = signed_in(settings_app, email)
    for typed in ("someone-else@example.org", "not an email", ""):
        response = post_settings(browser, "delete", {"confirm_email": typed})
        assert response.status_code == 400, typed
        error = field_error(response.get_data(as_text=True), "delete-confirm_email")
        assert error in (
            "That isn't the email address of this account.",
            "Type your email address to confirm.",
        ), (typed, error)
    assert get_user(settings_app, email) is not None
    assert browser.signed_in()


def test_deleting_removes_the_account_and_all_its_rows(settings_app: Flask, bystander: int) -> None:
    email = "leaving@example.org"
    browser = signed_in(settings_app, email, display_name="Leaving")
    user_id = get_user(settings_app, email).id
    learner = browser.learner()
    spec = spec_of(learner, SINGLE)
    assert learner.post_form(LESSON, spec, wrong_answer(spec)).status_code == 303
    assert learner.action(LESSON, spec, "reveal").status_code == 303
    assert learner.post_form(LESSON, spec, correct_answer(spec)).status_code == 303
    order = spec_of(learner, ORDER)
    assert learner.post_json(LESSON, order, correct_answer(order)).status_code == 200
    lesson, hinted = hinted_question(learner)
    assert learner.action(lesson, hinted, "hint", hint="1").status_code == 303
    mine = {model: own_rows(settings_app, model, user_id) for model in ACTIVITY}
    assert [len(found) for found in mine.values()] == [3, 1, 1]
    theirs = {model: own_rows(settings_app, model, bystander) for model in ACTIVITY}
    guests_before = {
        model: [row.id for row in rows(settings_app, model) if row.user_id is None]
        for model in ACTIVITY
    }
    copied_session = browser.client.get_cookie("session").value

    response = post_settings(browser, "delete", {"confirm_email": "  LEAVING@Example.ORG "})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "Your account and all its data are deleted." in page_text(browser.get("/"))
    assert not browser.signed_in()
    assert get_user(settings_app, email) is None
    for model in ACTIVITY:
        assert own_rows(settings_app, model, user_id) == [], model.__tablename__
        assert [row.id for row in own_rows(settings_app, model, bystander)] == [
            row.id for row in theirs[model]
        ]
        guests = [row.id for row in rows(settings_app, model) if row.user_id is None]
        assert guests == guests_before[model]
    with settings_app.app_context():
        assert db.session.get(User, user_id) is None

    replayed = settings_app.test_client()
    replayed.set_cookie("session", copied_session)
    response = replayed.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert "Leaving" not in replayed.get("/").get_data(as_text=True)


def test_a_session_restored_from_the_remember_cookie_cannot_delete(settings_app: Flask) -> None:
    email = "remembered@example.org"
    browser = signed_in(settings_app, email, remember=True)
    assert browser.client.get_cookie("remember_token") is not None
    browser.client.delete_cookie("session")  # the browser was closed; only "remember me" is left
    page = browser.get("/account")
    assert page.status_code == 200  # signed in again from the remember cookie...
    text = page_text(page)
    assert "confirm your password" in text  # ...but not fresh
    assert 'name="delete-confirm_email"' not in text
    assert 'name="password-new_password"' not in text
    token = browser.token("/account", "profile-csrf_token")  # one token per session

    response = browser.client.post(
        "/account/delete", data={"delete-csrf_token": token, "delete-confirm_email": email}
    )
    assert login_target(response) == "/account"
    changed = browser.client.post(
        "/account/password",
        data={
            "password-csrf_token": token,
            "password-current_password": PASSWORD,
            "password-new_password": NEW_PASSWORD,
        },
    )
    assert login_target(changed) == "/account"
    user = get_user(settings_app, email)
    assert user is not None and password_matches(user.password_hash, PASSWORD)
    assert browser.signed_in()


# ---------- export ----------


def test_export_is_a_json_download_of_the_accounts_data(
    settings_app: Flask, bystander: int
) -> None:
    email = "exporter@example.org"
    browser = signed_in(settings_app, email, display_name="Ex Porter")
    learner = browser.learner()
    spec = spec_of(learner, SINGLE)
    order = spec_of(learner, ORDER)
    sent = [
        (SINGLE, wrong_answer(spec), False, 1),
        (SINGLE, correct_answer(spec), True, 2),
        (ORDER, correct_answer(order), True, 1),
    ]
    for question_id, answer, _, _ in sent:
        question = spec if question_id == SINGLE else order
        assert learner.post_json(LESSON, question, answer).status_code == 200
    guest = Learner(settings_app)  # a guest answering too: never part of the export
    assert guest.post_json(LESSON, spec, correct_answer(spec)).status_code == 200

    response = browser.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    filename = re.fullmatch(r'attachment; filename="(learn-flask-data-[\d-]+\.json)"', disposition)
    assert filename, disposition
    day = filename.group(1).removeprefix("learn-flask-data-").removesuffix(".json")
    assert datetime.strptime(day, "%Y-%m-%d")  # a date
    text = response.get_data(as_text=True)
    data = json.loads(text)
    user = get_user(settings_app, email)
    assert data["format"] == "learn-flask-account-export/1"
    account = data["account"]
    assert (account["email"], account["display_name"], account["role"]) == (
        email,
        "Ex Porter",
        "learner",
    )
    created = datetime.fromisoformat(account["created_at"])
    stored = user.created_at if user.created_at.tzinfo else user.created_at.replace(tzinfo=UTC)
    assert created == stored
    for secret in ("password_hash", "session_token", "failed_logins"):
        assert secret not in text
    assert user.password_hash not in text and user.session_token not in text

    exported = [
        (row["question_id"], row["answer"], row["correct"], row["attempt_number"])
        for row in data["quiz_attempt"]
    ]
    assert exported == [(q, answer, correct, n) for q, answer, correct, n in sent]
    stored_ids = [row.submission_id for row in own_rows(settings_app, QuizAttempt, user.id)]
    assert [row["submission_id"] for row in data["quiz_attempt"]] == stored_ids
    others = {
        row.submission_id for row in rows(settings_app, QuizAttempt) if row.user_id != user.id
    }
    assert others and not others & {row["submission_id"] for row in data["quiz_attempt"]}
    assert data["quiz_reveal"] == [] and data["hint_reveal"] == []
    for table in ("quiz_attempt", "quiz_reveal", "hint_reveal"):
        for row in data[table]:
            assert "user_id" not in row and "guest_id" not in row
    assert bystander  # the bystander's rows exist and were left out


# ---------- dashboard ----------


def test_dashboard_of_a_new_account_is_an_empty_state(settings_app: Flask) -> None:
    browser = signed_in(settings_app, "newcomer@example.org", display_name="New Comer")
    response = browser.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Hello, New Comer" in page_text(response)
    empty = re.search(r'<div class="empty-state">.*?</div>', page, re.DOTALL)
    assert empty, "no empty state"
    assert "haven't started a course yet" in html.unescape(empty.group(0))
    assert re.search(r'<a [^>]*href="/"[^>]*>Browse the courses</a>', empty.group(0))
    assert "Continue:" not in page


def test_dashboard_lists_the_course_with_the_last_lesson(settings_app: Flask) -> None:
    browser = signed_in(settings_app, "continuer@example.org", display_name="Continuer")
    learner = browser.learner()
    lesson = learner.lesson("what-micro-means")
    spec = lesson.questions[0]
    assert learner.post_form(lesson.slug, spec, correct_answer(spec)).status_code == 303
    assert "Correct!" in text_of(section_of(learner.page(lesson.slug), spec.id))

    response = browser.get("/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'class="empty-state"' not in page
    with settings_app.app_context():
        course = catalog().course(COURSE)
        assert course is not None
        course_title, total = course.title, len(course.lessons)
    assert course_title in page_text(response)
    assert f"Lessons done 0 of {total}" in text_of(page)
    link = re.search(
        rf'<a [^>]*href="/courses/{COURSE}/{lesson.slug}/"[^>]*aria-label="([^"]*)"', page
    )
    assert link, "no link to the lesson"
    assert html.unescape(link.group(1)) == f"Continue where you left off: {lesson.title}"
