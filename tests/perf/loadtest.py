"""Load test: guest learners read lessons, sync progress and answer questions at once.

    python -m tests.perf.loadtest [--learners 50] [--answers 20] [--workers 2]

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
from typing import Any

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


@contextmanager
def gunicorn(env: dict[str, str], workers: int, log_path: Path) -> Iterator[int]:
    """Serve ``app:create_app()`` as ``make run`` does; yields the port once it answers.

    The server runs in its own process group, which is stopped (then killed) on exit.
    """
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--no-control-socket",
        "app:create_app()",
    ]  # fmt: skip
    with log_path.open("wb") as output:
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
        wait_until_up(port, process)
        yield port
    finally:
        stop(process)


def wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT_S:.0f} s")


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


def course_plan(instance: Path, database_url: str) -> list[LessonPlan]:
    """The course's lessons with their questions and a right and a wrong answer to each."""
    from app import create_app
    from app.lessons.store import catalog
    from tests.quiz_client import correct_answer, wrong_answer

    app = create_app(
        {
            "APP_ENV": "local",
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "CONTENT_DIR": str(ROOT / "content"),
        }
    )
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


@dataclass
class Reply:
    status: int  # 0: no response (timeout, lost connection)
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Unexpected(Exception):
    """A reply the browser's scripts would not expect; the learner stops."""


class Browser:
    """One learner's browser: a cookie jar and the retrying ``fetch`` of the page scripts."""

    def __init__(self, base: str, stats: Stats, deadline: float) -> None:
        self.base = base
        self.stats = stats
        self.deadline = deadline
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
        return reply

    def send(self, kind: str, method: str, path: str, body: Any = None, csrf: str = "") -> Reply:
        """Send, retrying the same bytes on a timeout, lost connection or 502/503/504."""
        data = None
        headers = {"Accept": "application/json" if body is not None else "text/html"}
        if body is not None:
            data = json.dumps(body).encode()
            headers.update({"Content-Type": "application/json", "X-CSRFToken": csrf})
        for attempt in range(len(RETRY_DELAYS_S) + 1):
            reply = self._once(method, path, data, headers)
            if reply.status and reply.status not in RETRY_STATUSES:
                return reply
            if attempt == len(RETRY_DELAYS_S):
                break
            delay = RETRY_DELAYS_S[attempt]
            retry_after = reply.headers.get("Retry-After", "")
            if retry_after.replace(".", "", 1).isdigit():
                delay = min(float(retry_after), MAX_RETRY_AFTER_S)
            if time.monotonic() + delay >= self.deadline:
                break
            self.stats.retried(kind)
            time.sleep(delay)
        what = f"HTTP {reply.status}" if reply.status else "no response"
        raise Unexpected(f"{method} {path}: {what} after {attempt} retries")

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
        deadline: float,
    ) -> None:  # fmt: skip
        self.number = number
        self.browser = Browser(base, stats, deadline)
        self.plan = plan
        self.answers_left = answers
        self.stats = stats
        self.deadline = deadline
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


def drive(port: int, plan: list[LessonPlan], learners: int, answers: int, deadline: float) -> Stats:
    stats = Stats()
    base = f"http://127.0.0.1:{port}"
    threads = [
        threading.Thread(
            target=Learner(n, base, plan, answers, stats, deadline).run,
            name=f"learner-{n}",
            daemon=True,
        )
        for n in range(learners)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        # A request never outlives the deadline by more than its own timeout.
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT_S + 5)
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        stats.problem(f"{stuck} learner thread(s) still running after the deadline")
    return stats


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


def run(learners: int, answers: int, workers: int, deadline_s: float) -> int:
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
        plan = course_plan(instance, database_url)
        before = count_attempts(uri)
        if before:
            log(f"loadtest: the database already holds {before} attempts; counting new ones")
        with gunicorn(env, workers, server_log) as port:
            log(
                f"loadtest: gunicorn with {workers} workers on port {port}; "
                f"{learners} learners x {answers} answers"
            )
            load_started = time.monotonic()
            stats = drive(port, plan, learners, answers, load_started + deadline_s)
            load_s = time.monotonic() - load_started
        attempts = count_attempts(uri) - before
        server_text = server_log.read_text(errors="replace")
        locked = sum(LOCKED_TEXT in line.lower() for line in server_text.splitlines())
        ok = (
            attempts == expected
            and stats.server_errors == 0
            and locked == 0
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
        for text in stats.problems[:20]:
            log(f"loadtest: problem: {text}")
        if len(stats.problems) > 20:
            log(f"loadtest: ... and {len(stats.problems) - 20} more problems")
        if not ok:
            tail = "\n".join(server_text.splitlines()[-40:])
            log(f"loadtest: FAILED; the server log ends with:\n{tail}")
        latencies = stats.answer_ms
        print(
            f"loadtest: attempts={attempts} expected={expected} 5xx={stats.server_errors} "
            f"locked={locked} p50={percentile(latencies, 0.50)} "
            f"p95={percentile(latencies, 0.95)} p99={percentile(latencies, 0.99)}",
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
    args = parser.parse_args(argv)
    if min(args.learners, args.answers, args.workers) < 1 or args.deadline <= 0:
        parser.error("--learners, --answers, --workers and --deadline must be positive")

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the cleanup

    signal.signal(signal.SIGTERM, terminate)
    try:
        return run(args.learners, args.answers, args.workers, args.deadline)
    except RuntimeError as exc:
        log(f"loadtest: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
