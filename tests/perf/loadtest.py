"""Load test: guest learners read lessons, sync progress and answer questions at once.

    python -m tests.perf.loadtest [--learners 50] [--answers 20] [--workers 2]
                                  [--deadline 300] [--hold-lock SECONDS]

Prepares a fresh instance folder as ``make run`` does (``flask db upgrade``, ``flask
content build``), serves it with gunicorn on a free loopback port, then runs one thread
per learner, each a browser with its own cookie jar that does what the lesson page's
scripts do:

- opens the catalog, the course and a lesson, reporting its reading progress to the
  progress API (JSON, ``X-CSRFToken`` from the page's ``csrf-token`` meta tag) on each
  visit, after each correct answer and at the end of the lesson;
- answers questions through the JSON answer endpoint with the form's ``submission_id``
  and ``revision`` (some wrong first, then right), taking the next ``submission_id``
  from each reply;
- retries a request that times out, loses its connection or gets a 502/503/504 with the
  same body (so the same ``submission_id``), a bounded number of times with backoff.

``DATABASE_URL`` from the environment picks the database, which the migrations bring
up to date (a fresh, empty one is best); without it, a SQLite file in the temporary
instance is used. Afterwards the attempts stored during the run are counted in the
database, and the script prints one line on stdout::

    loadtest: attempts=<n> expected=<n> 5xx=<n> locked=<n> p50=<ms> p95=<ms> p99=<ms>

``5xx`` counts every 5xx response clients saw (retried ones included), ``locked`` the
"database is locked" lines in the server's log, and the latencies are those of the
answers, from the first send to the final reply (retries included). Everything else goes
to stderr. The exit status is 0 only when every answer was stored exactly once, no 5xx
and no lock error was seen, and every learner finished without an unexpected reply.
The run is bounded by ``--deadline``; the server's process group is always stopped.

``--hold-lock SECONDS`` shows that a database busy past its timeout loses and doubles no
answer. Once a fifth of the answers are acknowledged, each learner stops before its next
answer while a connection of the script's own takes the database's write lock (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: ``LOCK TABLE quiz_attempt IN EXCLUSIVE MODE``, which
answers need and reads do not), then all send that answer into the held lock. The lock is
released after SECONDS, which must exceed the app's busy timeout by a second or more
(``DATABASE_BUSY_TIMEOUT_MS``, 5000 by default; ``FLASK_DATABASE_BUSY_TIMEOUT_MS`` in the
environment reaches the server too). Writes that wait past the timeout get a 503, which
stores nothing; the learners resend the same body after its ``Retry-After`` for as long as
the deadline allows. The line on stdout then ends with `` held=<s>s 503=<n>``: how long
the lock was held (``held=7.0s``) and how many 503 replies the learners saw; ``5xx``
counts the other 5xx replies, and ``locked`` (SQLite's message for the timeout) is
reported but allowed. The exit status is 0 only when every answer was still stored
exactly once, some answer POSTs got a 503 and were resent until stored (stderr says how
many), every 503 carried ``Retry-After``, no other 5xx was seen and every learner finished.
"""

from __future__ import annotations

import argparse
import html
import http.client
import http.cookiejar
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COURSE = "flask-fundamentals"
REQUEST_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0
PREPARE_TIMEOUT_S = 120.0
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # one per retry; then the request has failed
MAX_RETRY_AFTER_S = 10.0
RETRY_STATUSES = frozenset({502, 503, 504})
WRONG_FIRST_SHARE = 0.3  # share of questions a learner first answers wrongly
LOCKED_TEXT = "database is locked"
# Per-address limits far above what the run sends, whichever endpoints they cover.
RATE_LIMIT = "100000 per minute"
# --hold-lock: the share of the answers acknowledged before the lock is taken, how long
# the lock waits for the learners to reach their next answer, by how much the hold must
# outlast the app's busy timeout, and how long the script's connection waits for the lock.
HOLD_AFTER_SHARE = 0.2
GATE_TIMEOUT_S = 10.0
HOLD_MARGIN_S = 1.0
LOCK_WAIT_S = 30.0
# Settings a developer's shell may export that would change the app under test.
DROPPED_ENV = ("APP_ENV", "SECRET_KEY", "CONTENT_DIR", "FLASK_DEBUG", "INSTANCE_PATH")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(instance: Path, database_url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in DROPPED_ENV}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(
        APP_ENV="local",
        INSTANCE_PATH=str(instance),
        FLASK_APP="app:create_app",
        FLASK_SKIP_DOTENV="1",
        FLASK_LOGIN_RATE_LIMIT=RATE_LIMIT,
        FLASK_ACCOUNT_RATE_LIMIT=RATE_LIMIT,
    )
    return env


