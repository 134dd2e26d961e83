"""Sign-in throttles: the per-account lock kept in the database (shared by every worker)
and the per-address limits of Flask-Limiter on the account forms."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from tests.account_client import PASSWORD, Browser, add_user, csrf_tokens, get_user, migrated_app
from tests.test_quiz_gunicorn import Browser as HttpBrowser
from tests.test_quiz_gunicorn import gunicorn

WRONG = "not the right password at all"
BAD_CREDENTIALS = "match an account"  # from "That email and password don't match an account."
HEADING_429 = "Slow down a little"  # the 429 heading of errors/error.html
ACCOUNT_LIMIT = 5


def browser_at(app: Flask, address: str) -> Browser:
    """A browser whose requests come from ``address``."""
    browser = Browser(app)
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser


def assert_friendly_429(response: TestResponse) -> int:
    """The HTML 429 page with a positive Retry-After; returns the Retry-After seconds."""
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Error 429" in page
    assert HEADING_429 in page
    retry_after = int(response.headers["Retry-After"])
    assert retry_after > 0
    return retry_after


# ---------- defaults ----------


def test_throttle_defaults(app: Flask) -> None:
    assert app.config["LOGIN_FAILURE_LIMIT"] == 100
    assert app.config["LOGIN_FAILURE_WINDOW"] == timedelta(hours=1)
    assert app.config["LOGIN_RATE_LIMIT"] == "30 per minute"
    assert app.config["ACCOUNT_RATE_LIMIT"] == "10 per minute"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


# ---------- the per-account throttle ----------


@pytest.fixture(scope="module")
def locking_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Five failures lock an account; the per-address limits are out of the way."""
    return migrated_app(
        tmp_path_factory.mktemp("locking"),
        LOGIN_FAILURE_LIMIT=ACCOUNT_LIMIT,
        LOGIN_RATE_LIMIT="1000 per minute",
        ACCOUNT_RATE_LIMIT="1000 per minute",
    )


def test_failed_sign_ins_lock_the_account(locking_app: Flask) -> None:
    email, bystander = "locked@example.com", "bystander@example.com"
    add_user(locking_app, email)
    add_user(locking_app, bystander)
    browser = Browser(locking_app)

    for attempt in range(1, ACCOUNT_LIMIT + 1):
        response = browser.login(email, WRONG)
        assert response.status_code == 400, f"attempt {attempt}"
        assert BAD_CREDENTIALS in response.get_data(as_text=True)
        assert get_user(locking_app, email).failed_logins == attempt

    # Past the limit, even the right password is refused, in this browser or another.
    for client, password in (
        (browser, WRONG),
        (browser, PASSWORD),
        (Browser(locking_app), PASSWORD),
    ):
        retry_after = assert_friendly_429(client.login(email, password))
        assert retry_after <= 3600  # at most the one-hour window
        assert not client.signed_in()
    user = get_user(locking_app, email)
    assert user.failed_logins == ACCOUNT_LIMIT  # refused attempts are not counted again
    assert user.failed_logins_since is not None

    other = Browser(locking_app)
    assert other.login(bystander).status_code == 303
    assert other.signed_in()
    assert get_user(locking_app, bystander).failed_logins == 0


def test_locked_page_explains_the_pause(locking_app: Flask) -> None:
    """The 429 page says that sign-ins to the account are paused, and for how long.

    The generic "Wait a moment" alone would send the learner back for an hour of 429s.
    """
    email = "paused@example.com"
    add_user(locking_app, email)
    browser = Browser(locking_app)
    for _ in range(ACCOUNT_LIMIT):
        assert browser.login(email, WRONG).status_code == 400
    response = browser.login(email, PASSWORD)
    assert_friendly_429(response)
    page = response.get_data(as_text=True)
    assert "paused for about 60 minutes" in page
    assert "you can reset it now" in page
    assert 'href="/auth/forgot"' in page


def test_unknown_email_is_never_locked(locking_app: Flask) -> None:
    browser = Browser(locking_app)
    for attempt in range(ACCOUNT_LIMIT + 3):
        response = browser.login("nobody-here@example.com", WRONG)
        assert response.status_code == 400, f"attempt {attempt}"
        assert BAD_CREDENTIALS in response.get_data(as_text=True)
    assert get_user(locking_app, "nobody-here@example.com") is None


def test_lock_ends_when_the_window_has_passed(tmp_path: Path) -> None:
    # A limit of 1 leaves no room for slow scrypt checks to outlast the two-second window
    # before the lock is tested.
    app = migrated_app(
        tmp_path / "window",
        LOGIN_FAILURE_LIMIT=1,
        LOGIN_FAILURE_WINDOW=timedelta(seconds=2),
        LOGIN_RATE_LIMIT="1000 per minute",
    )
    email = "window@example.com"
    add_user(app, email)
    browser = Browser(app)
    assert browser.login(email, WRONG).status_code == 400
    assert get_user(app, email).failed_logins == 1
    assert_friendly_429(browser.login(email, PASSWORD))

    time.sleep(2.2)
    response = browser.login(email, PASSWORD)
    assert response.status_code == 303
    assert browser.signed_in()
    user = get_user(app, email)
    assert user.failed_logins == 0
    assert user.failed_logins_since is None


# ---------- across gunicorn workers ----------


