"""Recovering access: reset links from the CLI and by mail (console and a real SMTP
server), the reset form, expiry and one-time use."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from app.config import ConfigError
from tests.account_client import PASSWORD, Browser, add_user, csrf_tokens, get_user, migrated_app
from tests.conftest import MakeApp
from tests.test_quiz_gunicorn import free_port

NEW_PASSWORD = "a brand new passphrase for me"
WRONG = "not the right password at all"
LINK_RE = re.compile(r"(https?://[^/\s]+)(/auth/reset/[\w.-]+)")
NO_LONGER_WORKS = "This reset link no longer works"
SENT_TEXT = "belongs to an account"  # "If <email> belongs to an account, we've sent it a link"
MAIL_LOGGER = "app.accounts.mail"
DELIVERY_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def reset_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The default configuration: console mail, 30-minute links."""
    return migrated_app(tmp_path_factory.mktemp("reset"))


def sibling_app(app: Flask, **config: Any) -> Flask:
    """Another app on the same database and secret key, with other settings."""
    return migrated_app(Path(app.instance_path), **config)


def cli_link(app: Flask, address: str) -> tuple[str, str]:
    """``flask users reset-link``: the link's origin and path."""
    result = app.test_cli_runner().invoke(args=["users", "reset-link", address])
    assert result.exit_code == 0, result.output
    match = LINK_RE.search(result.output)
    assert match, result.output
    return match.group(1), match.group(2)


def parsed_mail(raw: str | bytes) -> EmailMessage:
    if isinstance(raw, bytes):
        return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]
    return email.message_from_string(raw, policy=email.policy.default)  # type: ignore[return-value]


