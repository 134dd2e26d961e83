"""Production mode: failures show a request id and nothing else, the debugger is never
reachable, unsafe configurations refuse to start, and failed sign-ins are logged without
secrets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.config import ConfigError
from tests.account_client import PASSWORD, Browser, add_user
from tests.conftest import PROJECT_ROOT, MakeApp

SECRET = "p" * 40
FAILURE = "cannot reach the ledger at 10.0.0.7 with token hunter2"
LEAKS = ("Traceback", "werkzeug", 'File "', FAILURE, "hunter2", "ValueError", str(PROJECT_ROOT))
REFERENCE_RE = re.compile(r'<p class="error-id">Reference: <code>([^<]+)</code></p>')
FAST_LOGINS = {"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_RATE_LIMIT": "1000 per minute"}


def production_app(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, content: Path, **config: Any
) -> Flask:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    return make_app(content_dir=content, TESTING=False, **FAST_LOGINS, **config)


def https_browser(app: Flask) -> Browser:
    """A browser on https, as behind the TLS proxy, so secure cookies come back."""
    browser = Browser(app)
    browser.client.environ_base["wsgi.url_scheme"] = "https"
    return browser


@pytest.fixture
def production(make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, sample_content: Path) -> Flask:
    app = production_app(make_app, monkeypatch, sample_content)
    assert app.config["APP_ENV"] == "production" and app.debug is False

    # Test-only routes, added before the first request.
    @app.get("/_test/fail")
    def fail():
        raise ValueError(FAILURE)

    @app.get("/api/v1/_test/fail")
    def api_fail():
        raise ValueError(FAILURE)

    return app


def error_records(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [r for r in caplog.records if r.name == "app.errors" and r.levelname == "ERROR"]


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "app.request"]


# ---------- a failing view ----------


def test_a_failure_shows_a_generic_page_whose_reference_is_the_logged_request_id(
    production: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level("INFO", logger="app"):
        response = production.test_client().get("/_test/fail")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.content_type == "text/html; charset=utf-8"
    for leak in LEAKS:
        assert leak not in body, leak
    assert "Something went wrong on our side" in body
    (reference,) = REFERENCE_RE.findall(body)
    assert reference == response.headers["X-Request-ID"]
    # The details go to the log, under the same id: the message, the path and the traceback.
    (record,) = error_records(caplog)
    assert reference in record.getMessage() and "/_test/fail" in record.getMessage()
    assert record.exc_info is not None and str(record.exc_info[1]) == FAILURE
    (line,) = request_lines(caplog)
    assert (line["request_id"], line["status"]) == (reference, 500)


def test_a_proxy_request_id_is_reused_only_when_it_is_plain(
    production: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = production.test_client()
    caplog.clear()
    with caplog.at_level("INFO", logger="app"):
        plain = client.get("/_test/fail", headers={"X-Request-ID": "edge-7f3a9c21"})
        hostile = client.get("/_test/fail", headers={"X-Request-ID": '"><script>alert(1)</script>'})
    assert plain.headers["X-Request-ID"] == "edge-7f3a9c21"
    assert REFERENCE_RE.findall(plain.get_data(as_text=True)) == ["edge-7f3a9c21"]
    generated = hostile.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert REFERENCE_RE.findall(hostile.get_data(as_text=True)) == [generated]
    assert "<script>" not in hostile.get_data(as_text=True)
    assert [r.getMessage().split()[1] for r in error_records(caplog)] == [
        "edge-7f3a9c21",
        generated,
    ]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/_test/fail", {"Accept": "application/json"}),
        ("/api/v1/_test/fail", {}),
        ("/api/v1/_test/fail", {"Accept": "text/html"}),
    ],
    ids=["accept-json", "api-path", "api-path-accepting-html"],
)
def test_json_clients_get_only_the_request_id(
    production: Flask, caplog: pytest.LogCaptureFixture, path: str, headers: dict[str, str]
) -> None:
    caplog.clear()
    with caplog.at_level("INFO", logger="app"):
        response = production.test_client().get(path, headers=headers)
    assert response.status_code == 500
    assert response.content_type == "application/json"
    raw = response.get_data(as_text=True)
    for leak in LEAKS:
        assert leak not in raw, leak
    data = response.get_json()
    assert set(data) == {"error", "status", "request_id"}
    assert (data["error"], data["status"]) == ("Internal Server Error", 500)
    assert data["request_id"] == response.headers["X-Request-ID"]
    (record,) = error_records(caplog)
    assert data["request_id"] in record.getMessage()


# ---------- the debugger ----------


@pytest.mark.parametrize(
    "path",
    [  # plain /console is covered in test_security
        "/console?__debugger__=yes&cmd=resource&f=style.css",
        "/console?__debugger__=yes&cmd=printpin&s=x",
    ],
)
def test_the_debugger_console_does_not_exist(production: Flask, path: str) -> None:
    response = production.test_client().get(path)
    assert response.status_code == 404
    assert response.content_type == "text/html; charset=utf-8"
    assert "find that page" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/_test/fail"])
def test_debugger_resources_are_served_nowhere(production: Flask, path: str) -> None:
    """The debugger answers ``__debugger__`` queries on every URL when it is on."""
    response = production.test_client().get(f"{path}?__debugger__=yes&cmd=resource&f=debugger.js")
    assert response.content_type == "text/html; charset=utf-8"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "CONSOLE_MODE" not in body
    assert response.status_code == (200 if path == "/" else 500)


# ---------- refusing to start ----------


def test_debug_passed_by_the_caller_is_refused_in_production(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    with pytest.raises(ConfigError, match="debug mode is refused"):
        make_app(DEBUG=True)


def test_an_empty_secret_key_is_refused_in_production(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        make_app()


def test_the_flask_debug_switch_is_refused_in_production(tmp_path: Path) -> None:
    """``flask --debug`` sets FLASK_DEBUG before the factory runs, so the factory refuses."""
    env = {
        "PATH": "/usr/bin:/bin",
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "INSTANCE_PATH": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app:create_app", "--debug", "routes"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "debug mode is refused when APP_ENV=production" in result.stderr


SECRET_LITERAL_RE = re.compile(
    r"""SECRET_KEY["']?\s*\]?\s*[:=]\s*[rbuf]*["']|setdefault\(\s*["']SECRET_KEY["']\s*,\s*["']"""
)


