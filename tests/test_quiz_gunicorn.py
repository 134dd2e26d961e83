"""Answering a question through a real gunicorn with two workers, as a browser without
JavaScript would: a cookie jar, the lesson page's form, a 303 back to the question.

Two workers share the instance folder, so the session cookie and CSRF token one worker
signs must be accepted by the other, and the attempt one records must show on the page the
other renders.
"""

from __future__ import annotations

import html
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import IO

import pytest

from app.lessons.store import catalog
from tests.conftest import PROJECT_ROOT, MakeApp, instance_database_url

BIN = Path(sys.executable).parent
COURSE, LESSON, QUESTION = "flask-fundamentals", "what-is-flask", "string-view-response-defaults"
LESSON_PATH = f"/courses/{COURSE}/{LESSON}/"
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(instance: Path) -> dict[str, str]:
    """The caller's environment in local mode, on the test's own instance folder."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("APP_ENV", "SECRET_KEY", "DATABASE_URL", "CONTENT_DIR", "FLASK_DEBUG")
    }
    env.update(INSTANCE_PATH=str(instance), FLASK_APP="app:create_app")
    database_url = instance_database_url(instance, migrated=False)
    if database_url:  # PostgreSQL: the instance's own database, empty until migrated
        env.update(DATABASE_URL=database_url)
    return env


@contextmanager
def gunicorn(instance: Path, log: Path, **extra_env: str) -> Iterator[int]:
    """Serve the app on ``instance`` with two gunicorn workers, as ``make run`` does (the
    content loaded once before the workers fork); yields the port.

    The database must exist already (``flask db upgrade`` or ``migrated_app``).
    """
    env = {**server_env(instance), **extra_env}
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--no-control-socket",
                "--preload",
                "app.wsgi:app",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(port, process, log)
        yield port
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server process, killing it if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def gunicorn_port(tmp_path: Path) -> Iterator[int]:
    instance = tmp_path / "served"
    instance.mkdir()
    subprocess.run(
        [str(BIN / "flask"), "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=server_env(instance),
        check=True,
        capture_output=True,
        timeout=60,
    )
    with gunicorn(instance, tmp_path / "gunicorn.log") as port:
        yield port


def wait_until_up(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = START_TIMEOUT
) -> None:
    """Until /healthz answers; workers booting on a busy small machine can take seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, reset or timed out while the workers start
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer within {timeout} s:\n{log.read_text()}")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back to the caller, so the test sees the 303 itself."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


class Browser:
    """A cookie-keeping HTTP client that does not run scripts or follow redirects."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects()
        )

    def request(self, path: str, form: list[tuple[str, str]] | None = None) -> Response:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            response = self.opener.open(request, timeout=10)
        except urllib.error.HTTPError as error:  # 3xx and 4xx come back as errors
            response = error
        with response:
            return Response(
                response.status, dict(response.headers.items()), response.read().decode()
            )


@dataclass
class QuestionForm:
    action: str
    hidden: dict[str, str]
    options: list[str]
    section: str


def question_form(page: str, question_id: str) -> QuestionForm:
    match = re.search(
        rf'<section class="quiz quiz-\w+" id="q-{re.escape(question_id)}".*?</section>',
        page,
        re.DOTALL,
    )
    assert match, f"question {question_id} is not on the page"
    section = match.group(0)
    form = re.search(
        r'<form class="quiz-form" method="post" action="([^"]+)".*?</form>', section, re.DOTALL
    )
    assert form, f"question {question_id} has no answer form"
    hidden: dict[str, str] = {}
    options: list[str] = []
    for tag in re.findall(r"<input\b[^>]*>", form.group(0)):
        attrs = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag)}
        if attrs.get("type") == "hidden":
            hidden[attrs["name"]] = attrs["value"]
        elif attrs.get("type") == "radio" and attrs.get("name") == "answer":
            options.append(attrs["value"])
    assert set(hidden) == {"csrf_token", "submission_id", "revision"}, hidden
    return QuestionForm(html.unescape(form.group(1)), hidden, options, section)


def result_text(form: QuestionForm) -> str:
    match = re.search(
        rf'<div class="quiz-result" id="q-{QUESTION}-result"[^>]*>(.*?)</div>\s*'
        rf'<div class="quiz-help"',
        form.section,
        re.DOTALL,
    )
    assert match, "the result region is missing"
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


@pytest.mark.slow
def test_answer_by_form_post_through_gunicorn_with_two_workers(
    gunicorn_port: int, make_app: MakeApp
) -> None:
    with make_app().app_context():
        lesson = catalog().course(COURSE).lesson(LESSON)
        options = lesson.question(QUESTION).options
    correct = next(option.id for option in options if option.correct)
    wrong = next(option.id for option in options if not option.correct)
    browser = Browser(gunicorn_port)

    page = browser.request(LESSON_PATH)
    assert page.status == 200
    form = question_form(page.body, QUESTION)
    assert sorted(form.options) == sorted(option.id for option in options)
    assert "Not quite." not in result_text(form) and "Correct!" not in result_text(form)

    for choice, verdict in ((wrong, "Not quite."), (correct, "Correct!")):
        answered = browser.request(form.action, [*form.hidden.items(), ("answer", choice)])
        assert answered.status == 303, answered.body[:2000]
        assert answered.headers["Location"].endswith(f"{LESSON_PATH}#q-{QUESTION}")
        page = browser.request(LESSON_PATH)
        assert page.status == 200
        new_form = question_form(page.body, QUESTION)
        assert verdict in result_text(new_form)
        assert new_form.hidden["submission_id"] != form.hidden["submission_id"]
        form = new_form