def console_mails(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The raw text of every message the console backend logged."""
    prefix = "mail (console backend, not sent)\n"
    return [
        record.getMessage().removeprefix(prefix)
        for record in caplog.records
        if record.name == MAIL_LOGGER and record.getMessage().startswith(prefix)
    ]


def reset_with(app: Flask, path: str, password: str = NEW_PASSWORD) -> Browser:
    """Open the reset link and save ``password``; returns the browser, now signed in."""
    browser = Browser(app)
    response = browser.submit(path, {"password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/dashboard"
    assert browser.signed_in()
    return browser


# ---------- links from the CLI, and the reset form ----------


def test_cli_reset_link_changes_the_password(reset_app: Flask) -> None:
    address = "cli-reset@example.com"
    add_user(reset_app, address)
    earlier = Browser(reset_app)  # a session that must end with the reset
    assert earlier.login(address).status_code == 303
    assert Browser(reset_app).login(address, WRONG).status_code == 400
    assert get_user(reset_app, address).failed_logins == 1

    origin, path = cli_link(reset_app, address)
    assert origin == "http://127.0.0.1:5000"

    browser = Browser(reset_app)
    page = browser.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Choose a new password" in html
    assert 'name="password"' in html and 'type="password"' in html
    assert address in html
    assert page.headers["Cache-Control"] == "no-store"

    response = browser.submit(path, {"password": NEW_PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard"
    assert browser.signed_in()

    assert not earlier.signed_in()
    assert get_user(reset_app, address).failed_logins == 0
    assert Browser(reset_app).login(address, PASSWORD).status_code == 400
    assert Browser(reset_app).login(address, NEW_PASSWORD).status_code == 303

    again = Browser(reset_app).get(path)
    assert again.status_code == 400
    assert NO_LONGER_WORKS in again.get_data(as_text=True)
    reused = Browser(reset_app).submit("/auth/forgot", {"password": WRONG * 2}, action=path)
    assert reused.status_code == 400
    assert Browser(reset_app).login(address, NEW_PASSWORD).status_code == 303


def test_reset_page_sends_no_referrer(reset_app: Flask) -> None:
    """The link is a secret: the page must not leak it to other sites as a Referer."""
    address = "referrer@example.com"
    add_user(reset_app, address)
    _, path = cli_link(reset_app, address)
    for response in (Browser(reset_app).get(path), Browser(reset_app).get("/auth/reset/bogus")):
        assert response.status_code in (200, 400)
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_cli_reset_link_on_site_url_and_unknown_email(reset_app: Flask) -> None:
    address = "site-url@example.com"
    add_user(reset_app, address)
    public = sibling_app(reset_app, SITE_URL="https://learn.example.org")
    origin, path = cli_link(public, address)
    assert origin == "https://learn.example.org"
    assert Browser(reset_app).get(path).status_code == 200

    result = reset_app.test_cli_runner().invoke(args=["users", "reset-link", "ghost@example.com"])
    assert result.exit_code != 0
    assert "No account with the email address" in result.output
    assert "/auth/reset/" not in result.output


def test_mailed_link_uses_site_url(reset_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    address = "mail-site-url@example.com"
    add_user(reset_app, address)
    public = sibling_app(reset_app, SITE_URL="https://learn.example.org/")
    with caplog.at_level(logging.INFO, logger=MAIL_LOGGER):
        assert Browser(public).submit("/auth/forgot", {"email": address}).status_code == 200
    (raw,) = console_mails(caplog)
    match = LINK_RE.search(parsed_mail(raw).get_content())
    assert match
    assert match.group(1) == "https://learn.example.org"  # never the request's Host
    assert Browser(reset_app).get(match.group(2)).status_code == 200


# ---------- links that do not work, passwords that are refused ----------


def test_expired_link_is_refused(reset_app: Flask) -> None:
    address = "expiry@example.com"
    add_user(reset_app, address)
    short = sibling_app(reset_app, PASSWORD_RESET_MAX_AGE=timedelta(seconds=1))
    _, path = cli_link(reset_app, address)
    assert Browser(short).get(path).status_code == 200
    before = get_user(reset_app, address).password_hash

    time.sleep(2.1)  # itsdangerous counts whole seconds
    expired = Browser(short).get(path)
    assert expired.status_code == 400
    assert NO_LONGER_WORKS in expired.get_data(as_text=True)
    posted = Browser(short).submit("/auth/forgot", {"password": NEW_PASSWORD}, action=path)
    assert posted.status_code == 400
    assert NO_LONGER_WORKS in posted.get_data(as_text=True)
    assert get_user(reset_app, address).password_hash == before
    # The same link is still within the default 30 minutes.
    assert Browser(reset_app).get(path).status_code == 200


def test_tampered_and_foreign_tokens_are_refused(reset_app: Flask) -> None:
    address = "tampered@example.com"
    user_id = add_user(reset_app, address)
    _, path = cli_link(reset_app, address)
    token = path.rsplit("/", 1)[1]
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    forged = URLSafeTimedSerializer("some other key", salt="password-reset").dumps([user_id, "x"])
    for bad in (flipped, forged, "not-a-token", token + "x"):
        response = Browser(reset_app).get(f"/auth/reset/{bad}")
        assert response.status_code == 400, bad
        assert NO_LONGER_WORKS in response.get_data(as_text=True)
    assert Browser(reset_app).get(path).status_code == 200


def test_weak_new_password_is_refused(reset_app: Flask) -> None:
    address = "weak-reset@example.com"
    add_user(reset_app, address)
    before = get_user(reset_app, address).password_hash
    _, path = cli_link(reset_app, address)

    browser = Browser(reset_app)
    response = browser.submit(path, {"password": "short"})
    assert response.status_code == 400
    assert "Use at least 12 characters (this one has 5)." in response.get_data(as_text=True)
    assert not browser.signed_in()
    assert get_user(reset_app, address).password_hash == before
    assert Browser(reset_app).login(address, PASSWORD).status_code == 303
    assert Browser(reset_app).get(path).status_code == 200  # the link still works


# ---------- the forgot-password page (console backend) ----------


def normalised_page(html: str, address: str) -> str:
    for value in csrf_tokens(html).values():
        html = html.replace(value, "CSRF")
    return html.replace(address, "EMAIL")


def test_forgot_page_says_the_same_for_any_address(
    reset_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    known, unknown = "forgot-known@example.com", "forgot-unknown@example.com"
    add_user(reset_app, known)
    form = Browser(reset_app).get("/auth/forgot")
    assert form.status_code == 200
    assert 'name="email"' in form.get_data(as_text=True)

    with caplog.at_level(logging.INFO, logger=MAIL_LOGGER):
        for_known = Browser(reset_app).submit("/auth/forgot", {"email": known})
        assert len(console_mails(caplog)) == 1
        for_unknown = Browser(reset_app).submit("/auth/forgot", {"email": unknown})
        assert len(console_mails(caplog)) == 1  # nothing for the unknown address

    assert for_known.status_code == for_unknown.status_code == 200
    known_html = for_known.get_data(as_text=True)
    unknown_html = for_unknown.get_data(as_text=True)
    assert known in known_html and unknown in unknown_html
    assert SENT_TEXT in known_html
    assert normalised_page(known_html, known) == normalised_page(unknown_html, unknown)

    mail = parsed_mail(console_mails(caplog)[0])
    assert mail["To"] == known
    assert "password" in mail["Subject"]
    match = LINK_RE.search(mail.get_content())
    assert match
    reset_with(reset_app, match.group(2))
    assert Browser(reset_app).login(known, NEW_PASSWORD).status_code == 303


def test_console_mail_shows_the_link_as_one_line(
    reset_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """A developer copies the link from the log as printed: it must work as it stands."""
    address = "console-copy@example.com"
    add_user(reset_app, address)
    with caplog.at_level(logging.INFO, logger=MAIL_LOGGER):
        assert Browser(reset_app).submit("/auth/forgot", {"email": address}).status_code == 200
    (raw,) = console_mails(caplog)
    assert "/auth/reset/" in raw
    match = LINK_RE.search(raw)
    assert match
    response = Browser(reset_app).get(match.group(2))
    assert response.status_code == 200, f"the logged link {match.group(0)!r} does not work"


def test_forgot_with_an_invalid_email(reset_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=MAIL_LOGGER):
        response = Browser(reset_app).submit("/auth/forgot", {"email": "not an address"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "That email address is not valid" in html
    assert SENT_TEXT not in html
    assert console_mails(caplog) == []


# ---------- the SMTP backend ----------


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def wait_for(self, address: str) -> list[Any]:
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while time.monotonic() < deadline:
            found = [e for e in self.envelopes if address in e.rcpt_tos]
            if found:
                return found
            time.sleep(0.05)
        pytest.fail(f"no message to {address} within {DELIVERY_TIMEOUT} s")


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_smtp_backend_delivers_a_working_link(
    reset_app: Flask, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    address = "smtp-reset@example.com"
    add_user(reset_app, address)
    app = sibling_app(reset_app, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)

    response = Browser(app).submit("/auth/forgot", {"email": address})
    assert response.status_code == 200
    assert SENT_TEXT in response.get_data(as_text=True)

    (envelope,) = inbox.wait_for(address)
    assert envelope.rcpt_tos == [address]
    mail = parsed_mail(envelope.content)
    assert mail["To"] == address
    match = LINK_RE.search(mail.get_content())
    assert match, mail.get_content()
    reset_with(app, match.group(2))
    assert Browser(app).login(address, PASSWORD).status_code == 400
    assert Browser(app).login(address, NEW_PASSWORD).status_code == 303
    assert len(inbox.wait_for(address)) == 1  # still the one message, no retry


def test_unreachable_smtp_server_is_logged_not_raised(
    reset_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    address = "smtp-down@example.com"
    add_user(reset_app, address)
    app = sibling_app(
        reset_app,
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=free_port(),  # nothing listens there
        MAIL_TIMEOUT=2,
    )
    with caplog.at_level(logging.INFO, logger=MAIL_LOGGER):
        response = Browser(app).submit("/auth/forgot", {"email": address})
        assert response.status_code == 200
        assert SENT_TEXT in response.get_data(as_text=True)
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        failures: list[logging.LogRecord] = []
        while not failures and time.monotonic() < deadline:
            failures = [
                record
                for record in list(caplog.records)
                if record.name == MAIL_LOGGER and "could not be sent" in record.getMessage()
            ]
            time.sleep(0.05)
    assert failures, "the failed delivery was not logged"
    (record,) = failures
    assert record.levelno == logging.ERROR
    assert address in record.getMessage()
    assert record.exc_info is not None


def test_unknown_mail_backend_is_a_config_error(make_app: MakeApp) -> None:
    with pytest.raises(ConfigError, match="MAIL_BACKEND"):
        make_app(MAIL_BACKEND="carrier-pigeon")