@pytest.mark.slow
def test_account_lock_holds_across_gunicorn_workers(tmp_path: Path) -> None:
    instance = tmp_path / "served"
    email = "workers@example.com"
    app = migrated_app(instance)  # the database and secret key the server will use
    add_user(app, email)

    with gunicorn(
        instance,
        tmp_path / "gunicorn.log",
        FLASK_LOGIN_FAILURE_LIMIT=str(ACCOUNT_LIMIT),
        FLASK_LOGIN_RATE_LIMIT="1000 per minute",
    ) as port:
        browser = HttpBrowser(port)  # a cookie jar; every request on a fresh connection

        def sign_in(password: str) -> tuple[int, dict[str, str], str]:
            page = browser.request("/auth/login")
            assert page.status == 200
            token = csrf_tokens(page.body)["csrf_token"]
            form = [("csrf_token", token), ("email", email), ("password", password)]
            response = browser.request("/auth/login", form)
            return response.status, response.headers, response.body

        statuses = []
        for _ in range(ACCOUNT_LIMIT + 3):
            status, headers, body = sign_in(WRONG)
            statuses.append(status)
            if status == 429:
                assert int(headers["Retry-After"]) > 0
                assert HEADING_429 in body
        assert statuses == [400] * ACCOUNT_LIMIT + [429] * 3

        status, headers, body = sign_in(PASSWORD)
        assert status == 429
        assert int(headers["Retry-After"]) > 0
        assert HEADING_429 in body

    assert get_user(app, email).failed_logins == ACCOUNT_LIMIT


# ---------- per-address limits (Flask-Limiter) ----------


@pytest.fixture(scope="module")
def limited_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Low per-address limits; each test sends from its own address."""
    app = migrated_app(
        tmp_path_factory.mktemp("limited"),
        LOGIN_RATE_LIMIT="3 per minute",
        ACCOUNT_RATE_LIMIT="2 per minute",
    )
    add_user(app, "limited@example.com")
    return app


def test_login_posts_are_limited_per_address(limited_app: Flask) -> None:
    email = "limited@example.com"
    browser = browser_at(limited_app, "10.0.0.1")
    for attempt in range(3):
        response = browser.login(email, WRONG)
        assert response.status_code == 400, f"attempt {attempt}"
        assert BAD_CREDENTIALS in response.get_data(as_text=True)

    response = browser.login(email, PASSWORD)  # the right password does not get through
    retry_after = assert_friendly_429(response)
    assert "Too many attempts from your network" in response.get_data(as_text=True)
    assert retry_after <= 60
    assert not browser.signed_in()
    for _ in range(5):  # showing the form is not limited
        assert browser.get("/auth/login").status_code == 200

    elsewhere = browser_at(limited_app, "10.0.0.2")
    assert elsewhere.login(email).status_code == 303
    assert elsewhere.signed_in()


def test_limit_headers_come_with_limited_posts_only(limited_app: Flask) -> None:
    """The limiter runs on the account forms' POSTs and on no other request."""
    browser = browser_at(limited_app, "10.0.0.9")
    response = browser.login("limited@example.com", WRONG)
    assert response.status_code == 400
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "2"
    for path in ("/auth/login", "/", "/courses/flask-fundamentals/what-is-flask/"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert "X-RateLimit-Limit" not in page.headers, path
    assert browser.login("limited@example.com", WRONG).headers["X-RateLimit-Remaining"] == "1"


def test_register_posts_are_limited_per_address(limited_app: Flask) -> None:
    browser = browser_at(limited_app, "10.0.1.1")
    for _ in range(2):
        response = browser.register("register-limit@example.com", "short")
        assert response.status_code == 400
        assert "Use at least 12 characters" in response.get_data(as_text=True)
    assert_friendly_429(browser.register("register-limit@example.com"))
    assert get_user(limited_app, "register-limit@example.com") is None
    assert browser.get("/auth/register").status_code == 200


def test_forgot_and_reset_posts_are_limited_per_address(limited_app: Flask) -> None:
    browser = browser_at(limited_app, "10.0.2.1")
    for _ in range(2):
        response = browser.submit("/auth/forgot", {"email": "someone@example.com"})
        assert response.status_code == 200
    assert_friendly_429(browser.submit("/auth/forgot", {"email": "someone@example.com"}))
    assert browser.get("/auth/forgot").status_code == 200

    # The reset form has the same limit (an invalid link is enough to count).
    for _ in range(2):
        response = browser.submit("/auth/forgot", {"password": "x" * 20}, action="/auth/reset/x")
        assert response.status_code == 400
    response = browser.submit("/auth/forgot", {"password": "x" * 20}, action="/auth/reset/x")
    assert_friendly_429(response)


def test_json_clients_get_a_json_429(limited_app: Flask) -> None:
    browser = browser_at(limited_app, "10.0.3.1")
    for _ in range(3):
        assert browser.login("limited@example.com", WRONG).status_code == 400
    response = browser.submit(
        "/auth/login",
        {"email": "limited@example.com", "password": WRONG},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 429
    assert response.is_json
    body = response.get_json()
    assert body["status"] == 429
    assert body["error"] == "Too Many Requests"
    assert "Too many attempts from your network" in body["message"]
    assert int(response.headers["Retry-After"]) > 0


def test_each_app_has_its_own_limiter_storage(tmp_path: Path) -> None:
    first = migrated_app(tmp_path / "first", LOGIN_RATE_LIMIT="2 per minute")
    second = migrated_app(tmp_path / "second", LOGIN_RATE_LIMIT="2 per minute")

    def sign_in_empty(browser: Browser) -> int:
        """A sign-in without a password: refused by the form, but counted by the limiter."""
        return browser.login("someone@example.com", "").status_code

    one = Browser(first)
    assert [sign_in_empty(one) for _ in range(2)] == [400, 400]
    assert_friendly_429(one.login("someone@example.com", ""))

    two = Browser(second)  # same address, other app: its own count
    assert [sign_in_empty(two) for _ in range(2)] == [400, 400]
    assert_friendly_429(two.login("someone@example.com", ""))
    assert sign_in_empty(one) == 429