def prepare(env: dict[str, str]) -> None:
    """Schema and rendered-lesson cache, as ``make prepare`` does."""
    for command in (["db", "upgrade"], ["content", "build"]):
        result = subprocess.run(
            [sys.executable, "-m", "flask", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=PREPARE_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            log(result.stdout + result.stderr)
            raise RuntimeError(f"flask {' '.join(command)} failed with {result.returncode}")


APP = "app.wsgi:app"  # what `make run` serves


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    started_s: float  # from starting gunicorn to the first 200 on the probe path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def gunicorn(
    env: dict[str, str],
    workers: int,
    log_path: Path,
    target: str = APP,
    probe: str = "/healthz",
    start_timeout_s: float = START_TIMEOUT_S,
) -> Iterator[Server]:
    """``gunicorn -w <workers> --preload <target>``, as ``make run`` serves the app; yields
    once ``probe`` answers 200. Its output is appended to ``log_path``.

    The server runs in its own process group, which is stopped (then killed) on exit.
    """
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--no-control-socket",
        "--preload", target,
    ]  # fmt: skip
    started = time.perf_counter()
    with log_path.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(port, process, probe, log_path, start_timeout_s)
        yield Server(process, port, time.perf_counter() - started)
    finally:
        stop(process)


def wait_until_up(
    port: int, process: subprocess.Popen[bytes], path: str, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}: {tail(log_path)}")
        try:
            url = f"http://127.0.0.1:{port}{path}"
            with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"gunicorn gave no 200 on {path} within {timeout_s:.0f} s")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group (arbiter and workers), SIGKILL if it lingers."""
    for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        # The arbiter is gone; make sure no worker of its group outlived it.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break


# --- what the learners answer ----------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str
    correct: Any
    wrong: Any


@dataclass(frozen=True)
class LessonPlan:
    slug: str
    questions: tuple[Question, ...]


def local_app(instance: Path, database_url: str) -> Flask:
    """The app as the server runs it, ``FLASK_*`` settings from the environment included."""
    from app import create_app

    return create_app(
        {
            "APP_ENV": "local",
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "CONTENT_DIR": str(ROOT / "content"),
        }
    )


def course_plan(app: Flask) -> list[LessonPlan]:
    """The course's lessons with their questions and a right and a wrong answer to each."""
    from app.lessons.store import catalog
    from tests.quiz_client import correct_answer, wrong_answer

    plans: list[LessonPlan] = []
    skipped = 0
    with app.app_context():
        course = catalog().course(COURSE)
        if course is None:
            raise RuntimeError(f"the bundled content has no course {COURSE!r}")
        for lesson in course.lessons:
            questions = []
            for spec in lesson.questions:
                try:
                    questions.append(Question(spec.id, correct_answer(spec), wrong_answer(spec)))
                except StopIteration:  # only patterns accept it: no answer to type in
                    skipped += 1
            if questions:
                plans.append(LessonPlan(lesson.slug, tuple(questions)))
    if not plans:
        raise RuntimeError(f"the course {COURSE!r} has no questions")
    count = sum(len(plan.questions) for plan in plans)
    log(f"loadtest: {count} questions in {len(plans)} lessons ({skipped} without a plain answer)")
    return plans


def count_attempts(database_uri: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_uri)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT COUNT(*) FROM quiz_attempt")).scalar_one())
    finally:
        engine.dispose()


# --- the learners ----------------------------------------------------------------------


