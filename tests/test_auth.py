"""Accounts end to end: register, sign in and out, sessions, remember me, redirects.

One migrated app (a real SQLite file) and one set of accounts per module: scrypt is slow
on purpose. Tests that sign out or change a password use an account of their own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask import Flask
from flask_login.utils import encode_cookie
from sqlalchemy import inspect, text
from werkzeug.test import TestResponse

import app.accounts.passwords as passwords_module
from app.extensions import db
from app.models import User
from tests.account_client import (
    PASSWORD,
    Browser,
    add_user,
    csrf_tokens,
    get_user,
    migrated_app,
)

RAISED_LIMITS = {"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_RATE_LIMIT": "1000 per minute"}
# Accounts made once for the module; each test that changes an account's state has its own.
ACCOUNTS = (
    "login",
    "timing",
    "case",
    "fixation",
    "guest",
    "logout-get",
    "logout-csrf",
    "logout",
    "logout-replay",
    "logout-other",
    "change",
    "remember-flags",
    "remember-restore",
    "remember-logout",
    "remember-forged",
    "next",
    "signed-in",
    "header",
)
LOGIN_DASHBOARD = "/auth/login?next=%2Fdashboard"
XSS_NAME = '"><script>alert(1)</script>'


def email_of(name: str) -> str:
    return f"{name}@example.org"


def _build_app(instance: Path, **config: Any) -> Flask:
    return migrated_app(instance, **RAISED_LIMITS, **config)


@pytest.fixture(scope="module")
def auth_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = _build_app(tmp_path_factory.mktemp("auth") / "instance")
    for name in ACCOUNTS:
        add_user(app, email_of(name), display_name=f"User {name}")
    return app


@pytest.fixture
def browser(auth_app: Flask) -> Browser:
    return Browser(auth_app)


@pytest.fixture
def signed_in(auth_app: Flask) -> Callable[[str], Browser]:
    """A new browser signed in (password, not remember me) as the named account."""

    def sign_in(name: str) -> Browser:
        browser = Browser(auth_app)
        response = browser.login(email_of(name))
        assert response.status_code == 303, response.get_data(as_text=True)
        return browser

    return sign_in


def user_of(app: Flask, name: str) -> User:
    user = get_user(app, email_of(name))
    assert user is not None
    return user


def page(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def field_error(html: str, field_id: str) -> str:
    """The error message shown next to a field ('' when there is none)."""
    match = re.search(rf'<p class="form-error" id="{field_id}-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else ""


def form_field_names(html: str, action: str) -> set[str]:
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert match, f"no form posting to {action}"
    return set(re.findall(r'name="([^"]+)"', match.group(1)))


def site_header(html: str) -> str:
    match = re.search(r'<header class="site-header">.*?</header>', html, re.S)
    assert match
    return match.group(0)


def session_cookie(browser: Browser) -> str:
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def client_with_cookie(app: Flask, name: str, value: str) -> Browser:
    """A new browser whose only cookie is ``name``."""
    browser = Browser(app)
    browser.client.set_cookie(name, value)
    return browser


# ---------- registering ----------


def test_register_page_asks_only_for_email_name_and_password(browser: Browser) -> None:
    response = browser.get("/auth/register")
    assert response.status_code == 200
    fields = form_field_names(page(response), "/auth/register")
    assert fields == {"csrf_token", "email", "display_name", "password"}


def test_register_signs_in_a_learner_with_a_scrypt_hash(browser: Browser, auth_app: Flask) -> None:
    response = browser.register("new-learner@example.org", display_name="New Learner")
    assert response.status_code == 303
    assert response.location == "/dashboard"
    assert browser.signed_in()
    user = get_user(auth_app, "new-learner@example.org")
    assert user is not None
    assert user.role == "learner"
    assert user.display_name == "New Learner"
    assert user.password_hash.startswith("scrypt:")


def test_hashes_are_salted_and_the_password_is_not_stored(auth_app: Flask) -> None:
    secret = "plaintext marker 5f3a9c never stored"
    for email in ("salt-1@example.org", "salt-2@example.org"):
        assert Browser(auth_app).register(email, password=secret).status_code == 303
    first, second = (
        get_user(auth_app, "salt-1@example.org"),
        get_user(auth_app, "salt-2@example.org"),
    )
    assert first is not None and second is not None
    assert first.password_hash != second.password_hash
    stored = everything_stored(auth_app)
    assert first.password_hash.encode() in stored  # the right database is being searched
    assert secret.encode() not in stored


def everything_stored(app: Flask) -> bytes:
    """The SQLite file with its -wal/-journal, or every row of every table on PostgreSQL."""
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            instance = Path(app.instance_path)
            database_files = list(instance.glob("app.db*"))
            assert instance / "app.db" in database_files
            return b"".join(path.read_bytes() for path in database_files)
        rows = [
            connection.execute(text(f'SELECT CAST(t AS text) FROM "{name}" AS t')).scalars()  # noqa: S608 - names from the schema
            for name in inspect(connection).get_table_names()
        ]
        return "\n".join(row for table in rows for row in table).encode()


# ---------- the password policy, through the form ----------


@pytest.mark.parametrize(
    ("label", "password", "message"),
    [
        ("short", "a1b2c3d4e5f", "Use at least 12 characters (this one has 11)"),
        ("long", "x" * 129, "Use at most 128 characters (this one has 129)"),
        ("common-1", "password1234", "one of the most common ones"),
        ("common-2", "qwertyuiop12", "one of the most common ones"),
    ],
)
def test_register_refuses_a_weak_password(
    auth_app: Flask, label: str, password: str, message: str
) -> None:
    email = f"weak-{label}@example.org"
    response = Browser(auth_app).register(email, password=password)
    assert response.status_code == 400
    assert message in field_error(page(response), "password")
    assert get_user(auth_app, email) is None


@pytest.mark.parametrize(
    ("label", "display_name", "password"),
    [
        ("email", "Personal One", "personal-email@example.org"),
        ("name", "Grace Brewster Hopper", "grace brewster HOPPER"),
    ],
)
def test_register_refuses_the_email_or_name_as_password(
    auth_app: Flask, label: str, display_name: str, password: str
) -> None:
    email = f"personal-{label}@example.org"
    response = Browser(auth_app).register(email, password=password, display_name=display_name)
    assert response.status_code == 400
    assert "use your email address or your name" in field_error(page(response), "password")
    assert get_user(auth_app, email) is None


def test_a_passphrase_is_accepted(auth_app: Flask) -> None:
    response = Browser(auth_app).register("passphrase@example.org", password=PASSWORD)
    assert response.status_code == 303
    assert get_user(auth_app, "passphrase@example.org") is not None


def test_an_emoji_password_registers_and_signs_in(auth_app: Flask) -> None:
    emoji = "🦊🐍🚀🔒" * 16  # 64 characters, 256 bytes of UTF-8
    assert Browser(auth_app).register("emoji@example.org", password=emoji).status_code == 303
    second_device = Browser(auth_app)
    assert second_device.login("emoji@example.org", password=emoji).status_code == 303
    assert second_device.signed_in()


def test_a_long_password_is_not_truncated(auth_app: Flask) -> None:
    """bcrypt would ignore everything after byte 72; the whole password must count."""
    password = "".join(f"{n:02d}-words " for n in range(9))[:80]
    assert len(password) == 80
    assert Browser(auth_app).register("long-pw@example.org", password=password).status_code == 303
    browser = Browser(auth_app)
    assert browser.login("long-pw@example.org", password=password[:72]).status_code == 400
    assert not browser.signed_in()
    assert browser.login("long-pw@example.org", password=password).status_code == 303


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": ""}, "email", "Enter your email address."),
        ({"email": "not-an-email"}, "email", "That email address is not valid"),
        ({"display_name": ""}, "display_name", "Enter the name other people will see."),
        ({"display_name": "   "}, "display_name", "Enter the name other people will see."),
        ({"display_name": "n" * 81}, "display_name", "Use at most 80 characters."),
        ({"password": ""}, "password", "Choose a password."),
    ],
)
def test_invalid_register_forms_are_shown_again(
    auth_app: Flask, data: dict[str, str], field: str, message: str
) -> None:
    form = {"email": "invalid-form@example.org", "display_name": "Someone", "password": PASSWORD}
    form.update(data)
    response = Browser(auth_app).register(**form)
    assert response.status_code == 400
    assert message in field_error(page(response), field)
    assert get_user(auth_app, "invalid-form@example.org") is None


def test_register_with_a_taken_email_is_refused(auth_app: Flask) -> None:
    browser = Browser(auth_app)
    response = browser.register(email_of("login").upper(), display_name="Impostor")
    assert response.status_code == 400
    assert "already exists" in field_error(page(response), "email")
    assert not browser.signed_in()
    assert user_of(auth_app, "login").display_name == "User login"


def test_register_ignores_extra_fields(auth_app: Flask) -> None:
    """Mass assignment: only the form's fields reach the new account."""
    email = "mass-assign@example.org"
    response = Browser(auth_app).register(email, role="admin", is_admin="1", id="999")
    assert response.status_code == 303
    user = get_user(auth_app, email)
    assert user is not None
    assert user.role == "learner"
    assert user.id != 999