def test_no_secret_key_is_written_into_the_code() -> None:
    hits = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for path in sorted((PROJECT_ROOT / "app").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SECRET_LITERAL_RE.search(line)
    ]
    assert hits == []
    # The pattern does catch the usual ways of writing one.
    for sample in ('SECRET_KEY = "dev"', "SECRET_KEY='x'", 'config["SECRET_KEY"] = "x"'):
        assert SECRET_LITERAL_RE.search(sample), sample
    assert not SECRET_LITERAL_RE.search('app.config["SECRET_KEY"] = instance_secret_key(path)')


# ---------- failed sign-ins in the log ----------


def login_failures(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        if record.name.startswith("app.") and "login_failed" in record.getMessage():
            assert record.levelname == "WARNING"
            lines.append(json.loads(record.getMessage()))
    return lines


def test_a_failed_login_is_logged_by_account_without_the_password_or_cookie(
    production: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = add_user(production, "ada@example.org")
    browser = https_browser(production)
    wrong = "Wrong-Pa55word-do-not-log"
    caplog.clear()
    with caplog.at_level("INFO", logger="app"):
        response = browser.login("Ada@Example.org", password=wrong)
    assert response.status_code == 400
    cookie = browser.client.get_cookie("session")
    assert cookie is not None and cookie.value
    (line,) = login_failures(caplog)
    assert line == {
        "event": "login_failed",
        "request_id": response.headers["X-Request-ID"],
        "user": str(user_id),
        "email": "ada@example.org",
        "reason": "password",
    }
    for secret in (wrong, PASSWORD, cookie.value, SECRET):
        assert secret not in caplog.text

    caplog.clear()
    with caplog.at_level("INFO", logger="app"):
        assert browser.login("ada@example.org").status_code == 303
    assert login_failures(caplog) == []
    assert PASSWORD not in caplog.text


def test_a_login_to_no_account_is_logged_without_what_was_typed_unless_it_is_an_address(
    production: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    browser = https_browser(production)
    typed_password = "my password typed in the email box"
    caplog.clear()
    with caplog.at_level("INFO", logger="app"):
        browser.login("nobody@example.org", password="Another-secret-1")
        browser.login(typed_password, password="Another-secret-2")
    first, second = login_failures(caplog)
    assert (first["user"], first["email"], first["reason"]) == (
        "-",
        "nobody@example.org",
        "no-account",
    )
    assert (second["user"], second["email"], second["reason"]) == ("-", None, "no-account")
    for secret in ("Another-secret-1", "Another-secret-2", typed_password):
        assert secret not in caplog.text


def test_a_locked_account_logs_each_refused_login(
    make_app: MakeApp,
    monkeypatch: pytest.MonkeyPatch,
    sample_content: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = production_app(make_app, monkeypatch, sample_content, LOGIN_FAILURE_LIMIT=1)
    user_id = add_user(app, "bob@example.org")
    browser = https_browser(app)
    caplog.clear()
    with caplog.at_level("INFO", logger="app"):
        assert browser.login("bob@example.org", password="wrong-1").status_code == 400
        assert browser.login("bob@example.org").status_code == 429
    reasons = [(line["user"], line["reason"]) for line in login_failures(caplog)]
    assert reasons == [(str(user_id), "password"), (str(user_id), "locked")]
    assert PASSWORD not in caplog.text and "wrong-1" not in caplog.text