@dataclass
class Stats:
    """What every learner saw, shared between threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    server_errors: int = 0  # responses with a 5xx status, retried or not
    retries: int = 0
    retries_by_kind: dict[str, int] = field(default_factory=dict)
    network_failures: int = 0  # timeouts and lost connections, retried or not
    answers: int = 0
    answer_ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    finished: int = 0
    busy: int = 0  # 503 replies ("busy, try again"), retried or not
    busy_without_retry_after: int = 0
    busy_sends: dict[str, int] = field(default_factory=dict)  # requests that got a 503
    busy_answers_stored: int = 0  # answer POSTs acknowledged after one or more 503s

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def retried(self, kind: str) -> None:
        with self.lock:
            self.retries += 1
            self.retries_by_kind[kind] = self.retries_by_kind.get(kind, 0) + 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def busy_reply(self, retry_after: str) -> None:
        with self.lock:
            self.busy += 1
            if not retry_after:
                self.busy_without_retry_after += 1

    def busy_send(self, kind: str) -> None:
        with self.lock:
            self.busy_sends[kind] = self.busy_sends.get(kind, 0) + 1


@dataclass
class Reply:
    status: int  # 0: no response (timeout, lost connection)
    body: bytes
    headers: dict[str, str]
    busy: int = 0  # 503 replies to the same request before this one

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Unexpected(Exception):
    """A reply the browser's scripts would not expect; the learner stops."""