# ---------- signing in ----------


def test_login_with_the_right_password(browser: Browser) -> None:
    response = browser.login(email_of("login"))
    assert response.status_code == 303
    assert response.location == "/dashboard"
    assert browser.signed_in()


def test_login_email_is_case_insensitive(browser: Browser) -> None:
    response = browser.login(email_of("case").upper())
    assert response.status_code == 303
    assert browser.signed_in()


def _without_secrets(html: str, email: str) -> str:
    for token in csrf_tokens(html).values():
        html = html.replace(token, "TOKEN")
    return html.replace(email, "EMAIL")


def test_wrong_password_and_unknown_email_look_and_cost_the_same(
    auth_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_check = passwords_module.check_password_hash

    def counting_check(pwhash: str, password: str) -> bool:
        calls.append(pwhash)
        return real_check(pwhash, password)

    monkeypatch.setattr(passwords_module, "check_password_hash", counting_check)

    known, unknown = email_of("timing"), "nobody-here@example.org"
    wrong = Browser(auth_app).login(known, password="not the right password")
    assert len(calls) == 1
    missing = Browser(auth_app).login(unknown, password="not the right password")
    assert len(calls) == 2
    right = Browser(auth_app).login(known)
    assert len(calls) == 3
    assert right.status_code == 303

    assert wrong.status_code == missing.status_code == 400
    assert "don&#39;t match an account" in page(wrong)
    assert _without_secrets(page(wrong), known) == _without_secrets(page(missing), unknown)


# ---------- a fresh session at sign-in ----------


def test_login_starts_a_fresh_session(browser: Browser) -> None:
    with browser.client.session_transaction() as session:
        session["probe"] = 1
    assert browser.login(email_of("fixation")).status_code == 303
    with browser.client.session_transaction() as session:
        assert "probe" not in session
        assert "_user_id" in session


def test_login_retires_the_guest_id(browser: Browser) -> None:
    with browser.client.session_transaction() as session:
        session["guest_id"] = "guest-before-login"
    assert browser.login(email_of("guest")).status_code == 303
    with browser.client.session_transaction() as session:
        assert "guest_id" not in session
        assert session["_user_id"].startswith(f"{user_of(browser.app, 'guest').id}:")


# ---------- signing out ----------


def test_logout_by_get_is_refused(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("logout-get")
    assert browser.get("/auth/logout").status_code == 405
    assert browser.signed_in()


def test_logout_without_csrf_token_is_refused(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("logout-csrf")
    assert browser.client.post("/auth/logout").status_code == 400
    assert browser.signed_in()


def test_logout_signs_out(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("logout")
    response = browser.logout()
    assert response.status_code == 303
    assert not browser.signed_in()


def test_a_copied_session_cookie_stops_working_at_logout(
    auth_app: Flask, signed_in: Callable[[str], Browser]
) -> None:
    browser = signed_in("logout-replay")
    copied = session_cookie(browser)
    assert client_with_cookie(auth_app, "session", copied).signed_in()  # the copy works...
    assert browser.logout().status_code == 303
    response = client_with_cookie(auth_app, "session", copied).get("/dashboard")
    assert response.status_code == 302  # ...until the owner signs out
    assert response.location == LOGIN_DASHBOARD


def test_logout_ends_the_sessions_on_other_devices(signed_in: Callable[[str], Browser]) -> None:
    laptop, phone = signed_in("logout-other"), signed_in("logout-other")
    assert phone.signed_in()
    assert laptop.logout().status_code == 303
    assert not phone.signed_in()


# ---------- changing the password ----------


def test_password_change_ends_other_sessions(
    auth_app: Flask, signed_in: Callable[[str], Browser]
) -> None:
    a, b = signed_in("change"), signed_in("change")
    before_change = session_cookie(a)
    new_password = "a brand new passphrase 2024"
    response = a.submit(
        "/account",
        {"password-current_password": PASSWORD, "password-new_password": new_password},
        action="/account/password",
        csrf_field="password-csrf_token",
    )
    assert response.status_code == 303
    assert response.location == "/account"
    assert a.signed_in()
    after_b = b.get("/dashboard")
    assert after_b.status_code == 302 and after_b.location == LOGIN_DASHBOARD
    assert (
        client_with_cookie(auth_app, "session", before_change).get("/dashboard").status_code == 302
    )
    assert Browser(auth_app).login(email_of("change"), password=new_password).status_code == 303


# ---------- remember me ----------


def _remembered(auth_app: Flask, name: str) -> tuple[Browser, str]:
    """A browser signed in with "keep me signed in", and its remember cookie value."""
    browser = Browser(auth_app)
    assert browser.login(email_of(name), remember=True).status_code == 303
    cookie = browser.client.get_cookie("remember_token")
    assert cookie is not None
    return browser, cookie.value


def test_remember_cookie_is_httponly_and_lasts_at_most_30_days(auth_app: Flask) -> None:
    browser = Browser(auth_app)
    response = browser.login(email_of("remember-flags"), remember=True)
    assert response.status_code == 303
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert len(headers) == 1 and "HttpOnly" in headers[0]
    cookie = browser.client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only
    assert cookie.expires is not None
    assert cookie.expires <= datetime.now(UTC) + timedelta(days=30, minutes=1)
    assert auth_app.config["REMEMBER_COOKIE_DURATION"] <= timedelta(days=30)
    assert auth_app.config["PERMANENT_SESSION_LIFETIME"] <= timedelta(days=30)


def test_remember_cookie_restores_a_session_that_is_not_fresh(auth_app: Flask) -> None:
    _, remember = _remembered(auth_app, "remember-restore")
    password_hash = user_of(auth_app, "remember-restore").password_hash
    restored = client_with_cookie(auth_app, "remember_token", remember)
    assert restored.signed_in()

    settings = page(restored.get("/account"))
    assert "confirm your password" in settings
    assert "password-current_password" not in settings
    tokens = csrf_tokens(settings)
    assert "password-csrf_token" not in tokens
    response = restored.client.post(
        "/account/password",
        data={
            "password-csrf_token": tokens["profile-csrf_token"],  # one token per session
            "password-current_password": PASSWORD,
            "password-new_password": "a stolen cookie set this one",
        },
    )
    assert response.status_code == 302
    # url_for leaves "/" unescaped in the query (login_required's redirect escapes it)
    location = urlsplit(response.location)
    assert location.path == "/auth/login"
    assert parse_qs(location.query) == {"next": ["/account"]}
    assert user_of(auth_app, "remember-restore").password_hash == password_hash


def test_remember_cookie_stops_working_after_logout(auth_app: Flask) -> None:
    browser, remember = _remembered(auth_app, "remember-logout")
    assert browser.logout().status_code == 303
    response = client_with_cookie(auth_app, "remember_token", remember).get("/dashboard")
    assert response.status_code == 302
    assert response.location == LOGIN_DASHBOARD


def _remember_cookie(app: Flask, name: str, signed_in_at: int) -> str:
    user = user_of(app, name)
    with app.test_request_context():
        return encode_cookie(f"{user.id}:{user.session_token}:{signed_in_at}")


def test_remember_cookie_older_than_the_session_lifetime_is_refused(auth_app: Flask) -> None:
    now = int(time.time())
    recent = _remember_cookie(auth_app, "remember-forged", now - 60)
    assert client_with_cookie(auth_app, "remember_token", recent).signed_in()  # well formed
    old = _remember_cookie(auth_app, "remember-forged", now - 31 * 24 * 3600)
    response = client_with_cookie(auth_app, "remember_token", old).get("/dashboard")
    assert response.status_code == 302
    assert response.location == LOGIN_DASHBOARD


# ---------- production cookies ----------


@pytest.fixture
def production_app(tmp_path: Path) -> Iterator[Flask]:
    instance = tmp_path / "instance"
    instance.mkdir()  # production mode does not create it (a deployment mounts it)
    app = _build_app(instance, APP_ENV="production", SECRET_KEY="test-secret-" + "k" * 40)
    add_user(app, "prod@example.org")
    yield app


def test_production_cookies_are_secure_httponly_and_lax(production_app: Flask) -> None:
    browser = Browser(production_app)
    browser.client.environ_base["wsgi.url_scheme"] = "https"  # as behind the TLS proxy
    response = browser.login("prod@example.org", remember=True)
    assert response.status_code == 303
    set_cookies = response.headers.getlist("Set-Cookie")
    for name in ("session", "remember_token"):
        headers = [h for h in set_cookies if h.startswith(f"{name}=")]
        assert len(headers) == 1, set_cookies
        for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
            assert flag in headers[0], (name, flag, headers[0])


# ---------- where sign-in leads ----------

EVIL_NEXT = [
    "https://evil.com",
    "//evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "https:evil.com",
    "javascript:alert(1)",
    "%2F%2Fevil.com",
    "/%09/evil.com",
    "/%2F/evil.com",
]


@pytest.mark.parametrize("encoded", [False, True], ids=["as-typed", "url-encoded"])
@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_never_redirects_off_site(auth_app: Flask, target: str, encoded: bool) -> None:
    """As typed, the server decodes %-escapes once; url-encoded, it sees the string itself."""
    next_value = quote(target, safe="") if encoded else target
    response = Browser(auth_app).login(email_of("next"), next=next_value)
    assert response.status_code == 303
    assert "evil" not in response.location
    assert response.location == "/dashboard"


def test_login_follows_a_next_path_on_the_site(browser: Browser) -> None:
    response = browser.login(email_of("next"), next="/courses/flask-fundamentals/")
    assert response.status_code == 303
    assert response.location == "/courses/flask-fundamentals/"


@pytest.mark.parametrize(
    ("path", "login"),
    [("/dashboard", LOGIN_DASHBOARD), ("/account", "/auth/login?next=%2Faccount")],
)
def test_private_pages_send_visitors_to_sign_in(browser: Browser, path: str, login: str) -> None:
    response = browser.get(path)
    assert response.status_code == 302
    assert response.location == login


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register"])
def test_signed_in_visitors_skip_the_sign_in_pages(
    signed_in: Callable[[str], Browser], path: str
) -> None:
    response = signed_in("signed-in").get(path)
    assert response.status_code == 302
    assert response.location == "/dashboard"


# ---------- headers and the page header ----------


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/auth/forgot"])
def test_anonymous_account_pages_are_not_cached(browser: Browser, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_signed_in_account_pages_are_not_cached(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("header")
    for path in ("/dashboard", "/account", "/account/export"):
        response = browser.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


@pytest.mark.parametrize("path", ["/", "/courses/flask-fundamentals/", "/auth/login"])
def test_header_offers_sign_in_to_visitors(browser: Browser, path: str) -> None:
    header = site_header(page(browser.get(path)))
    assert ">Sign in</a>" in header
    assert ">Create account</a>" in header
    assert "/auth/logout" not in header


def test_header_shows_the_name_and_a_logout_form_when_signed_in(
    signed_in: Callable[[str], Browser],
) -> None:
    browser = signed_in("header")
    for path in ("/", "/courses/flask-fundamentals/", "/dashboard", "/account"):
        header = site_header(page(browser.get(path)))
        assert "User header" in header, path
        assert ">Sign in</a>" not in header and ">Create account</a>" not in header, path
        form = re.search(
            r'<form[^>]*method="post"[^>]*action="/auth/logout"[^>]*>(.*?)</form>', header, re.S
        )
        assert form, path
        assert 'name="csrf_token"' in form.group(1), path


def test_display_name_is_escaped(auth_app: Flask) -> None:
    browser = Browser(auth_app)
    response = browser.register("xss@example.org", display_name=XSS_NAME)
    assert response.status_code == 303
    escaped = "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in ("/dashboard", "/", "/account"):
        html = page(browser.get(path))
        assert "<script>alert(1)" not in html, path
        assert escaped in site_header(html), path
    assert f"Hello, {escaped}" in page(browser.get("/dashboard"))
