"""One structured (JSON) log line per request, with its id, who asked, status and duration."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask

from tests.account_client import Browser, add_user

LESSON = "/courses/flask-fundamentals/what-is-flask/"


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "app.request"]


def test_each_request_logs_one_line_with_its_id_user_status_and_duration(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    caplog.clear()
    with caplog.at_level("INFO", logger="app.request"):
        page = client.get(LESSON)
        missing = client.get("/courses/no-such-course/")
    first, second = request_lines(caplog)
    assert set(first) == {"event", "request_id", "user", "method", "path", "status", "ms"}
    assert first["event"] == "request"
    assert first["request_id"] == page.headers["X-Request-ID"]
    assert (first["user"], first["method"], first["path"], first["status"]) == (
        "guest",
        "GET",
        LESSON,
        200,
    )
    assert isinstance(first["ms"], float) and first["ms"] >= 0
    assert (second["path"], second["status"]) == ("/courses/no-such-course/", 404)
    assert second["request_id"] == missing.headers["X-Request-ID"] != first["request_id"]


def test_a_signed_in_learner_is_logged_by_account_id(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = add_user(app, "ada@example.com")
    browser = Browser(app)
    assert browser.login("ada@example.com").status_code == 303
    caplog.clear()
    with caplog.at_level("INFO", logger="app.request"):
        assert browser.get("/dashboard").status_code == 200
    (line,) = request_lines(caplog)
    assert (line["user"], line["path"]) == (str(user_id), "/dashboard")
    session_cookie = browser.client.get_cookie("session")
    assert session_cookie is not None and session_cookie.value not in caplog.text


def test_a_rejected_write_is_logged_with_its_status(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level("INFO", logger="app.request"):
        response = app.test_client().post("/auth/login", data={"email": "a@example.com"})
    assert response.status_code == 400  # no CSRF token
    (line,) = request_lines(caplog)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/auth/login", 400)


def test_secret_tokens_in_paths_never_reach_the_log(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t-reset-token-value"
    with caplog.at_level("DEBUG"):
        app.test_client().get(f"/auth/reset/{secret}")
    (line,) = request_lines(caplog)
    assert line["path"] == "/auth/reset/<token>"
    assert secret not in caplog.text


def test_static_files_do_not_load_the_user_to_log_them(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = add_user(app, "ada@example.com")
    browser = Browser(app)
    browser.login("ada@example.com")
    caplog.clear()
    with caplog.at_level("INFO", logger="app.request"), browser.get("/static/css/site.css") as css:
        assert css.status_code == 200
    (line,) = request_lines(caplog)
    assert line["user"] == "-" != str(user_id)
    assert (line["user"], line["status"]) == ("-", 200)


@pytest.mark.parametrize(
    "created", [1_700_000_000.0, 1_700_000_000.0009, 1_700_000_000.5, 1_700_000_000.9995]
)
def test_the_line_format_is_loggings_own(created: float) -> None:
    """When the app sets up its own handler, its lines read as logging.Formatter's would,
    also for two lines in one second (the date part is formatted once a second)."""
    from app import LineFormatter

    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    ours, logging_own = LineFormatter(fmt), logging.Formatter(fmt)
    for moment in (created, created + 0.25, created + 1):
        record = logging.makeLogRecord({"name": "app.request", "msg": "m", "levelno": 20})
        record.created, record.msecs = moment, float(int((moment - int(moment)) * 1000))
        assert ours.format(record) == logging_own.format(record)