class Browser:
    """One learner's browser: a cookie jar and the retrying ``fetch`` of the page scripts."""

    def __init__(self, base: str, stats: Stats, deadline: float, busy_retries: bool) -> None:
        self.base = base
        self.stats = stats
        self.deadline = deadline
        # --hold-lock: a 503 is retried for as long as the deadline allows, without
        # using up one of the RETRY_DELAYS_S, so that retries outlast the held lock.
        self.busy_retries = busy_retries
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def _once(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        url = self.base + path  # always http://127.0.0.1:<port>/...
        request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
        timeout = max(0.5, min(REQUEST_TIMEOUT_S, self.deadline - time.monotonic()))
        self.stats.add(requests=1)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                reply = Reply(response.status, response.read(), dict(response.headers.items()))
        except urllib.error.HTTPError as error:  # 4xx and 5xx
            with error:
                reply = Reply(error.code, error.read(), dict(error.headers.items()))
        except (OSError, http.client.HTTPException):  # timeouts, resets, refused connections
            self.stats.add(network_failures=1)
            return Reply(0, b"", {})
        if reply.status >= 500:
            self.stats.add(server_errors=1)
        if reply.status == 503:
            self.stats.busy_reply(reply.headers.get("Retry-After", ""))
        return reply

    def send(self, kind: str, method: str, path: str, body: Any = None, csrf: str = "") -> Reply:
        """Send, retrying the same bytes on a timeout, lost connection or 502/503/504."""
        data = None
        headers = {"Accept": "application/json" if body is not None else "text/html"}
        if body is not None:
            data = json.dumps(body).encode()
            headers.update({"Content-Type": "application/json", "X-CSRFToken": csrf})
        used = 0  # retries counted against RETRY_DELAYS_S
        retries = 0
        busy = 0
        while True:
            reply = self._once(method, path, data, headers)
            if reply.status == 503:
                busy += 1
                if busy == 1:
                    self.stats.busy_send(kind)
            if reply.status and reply.status not in RETRY_STATUSES:
                reply.busy = busy
                return reply
            free = self.busy_retries and reply.status == 503
            if not free and used == len(RETRY_DELAYS_S):
                break
            delay = RETRY_DELAYS_S[min(used, len(RETRY_DELAYS_S) - 1)]
            if not free:
                used += 1
            retry_after = reply.headers.get("Retry-After", "")
            if retry_after.replace(".", "", 1).isdigit():
                delay = min(float(retry_after), MAX_RETRY_AFTER_S)
            if time.monotonic() + delay >= self.deadline:
                break
            self.stats.retried(kind)
            retries += 1
            time.sleep(delay)
        what = f"HTTP {reply.status}" if reply.status else "no response"
        raise Unexpected(f"{method} {path}: {what} after {retries} retries")

    def page(self, path: str) -> str:
        reply = self.send("page", "GET", path)
        if reply.status != 200:
            raise Unexpected(f"GET {path}: HTTP {reply.status}")
        return reply.text()


@dataclass
class AnswerForm:
    action: str
    csrf: str
    submission_id: str
    revision: str


@dataclass
class LessonPage:
    csrf: str
    sync_url: str
    sections: list[str]
    forms: dict[str, AnswerForm]


def parse_lesson(page: str) -> LessonPage:
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    progress = re.search(r"data-progress='([^']*)'", page)
    if meta is None or progress is None:
        raise Unexpected("the lesson page has no CSRF meta tag or progress data")
    data = json.loads(html.unescape(progress.group(1)))
    forms: dict[str, AnswerForm] = {}
    for match in re.finditer(
        r'<form class="quiz-form" method="post" action="([^"]+)" data-quiz-answer>(.*?)</form>',
        page,
        re.DOTALL,
    ):
        action = html.unescape(match.group(1))
        fields = dict(
            re.findall(r'name="(csrf_token|submission_id|revision)" value="([^"]*)"', match[2])
        )
        question_id = action.rstrip("/").split("/")[-2]
        forms[question_id] = AnswerForm(
            action, fields["csrf_token"], fields["submission_id"], fields["revision"]
        )
    return LessonPage(
        html.unescape(meta.group(1)),
        data["sync_url"],
        [entry[0] for entry in data["sections"]],
        forms,
    )


class Learner:
    """One guest working through the course from a lesson of their own."""

    def __init__(
        self, number: int, base: str, plan: list[LessonPlan], answers: int, stats: Stats,
        deadline: float, hold: LockHold | None = None,
    ) -> None:  # fmt: skip
        self.number = number
        self.browser = Browser(base, stats, deadline, busy_retries=hold is not None)
        self.plan = plan
        self.answers_left = answers
        self.stats = stats
        self.deadline = deadline
        self.hold = hold
        self.rng = random.Random(number)  # noqa: S311 - not for security

    def run(self) -> None:
        try:
            self.browser.page("/")
            self.browser.page(f"/courses/{COURSE}/")
            index = self.number % len(self.plan)
            while self.answers_left > 0:
                if time.monotonic() >= self.deadline:
                    raise Unexpected(f"deadline reached with {self.answers_left} answers to go")
                self.lesson(self.plan[index])
                index = (index + 1) % len(self.plan)
            self.stats.add(finished=1)
        except Unexpected as exc:
            self.stats.problem(f"learner {self.number}: {exc}")
        except Exception as exc:  # reported, never lost with the thread
            self.stats.problem(f"learner {self.number}: {type(exc).__name__}: {exc}")
        finally:
            if self.hold is not None:
                self.hold.leave(self.number)

    def lesson(self, lesson: LessonPlan) -> None:
        path = f"/courses/{COURSE}/{lesson.slug}/"
        page = parse_lesson(self.browser.page(path))
        total = len(lesson.questions)
        self.sync(page, 0, total)  # the report progress.js sends on every visit
        for done, question in enumerate(lesson.questions, start=1):
            if self.answers_left <= 0:
                return  # the learner stops here, mid-lesson
            form = page.forms.get(question.id)
            if form is None:
                raise Unexpected(f"{path}: no answer form for {question.id}")
            if self.answers_left >= 2 and self.rng.random() < WRONG_FIRST_SHARE:
                self.answer(form, question.wrong, expect_correct=False)
            self.answer(form, question.correct, expect_correct=True)
            self.sync(page, done, total)  # progress.js re-checks after a correct answer
        self.sync(page, total, total)  # scrolled to the end of the lesson

    def sync(self, page: LessonPage, done: int, total: int) -> None:
        """Report reading as far as the share ``done / total`` of the lesson."""
        percent = 100 * done // total
        reached = len(page.sections) * done // total
        section = page.sections[reached - 1] if reached > 0 else None
        body = {"section": section, "percent_read": percent}
        reply = self.browser.send("progress", "POST", page.sync_url, body, page.csrf)
        if reply.status != 200:
            raise Unexpected(f"POST {page.sync_url}: HTTP {reply.status} {reply.text()[:200]}")

    def answer(self, form: AnswerForm, answer: Any, expect_correct: bool) -> None:
        body = {"revision": form.revision, "submission_id": form.submission_id, "answer": answer}
        if self.hold is not None:
            self.hold.gate(self.number)
        started = time.perf_counter()
        reply = self.browser.send("answer", "POST", form.action, body, form.csrf)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if reply.status != 200:
            raise Unexpected(f"POST {form.action}: HTTP {reply.status} {reply.text()[:200]}")
        data = reply.json()
        if data.get("correct") is not expect_correct:
            raise Unexpected(f"POST {form.action}: graded {data.get('correct')!r}")
        form.submission_id = data.get("next_submission_id") or str(uuid.uuid4())
        self.answers_left -= 1
        with self.stats.lock:
            self.stats.answers += 1
            self.stats.answer_ms.append(elapsed_ms)
            if reply.busy:
                self.stats.busy_answers_stored += 1


def drive(
    port: int, plan: list[LessonPlan], learners: int, answers: int, deadline: float,
    stats: Stats, hold: LockHold | None = None,
) -> None:  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    threads = [
        threading.Thread(
            target=Learner(n, base, plan, answers, stats, deadline, hold).run,
            name=f"learner-{n}",
            daemon=True,
        )
        for n in range(learners)
    ]
    if hold is not None:
        hold.start(deadline)
    for thread in threads:
        thread.start()
    for thread in threads:
        # A request never outlives the deadline by more than its own timeout.
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT_S + 5)
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        stats.problem(f"{stuck} learner thread(s) still running after the deadline")
    if hold is not None:
        hold.finish()


# --- the held lock (--hold-lock) ----------------------------------------------------------


class LockHold:
    """A connection of its own holds the database's write lock while learners answer.

    Once ``HOLD_AFTER_SHARE`` of the answers are acknowledged, each learner stops before its
    next answer (``gate``). When all have stopped or left (or after ``GATE_TIMEOUT_S``), the
    lock is taken and they all send that answer into it; it is released ``seconds`` later.
    """

    def __init__(
        self, uri: str, seconds: float, learners: int, expected: int, stats: Stats
    ) -> None:
        self.uri = uri
        self.seconds = seconds
        self.learners = learners
        self.trigger = max(1, math.ceil(HOLD_AFTER_SHARE * expected))
        self.stats = stats
        self.condition = threading.Condition()
        self.wanted = False  # set by the first learner to see the trigger reached
        self.stopped: set[int] = set()  # learners waiting at the gate, or gone
        self.gated: set[int] = set()  # learners that stopped at the gate
        self.opened = threading.Event()  # the lock is held, or will not be
        self.deadline = 0.0
        self.load_started = 0.0
        self.taken_after_s = 0.0  # seconds into the load
        self.held_s = 0.0
        self.error = ""
        self.thread = threading.Thread(target=self.run, name="lock-hold", daemon=True)

    # the learners' side

    def gate(self, number: int) -> None:
        """Before each answer: once the trigger is reached, wait until the lock is held."""
        with self.condition:
            if number in self.gated or self.opened.is_set():
                return
            if not self.wanted:
                with self.stats.lock:
                    acknowledged = self.stats.answers
                if acknowledged < self.trigger:
                    return
                self.wanted = True
            self.gated.add(number)
            self.stopped.add(number)
            self.condition.notify_all()
        self.opened.wait(timeout=max(0.0, self.deadline - time.monotonic()))

    def leave(self, number: int) -> None:
        with self.condition:
            self.stopped.add(number)
            self.condition.notify_all()

    # the holding connection

    def start(self, deadline: float) -> None:
        self.deadline = deadline
        self.load_started = time.monotonic()
        self.thread.start()

    def finish(self) -> None:
        self.thread.join(timeout=self.seconds + LOCK_WAIT_S + 5)
        if self.thread.is_alive():
            self.error = "the lock was still held after the learners stopped"
        if self.error:
            self.stats.problem(f"lock hold: {self.error}")

    def run(self) -> None:
        try:
            with self.condition:
                remaining = max(0.0, self.deadline - time.monotonic())
                self.condition.wait_for(lambda: self.wanted or self._all_stopped(), remaining)
                if not self.wanted:
                    raise RuntimeError(
                        f"the learners stopped before {self.trigger} answers were acknowledged"
                    )
                self.condition.wait_for(self._all_stopped, timeout=GATE_TIMEOUT_S)
                gated, stopped = len(self.gated), len(self.stopped)
            log(
                f"loadtest: {gated} learners wait to answer, {stopped - gated} have finished, "
                f"{self.learners - stopped} are still busy; taking the write lock"
            )
            self._take_and_hold()
        except Exception as exc:  # reported in the result, never lost with the thread
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.opened.set()

    def _all_stopped(self) -> bool:
        return len(self.stopped) >= self.learners

    def _take_and_hold(self) -> None:
        from sqlalchemy import create_engine, make_url, text
        from sqlalchemy.pool import NullPool

        url = make_url(self.uri)
        if url.get_backend_name() == "sqlite":
            # In WAL mode the write lock stops writers only; readers carry on.
            connection = sqlite3.connect(
                url.database or "", timeout=LOCK_WAIT_S, isolation_level=None
            )
            try:
                connection.execute("BEGIN IMMEDIATE")
                self._keep()
                connection.execute("ROLLBACK")
            finally:
                connection.close()
            return
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text(f"SET lock_timeout = {int(LOCK_WAIT_S * 1000)}"))
                # Every answer inserts into quiz_attempt; reads of it are not blocked.
                connection.execute(text("LOCK TABLE quiz_attempt IN EXCLUSIVE MODE"))
                self._keep()
                connection.rollback()
        finally:
            engine.dispose()

    def _keep(self) -> None:
        """The lock is held: let the learners answer, then wait out ``seconds``."""
        taken = time.monotonic()
        self.taken_after_s = taken - self.load_started
        self.opened.set()
        log(f"loadtest: holding the write lock from {self.taken_after_s:.1f} s into the load")
        time.sleep(self.seconds)
        self.held_s = time.monotonic() - taken
        log(f"loadtest: releasing the write lock after {self.held_s:.1f} s")


# --- the run ---------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> int:
    """Nearest-rank percentile in whole milliseconds (0 for no values)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return round(ordered[rank - 1])


def answer_times_in_log(server_text: str) -> list[float]:
    """Milliseconds the app spent on each answer POST, from its JSON request log lines."""
    times = []
    for line in server_text.splitlines():
        start = line.find('{"event": "request"')
        if start < 0:
            continue
        try:
            entry = json.loads(line[start:])
        except ValueError:
            continue
        if entry.get("method") == "POST" and str(entry.get("path", "")).endswith("/answer"):
            if isinstance(entry.get("ms"), int | float):
                times.append(float(entry["ms"]))
    return times


def run(learners: int, answers: int, workers: int, deadline_s: float, hold_s: float = 0) -> int:
    from app.config import database_uri

    started = time.monotonic()
    database_url = os.environ.get("DATABASE_URL", "")
    expected = learners * answers
    tmp = Path(tempfile.mkdtemp(prefix="loadtest-"))
    try:
        instance = tmp / "instance"
        instance.mkdir()
        server_log = tmp / "server.log"
        env = server_env(instance, database_url)
        uri = database_uri(database_url, instance)
        shown = re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", uri)
        log(f"loadtest: preparing {shown}")
        prepare(env)
        app = local_app(instance, database_url)
        plan = course_plan(app)
        busy_timeout_s = int(app.config["DATABASE_BUSY_TIMEOUT_MS"]) / 1000
        if hold_s and hold_s < busy_timeout_s + HOLD_MARGIN_S:
            raise RuntimeError(
                f"--hold-lock {hold_s:g} must exceed the database busy timeout "
                f"({busy_timeout_s:g} s) by {HOLD_MARGIN_S:g} s or more"
            )
        stats = Stats()
        hold = LockHold(uri, hold_s, learners, expected, stats) if hold_s else None
        before = count_attempts(uri)
        if before:
            log(f"loadtest: the database already holds {before} attempts; counting new ones")
        with gunicorn(env, workers, server_log) as server:
            port = server.port
            log(
                f"loadtest: gunicorn with {workers} workers on port {port}; "
                f"{learners} learners x {answers} answers"
                + (
                    f"; the write lock is held for {hold_s:g} s (busy timeout "
                    f"{busy_timeout_s:g} s) once {hold.trigger} answers are acknowledged"
                    if hold
                    else ""
                )
            )
            load_started = time.monotonic()
            drive(port, plan, learners, answers, load_started + deadline_s, stats, hold)
            load_s = time.monotonic() - load_started
        attempts = count_attempts(uri) - before
        server_text = server_log.read_text(errors="replace")
        locked = sum(LOCKED_TEXT in line.lower() for line in server_text.splitlines())
        if hold is None:
            ok = (
                attempts == expected
                and stats.server_errors == 0
                and locked == 0
                and not stats.problems
                and stats.finished == learners
            )
            server_errors = stats.server_errors
        else:
            # 503 replies and SQLite's "database is locked" are expected; nothing else is.
            server_errors = stats.server_errors - stats.busy
            busy_answers = stats.busy_sends.get("answer", 0)
            ok = (
                attempts == expected
                and server_errors == 0
                and stats.busy > 0
                and stats.busy_without_retry_after == 0
                and busy_answers > 0
                and stats.busy_answers_stored == busy_answers
                and hold.held_s > 0  # the lock was taken and held to the end
                and not stats.problems
                and stats.finished == learners
            )
        log(
            f"loadtest: {stats.requests} requests in {load_s:.1f} s "
            f"({stats.requests / load_s:.0f}/s), {stats.answers} answers acknowledged, "
            f"{stats.finished}/{learners} learners finished, retries={stats.retries} "
            f"{stats.retries_by_kind}, network failures={stats.network_failures}, "
            f"total {time.monotonic() - started:.1f} s"
        )
        server_ms = answer_times_in_log(server_text)
        if server_ms:
            log(
                f"loadtest: answer time in the app (request log): "
                f"p50={percentile(server_ms, 0.50)} p95={percentile(server_ms, 0.95)} "
                f"p99={percentile(server_ms, 0.99)} ms over {len(server_ms)} requests"
            )
        if hold is not None:
            log(
                f"loadtest: the write lock was held for {hold.held_s:.1f} s from "
                f"{hold.taken_after_s:.1f} s into the load; {stats.busy} replies were 503 "
                f"({stats.busy_without_retry_after} without Retry-After) to "
                f"{sum(stats.busy_sends.values())} requests {stats.busy_sends}; "
                f"{busy_answers} answer POSTs got a 503 and {stats.busy_answers_stored} of "
                f"them were retried with their submission_id until stored"
            )
        for text in stats.problems[:20]:
            log(f"loadtest: problem: {text}")
        if len(stats.problems) > 20:
            log(f"loadtest: ... and {len(stats.problems) - 20} more problems")
        if not ok:
            tail = "\n".join(server_text.splitlines()[-40:])
            log(f"loadtest: FAILED; the server log ends with:\n{tail}")
        latencies = stats.answer_ms
        held = f" held={hold.held_s:.1f}s 503={stats.busy}" if hold is not None else ""
        print(
            f"loadtest: attempts={attempts} expected={expected} 5xx={server_errors} "
            f"locked={locked} p50={percentile(latencies, 0.50)} "
            f"p95={percentile(latencies, 0.95)} p99={percentile(latencies, 0.99)}{held}",
            flush=True,
        )
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=50, help="concurrent guests (50)")
    parser.add_argument("--answers", type=int, default=20, help="answers per guest (20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--deadline", type=float, default=300.0, help="seconds the learners may take (300)"
    )
    parser.add_argument(
        "--hold-lock",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="hold the database's write lock this long while learners answer (0: off); "
        "must exceed the busy timeout",
    )
    args = parser.parse_args(argv)
    if min(args.learners, args.answers, args.workers) < 1 or args.deadline <= 0:
        parser.error("--learners, --answers, --workers and --deadline must be positive")
    if not 0 <= args.hold_lock < math.inf:
        parser.error("--hold-lock must be 0 (off) or a number of seconds")

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the cleanup

    signal.signal(signal.SIGTERM, terminate)
    try:
        return run(args.learners, args.answers, args.workers, args.deadline, args.hold_lock)
    except RuntimeError as exc:
        log(f"loadtest: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
