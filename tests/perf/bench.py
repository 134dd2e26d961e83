"""Page and API benchmark with wrk: our app against bare Flask, same gunicorn, same rounds.

    python -m tests.perf.bench [--duration 10] [--rounds 5] [--connections 16] [--threads 2]
                               [--workers 2] [--learners 1000] [--questions 50]
                               [--lessons 200] [--memory-requests 100] [--no-fail]

Prepares a temporary instance as ``make run`` does (``APP_ENV=local``, ``flask db
upgrade``, ``flask content build``), generates instructor data straight into its database
(``--learners`` accounts, each with attempts at ``--questions`` questions and lesson
progress rows), and serves it with ``gunicorn -w <workers>`` on 127.0.0.1 next to a bare
Flask hello-world (``tests/perf/bare_app.py``) on the same settings. Each round runs
``wrk -t<threads> -c<connections> -d<duration>s`` once against hello-world and then once
per scenario:

- ``catalog``: ``/`` as a returning guest (the session cookie of an earlier visit);
- ``guest_lesson``: a lesson page as a returning guest;
- ``learner_lesson``: the lesson page as a signed-in learner with progress (registered
  and signed in through the HTTP forms, some questions answered and progress reported);
- ``quiz_answer``: the JSON answer endpoint, each request a new attempt with its own
  ``submission_id`` (made by the wrk script), for a pool of guests and questions;
- ``progress_sync``: the JSON progress endpoint, for a pool of guests and lessons;
- ``instructor_course``: the instructor's course page, signed in as an instructor.

Every request sends ``Accept-Encoding: gzip``. The wrk script counts the responses by
status class; a run with anything but 2xx responses, or (for answers) fewer stored
attempts than acknowledged ones, is invalid. Ratios are each scenario's req/s divided by
hello-world's in the same round; the report shows medians over the rounds.

Then a generated course of ``--lessons`` lessons (copies of the bundled lessons with new
slugs and titles) is served from a temporary content folder (``CONTENT_DIR``): the time
from starting gunicorn to the first 200 response with an empty and with a filled disk
cache, ``flask content build`` on an empty and on a filled cache, and ``mkdocs build`` of
the same markdown files for comparison. After ``--memory-requests`` requests spread over
those lessons the PSS of each worker is read from ``/proc/<pid>/smaps_rollup``.

Prints a table and writes every raw run and the medians to
``tests/perf/results/bench-<UTC timestamp>.json``. Exit status: 0 when every target is
met, 1 when one is missed or a measurement is invalid (0 with ``--no-fail``), 2 when the
benchmark could not run. Only 127.0.0.1 is used; every wait is bounded in time, every
process started is stopped and temporary folders are removed.
"""

from __future__ import annotations

import argparse
import html
import http.client
import http.cookiejar
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.perf.loadtest import (
    BIN,
    COURSE,
    ROOT,
    Server,
    count_attempts,
    gunicorn,
    local_app,
    log,
    parse_lesson,
    server_env,
    tail,
)

LESSON = "what-is-flask"
LESSON_PATH = f"/courses/{COURSE}/{LESSON}/"
INSTRUCTOR_PATH = f"/instructor/{COURSE}/"
INSTRUCTOR_EMAIL = "bench-instructor@example.org"
RESULTS_DIR = ROOT / "tests" / "perf" / "results"
START_TIMEOUT_S = 120.0
COMMAND_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 30.0
WRK_TIMEOUT = "10s"  # a response slower than this counts as a wrk timeout
POOL_SIZE = 16  # guests whose sessions the POST scenarios take turns with
LEARNER_ANSWERS = 3  # questions the signed-in learner answers before the measurement
HELLO = "hello"
SCENARIOS = (
    "catalog",
    "guest_lesson",
    "learner_lesson",
    "quiz_answer",
    "progress_sync",
    "instructor_course",
)
LABELS = {
    HELLO: "hello-world (bare Flask)",
    "catalog": "catalog / (returning guest)",
    "guest_lesson": "lesson page, returning guest",
    "learner_lesson": "lesson page, signed-in learner",
    "quiz_answer": "quiz answer POST (JSON)",
    "progress_sync": "progress sync POST (JSON)",
    "instructor_course": "instructor course view",
}
# Minimum req/s as a share of hello-world's, measured in the same round.
RATIO_TARGETS = {
    "guest_lesson": 0.35,
    "learner_lesson": 0.25,
    "quiz_answer": 0.18,
    "progress_sync": 0.20,
}
P99_TARGETS_MS = {"instructor_course": 300.0}
PSS_TARGET_MB = 80.0
RESULT_PREFIX = "BENCH_RESULT "
USER_AGENT = "course-platform-bench/1"


class BenchError(RuntimeError):
    """The benchmark could not be run (a server did not start, wrk failed...)."""


# --- processes -------------------------------------------------------------------------


def run_command(
    command: list[str], env: dict[str, str], cwd: Path = ROOT, expect: str = ""
) -> float:
    """Run ``command`` to completion; returns its wall time in seconds.

    With ``expect``, the command's output must contain that text.
    """
    started = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        log(result.stdout[-4000:] + result.stderr[-4000:])
        raise BenchError(f"{' '.join(command)} failed with {result.returncode}")
    if expect not in result.stdout + result.stderr:
        log(result.stdout[-4000:] + result.stderr[-4000:])
        raise BenchError(f"{' '.join(command)} did not report {expect!r}")
    return elapsed


def flask(env: dict[str, str], *args: str) -> float:
    # `flask content build` must load every lesson without an error.
    expect = " 0 error(s)" if args[:2] == ("content", "build") else ""
    return run_command([sys.executable, "-m", "flask", *args], env, expect=expect)


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's children (its workers)."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parentheses.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == master:
            children.append(int(entry.name))
    return sorted(children)


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no Pss line in /proc/{pid}/smaps_rollup")


# --- HTTP clients ----------------------------------------------------------------------


class Browser:
    """One cookie jar on 127.0.0.1, following redirects like a browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        # wrk sends the same: a signed-in session stays that browser's ("fresh").
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def _open(self, request: urllib.request.Request) -> tuple[int, str, str]:
        """Status, text and the final URL (after redirects)."""
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                text = response.read().decode("utf-8", "replace")
                return response.status, text, response.url
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8", "replace"), error.url
        except (OSError, http.client.HTTPException) as exc:
            raise BenchError(f"{request.method} {request.full_url}: {exc!r}") from exc

    def get(self, path: str) -> str:
        request = urllib.request.Request(self.base + path)  # noqa: S310 - loopback
        status, text, _ = self._open(request)
        if status != 200:
            raise BenchError(f"GET {path}: HTTP {status}")
        return text

    def post_form(self, path: str, data: dict[str, str]) -> str:
        """POST a form with the page's CSRF token (the page is loaded first).

        An accepted form redirects elsewhere; one shown again has been refused.
        """
        page = self.get(path)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        if token is None:
            raise BenchError(f"no csrf_token on {path}")
        body = urllib.parse.urlencode({"csrf_token": token.group(1), **data}).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")  # noqa: S310
        status, text, url = self._open(request)
        if status != 200 or urllib.parse.urlsplit(url).path == path:
            raise BenchError(f"POST {path} was refused: HTTP {status} at {url}")
        return text

    def post_json(self, path: str, body: Any, csrf: str) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-CSRFToken": csrf,
            },
        )
        status, text, _ = self._open(request)
        if status != 200:
            raise BenchError(f"POST {path}: HTTP {status} {text[:200]}")
        return json.loads(text)

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


# --- answers and generated data --------------------------------------------------------


@dataclass(frozen=True)
class QuestionInfo:
    lesson: str
    id: str
    type: str
    revision: str
    correct: Any
    wrong: Any


@dataclass
class CourseInfo:
    questions: list[QuestionInfo]
    outlines: dict[str, tuple[str, ...]]  # lesson slug: heading ids


def course_info(instance: Path) -> CourseInfo:
    """Every question of the bundled course with a right and a wrong answer."""
    from app.lessons.store import catalog
    from tests.quiz_client import correct_answer, wrong_answer

    app = local_app(instance, "")
    questions: list[QuestionInfo] = []
    outlines: dict[str, tuple[str, ...]] = {}
    with app.app_context():
        course = catalog().course(COURSE)
        if course is None:
            raise BenchError(f"the bundled content has no course {COURSE!r}")
        for lesson in course.lessons:
            outlines[lesson.slug] = tuple(lesson.heading_ids)
            for spec in lesson.questions:
                try:
                    right, wrong = correct_answer(spec), wrong_answer(spec)
                except StopIteration:  # only patterns accept it: no plain answer
                    continue
                questions.append(
                    QuestionInfo(lesson.slug, spec.id, spec.type, spec.revision, right, wrong)
                )
    return CourseInfo(questions, outlines)


def generate_instructor_data(
    instance: Path, info: CourseInfo, learners: int, questions: int
) -> dict[str, int]:
    """``learners`` accounts, each with attempts at ``questions`` questions and progress rows.

    Bulk inserts straight into the database with the app's models.
    """
    from sqlalchemy import insert

    from app.extensions import db
    from app.models import LessonProgress, QuizAttempt, User

    chosen = info.questions[:questions]
    lessons = sorted({q.lesson for q in chosen}, key=list(info.outlines).index)
    rng = random.Random(1)  # noqa: S311 - not for security
    moment = datetime.now(UTC)
    app = local_app(instance, "")
    started = time.perf_counter()
    with app.app_context():
        users = [
            {
                "email": f"bench-learner-{n}@example.org",
                "display_name": f"Learner {n}",
                "password_hash": "generated-account-without-password",
                "role": "learner",
                "created_at": moment - timedelta(days=60),
            }
            for n in range(learners)
        ]
        db.session.execute(insert(User), users)
        ids = list(db.session.scalars(db.select(User.id).where(User.email.like("bench-learner-%"))))
        attempts: list[dict[str, Any]] = []
        progress: list[dict[str, Any]] = []
        for user_id in ids:
            for question in chosen:
                number = 1
                if rng.random() < 0.3:
                    attempts.append(
                        attempt_row(user_id, question, question.wrong, False, number, moment, rng)
                    )
                    number += 1
                attempts.append(
                    attempt_row(user_id, question, question.correct, True, number, moment, rng)
                )
            for lesson in lessons:
                outline = info.outlines[lesson]
                percent = rng.choice((20, 50, 80, 100, 100))
                index = min(len(outline) - 1, len(outline) * percent // 100)
                seen = moment - timedelta(minutes=rng.randrange(60 * 24 * 30))
                progress.append(
                    {
                        "user_id": user_id,
                        "course": COURSE,
                        "lesson": lesson,
                        "started_at": seen - timedelta(minutes=30),
                        "last_seen_at": seen,
                        "created_at": seen - timedelta(minutes=30),
                        "furthest_section": outline[index] if outline else None,
                        "furthest_index": index if outline else -1,
                        "percent_read": percent,
                        "completed_at": seen if percent == 100 else None,
                        "marked_complete": False,
                    }
                )
        for start in range(0, len(attempts), 10_000):
            db.session.execute(insert(QuizAttempt), attempts[start : start + 10_000])
        db.session.execute(insert(LessonProgress), progress)
        db.session.commit()
        db.engine.dispose()
    return {
        "learners": learners,
        "questions": len(chosen),
        "attempts": len(attempts),
        "progress_rows": len(progress),
        "seconds": round(time.perf_counter() - started, 2),
    }


def create_instructor(instance: Path) -> str:
    """The instructor account (as `flask users create --role instructor` makes it)."""
    from app.accounts.users import create_user
    from app.extensions import db

    password = secrets.token_urlsafe(18)
    app = local_app(instance, "")
    with app.app_context():
        create_user(INSTRUCTOR_EMAIL, "Bench Instructor", password, "instructor")
        db.session.commit()
        db.engine.dispose()
    return password


def attempt_row(
    user_id: int,
    question: QuestionInfo,
    answer: Any,
    correct: bool,
    number: int,
    moment: datetime,
    rng: random.Random,
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "course": COURSE,
        "lesson": question.lesson,
        "question_id": question.id,
        "revision": question.revision,
        "submission_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "answer": answer,
        "correct": correct,
        "score": 1.0 if correct else 0.0,
        "attempt_number": number,
        "after_reveal": False,
        "misconceptions": [],
        "created_at": moment - timedelta(minutes=rng.randrange(60 * 24 * 30)),
    }


def answer_body(revision: str, answer: Any) -> Any:
    """The JSON the quiz script sends, without its ``submission_id``."""
    return {"revision": revision, "answer": answer}


# --- sessions for the scenarios --------------------------------------------------------


@dataclass
class Guest:
    cookie: str
    csrf: str
    revisions: dict[str, str]  # question id: the revision its answer form carries


@dataclass
class Sessions:
    guest: Guest
    learner_cookie: str
    instructor_cookie: str
    pool: list[Guest] = field(default_factory=list)


def new_guest(base: str) -> tuple[Browser, Guest]:
    browser = Browser(base)
    page = parse_lesson(browser.get(LESSON_PATH))
    browser.get(LESSON_PATH)  # the "earlier visit" is behind it: a returning guest
    revisions = {question: form.revision for question, form in page.forms.items()}
    return browser, Guest(browser.cookie(), page.csrf, revisions)


def make_sessions(base: str, info: CourseInfo, instructor_password: str) -> Sessions:
    """Guests, a learner with progress and an instructor, all through HTTP."""
    _, guest = new_guest(base)
    pool = [new_guest(base)[1] for _ in range(POOL_SIZE)]

    email = "bench-learner@example.org"
    password = secrets.token_urlsafe(18)
    Browser(base).post_form(
        "/auth/register",
        {"email": email, "display_name": "Bench Learner", "password": password},
    )
    learner = Browser(base)  # a new browser signs in to the account
    learner.post_form("/auth/login", {"email": email, "password": password})
    page = parse_lesson(learner.get(LESSON_PATH))
    answered = [q for q in info.questions if q.lesson == LESSON][:LEARNER_ANSWERS]
    for question in answered:
        form = page.forms[question.id]
        for answer in (question.wrong, question.correct):
            body = {**answer_body(form.revision, answer), "submission_id": str(uuid.uuid4())}
            learner.post_json(form.action, body, form.csrf)
    middle = page.sections[len(page.sections) // 2]
    learner.post_json(page.sync_url, {"section": middle, "percent_read": 50}, page.csrf)
    shown = learner.get(LESSON_PATH)  # shows the progress (and uses up the sign-in message)
    progress = re.search(r"data-progress='([^']*)'", shown)
    if progress is None or json.loads(html.unescape(progress.group(1)))["percent_read"] < 50:
        raise BenchError("the signed-in learner's lesson page shows no progress")

    instructor = Browser(base)
    credentials = {"email": INSTRUCTOR_EMAIL, "password": instructor_password}
    instructor.post_form("/auth/login", credentials)
    instructor.get(INSTRUCTOR_PATH)
    return Sessions(guest, learner.cookie(), instructor.cookie(), pool)


# --- wrk -------------------------------------------------------------------------------


def lua_string(text: str) -> str:
    literal = json.dumps(text, ensure_ascii=False)
    if "\\u" in literal:
        raise BenchError(f"cannot write {text[:40]!r} into a Lua script")
    return literal


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None  # JSON; "submission_id" is added per request when ``unique`` is set
    unique: bool = False


LUA_TEMPLATE = """\
-- Generated by tests/perf/bench.py: takes turns with the requests below, counts the
-- responses by status class and prints a summary line in done().
local reqs = {
%(requests)s
}
local threads = {}
nonce = "00000000"  -- per wrk run, from the script's arguments (see init)
tid = 0
counter = 0
s1xx, s2xx, s3xx, s4xx, s5xx = 0, 0, 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  -- Submission ids start with the run's nonce: no two runs (or rounds) share one.
  if args[1] then nonce = args[1] end
end

function request()
  counter = counter + 1
  local r = reqs[(counter + tid) %% #reqs + 1]
  local body = r.body
  if r.pre then
    local id = string.format("%%s-%%04x-4000-8000-%%012x", nonce, tid, counter)
    body = r.pre .. id .. r.post
  end
  return wrk.format(r.method, r.path, r.headers, body)
end

function response(status, headers, body)
  if status >= 500 then s5xx = s5xx + 1
  elseif status >= 400 then s4xx = s4xx + 1
  elseif status >= 300 then s3xx = s3xx + 1
  elseif status >= 200 then s2xx = s2xx + 1
  else s1xx = s1xx + 1 end
end

function done(summary, latency, requests)
  local c = {0, 0, 0, 0, 0}
  for _, t in ipairs(threads) do
    c[1] = c[1] + t:get("s1xx")
    c[2] = c[2] + t:get("s2xx")
    c[3] = c[3] + t:get("s3xx")
    c[4] = c[4] + t:get("s4xx")
    c[5] = c[5] + t:get("s5xx")
  end
  local e = summary.errors
  io.write(string.format(
    '%(prefix)s{"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"status": {"1xx": %%d, "2xx": %%d, "3xx": %%d, "4xx": %%d, "5xx": %%d}, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"min": %%d, "mean": %%.1f, "p50": %%d, "p90": %%d, "p99": %%d, ' ..
    '"max": %%d}}\\n',
    summary.requests, summary.duration, summary.bytes, c[1], c[2], c[3], c[4], c[5],
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def lua_script(requests: list[Request]) -> str:
    entries = []
    for request in requests:
        headers = ", ".join(
            f"[{lua_string(k)}] = {lua_string(v)}" for k, v in request.headers.items()
        )
        parts = [
            f"method = {lua_string(request.method)}",
            f"path = {lua_string(request.path)}",
            f"headers = {{{headers}}}",
        ]
        if request.body is not None:
            if request.unique:
                marker = "@@SUBMISSION@@"
                text = json.dumps({**request.body, "submission_id": marker})
                pre, post = text.split(marker)
                parts += [f"pre = {lua_string(pre)}", f"post = {lua_string(post)}"]
            else:
                parts.append(f"body = {lua_string(json.dumps(request.body))}")
        entries.append("  {" + ", ".join(parts) + "},")
    return LUA_TEMPLATE % {
        "requests": "\n".join(entries),
        "prefix": RESULT_PREFIX,
    }


def run_wrk(
    wrk: str, base: str, script: Path, duration: float, connections: int, threads: int
) -> dict[str, Any]:
    command = [
        wrk, "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
        "--timeout", WRK_TIMEOUT, "-s", str(script), base + "/", "--", secrets.token_hex(4),
    ]  # fmt: skip
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if result.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stdout}{result.stderr}")
    raw = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    seconds = raw["duration_us"] / 1e6
    raw["rps"] = round(raw["requests"] / seconds, 1) if seconds > 0 else 0.0
    raw["p50_ms"] = round(raw["latency_us"]["p50"] / 1000, 2)
    raw["p99_ms"] = round(raw["latency_us"]["p99"] / 1000, 2)
    problems = []
    other = raw["requests"] - raw["status"]["2xx"]
    if other:
        problems.append(f"{other} responses were not 2xx: {raw['status']}")
    socket_errors = {k: v for k, v in raw["errors"].items() if v and k != "status"}
    if socket_errors:
        problems.append(f"socket errors {socket_errors}")
    if raw["requests"] == 0:
        problems.append("no response")
    raw["problems"] = problems
    return raw


def scenario_requests(sessions: Sessions, info: CourseInfo) -> dict[str, list[Request]]:
    gzip = {"Accept-Encoding": "gzip", "User-Agent": USER_AGENT}
    page = {**gzip, "Accept": "text/html"}

    def json_headers(guest: Guest) -> dict[str, str]:
        return {
            **gzip,
            "Cookie": guest.cookie,
            "X-CSRFToken": guest.csrf,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    lesson_questions = [q for q in info.questions if q.lesson == LESSON]
    answers = []
    for n, guest in enumerate(sessions.pool):
        for m, question in enumerate(lesson_questions):
            answer = question.correct if (n + m) % 2 else question.wrong
            path = f"/courses/{COURSE}/{LESSON}/quiz/{question.id}/answer"
            body = answer_body(guest.revisions[question.id], answer)
            answers.append(Request("POST", path, json_headers(guest), body, unique=True))
    syncs = []
    lessons = list(info.outlines)
    for n, guest in enumerate(sessions.pool):
        for m, lesson in enumerate(lessons):
            outline = info.outlines[lesson]
            for step in range(4):
                percent = 25 * step + (n + m) % 25
                section = outline[len(outline) * percent // 100] if outline else None
                body = {"section": section, "percent_read": percent}
                path = f"/api/v1/progress/{COURSE}/{lesson}"
                syncs.append(Request("POST", path, json_headers(guest), body))
    random.Random(2).shuffle(syncs)  # noqa: S311 - not for security
    return {
        HELLO: [Request("GET", "/hello", page)],
        "catalog": [Request("GET", "/", {**page, "Cookie": sessions.guest.cookie})],
        "guest_lesson": [Request("GET", LESSON_PATH, {**page, "Cookie": sessions.guest.cookie})],
        "learner_lesson": [
            Request("GET", LESSON_PATH, {**page, "Cookie": sessions.learner_cookie})
        ],
        "quiz_answer": answers,
        "progress_sync": syncs,
        "instructor_course": [
            Request("GET", INSTRUCTOR_PATH, {**page, "Cookie": sessions.instructor_cookie})
        ],
    }


# --- the generated course (memory and start times) -------------------------------------


LINK_RE = re.compile(r"\]\((\d\d-[\w-]+\.md)((?:#[^)\s]*)?)\)")
QUIZ_ID_RE = re.compile(r"(?<=```quiz id=)[\w-]+")
TITLE_RE = re.compile(r"^title: (.*)$", re.MULTILINE)


def retitle(value: str, number: int) -> str:
    title = yaml.safe_load(value)
    return f"title: {json.dumps(f'{title} (part {number})', ensure_ascii=False)}"


def generate_course(target: Path, count: int) -> tuple[str, list[str]]:
    """A course of ``count`` lessons made from the bundled ones; returns its slug and lessons."""
    source = ROOT / "content" / COURSE
    originals = sorted(p for p in source.glob("*.md") if re.match(r"\d+-", p.name))
    if not originals:
        raise BenchError(f"no lessons in {source}")
    slug = "generated-course"
    course_dir = target / slug
    course_dir.mkdir(parents=True)
    course_yml = (source / "course.yml").read_text()
    course_yml = re.sub(r"^title: .*$", "title: Generated Course", course_yml, count=1, flags=re.M)
    (course_dir / "course.yml").write_text(course_yml)
    names: dict[tuple[int, str], str] = {}
    for n in range(count):
        original = originals[n % len(originals)]
        base = re.sub(r"^\d+-", "", original.stem)
        names[(n // len(originals), original.name)] = f"{n + 1:03d}-{base}-{n + 1}.md"
    lessons = []
    for n in range(count):
        cycle, original = divmod(n, len(originals))
        path = originals[original]
        text = path.read_text()

        def relink(match: re.Match[str], cycle: int = cycle) -> str:
            name = names.get((cycle, match.group(1))) or names.get((0, match.group(1)))
            return f"]({name or match.group(1)}{match.group(2)})"

        text = LINK_RE.sub(relink, text)
        # Question ids are unique in a course.
        text = QUIZ_ID_RE.sub(lambda m, n=n: f"{m.group(0)}-{n + 1}", text)
        text = TITLE_RE.sub(lambda m, n=n: retitle(m.group(1), n + 1), text, count=1)
        name = names[(cycle, path.name)]
        (course_dir / name).write_text(text)
        lessons.append(name.removesuffix(".md").split("-", 1)[1])
    return slug, lessons


def measure_content(
    tmp: Path, lessons_count: int, workers: int, requests: int, cold_env: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start times (cold and warm), content builds, mkdocs, and PSS per worker."""
    content = tmp / "generated-content"
    slug, lessons = generate_course(content, lessons_count)
    first = f"/courses/{slug}/{lessons[0]}/"
    start: dict[str, Any] = {"lessons": lessons_count}
    memory: dict[str, Any] = {"lessons": lessons_count, "requests": requests}

    # Serving: empty cache, then the cache the first server filled.
    serve_instance = tmp / "instance-serve"
    serve_instance.mkdir()
    env = {**server_env(serve_instance, ""), "CONTENT_DIR": str(content)}
    flask(env, "db", "upgrade")
    build_instance = tmp / "instance-build"  # the same database, an empty cache
    shutil.copytree(serve_instance, build_instance)
    log_path = tmp / "gunicorn-content.log"
    with gunicorn(env, workers, log_path, probe=first, start_timeout_s=START_TIMEOUT_S) as server:
        start["gunicorn_cold_s"] = round(server.started_s, 3)
    with gunicorn(env, workers, log_path, probe=first, start_timeout_s=START_TIMEOUT_S) as server:
        start["gunicorn_warm_s"] = round(server.started_s, 3)
        browser = Browser(server.base)
        for n in range(requests):
            browser.get(f"/courses/{slug}/{lessons[(n * len(lessons)) // requests]}/")
        pids = worker_pids(server.process.pid)
        if not pids:
            raise BenchError("found no gunicorn worker to measure")
        per_worker = {str(pid): round(pss_mb(pid), 1) for pid in pids}
        memory["pss_mb"] = per_worker
        memory["max_pss_mb"] = max(per_worker.values())
        memory["master_pss_mb"] = round(pss_mb(server.process.pid), 1)

    # `flask content build`: empty cache, then filled.
    build_env = {**server_env(build_instance, ""), "CONTENT_DIR": str(content)}
    start["content_build_cold_s"] = round(flask(build_env, "content", "build"), 3)
    start["content_build_warm_s"] = round(flask(build_env, "content", "build"), 3)

    # mkdocs build of the same markdown files.
    docs = tmp / "mkdocs"
    shutil.copytree(content / slug, docs / "docs", ignore=shutil.ignore_patterns("*.yml"))
    (docs / "mkdocs.yml").write_text(
        "site_name: Generated Course\ndocs_dir: docs\nsite_dir: site\n"
    )
    mkdocs = shutil.which("mkdocs", path=str(BIN)) or shutil.which("mkdocs")
    if mkdocs is None:
        start["mkdocs_build_s"] = None
        start["error"] = "mkdocs is not installed (pip install -r requirements-dev.txt)"
    else:
        start["mkdocs_build_s"] = round(
            run_command([mkdocs, "build", "--quiet"], cold_env, docs), 3
        )
        reference = start["mkdocs_build_s"]
        start["ratios_to_mkdocs"] = {
            name.removesuffix("_s"): round(start[name] / reference, 2)
            for name in (
                "content_build_cold_s",
                "content_build_warm_s",
                "gunicorn_cold_s",
                "gunicorn_warm_s",
            )
        }
    return memory, start


# --- the run ---------------------------------------------------------------------------


@dataclass
class Options:
    duration: float = 10.0
    rounds: int = 5
    connections: int = 16
    threads: int = 2
    workers: int = 2
    learners: int = 1000
    questions: int = 50
    lessons: int = 200
    memory_requests: int = 100
    output_dir: Path = RESULTS_DIR
    no_fail: bool = False


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed: apt-get install -y --no-install-recommends wrk")
    return wrk


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else 0.0


def run(options: Options) -> dict[str, Any]:
    """The whole benchmark; returns the report (also written as JSON)."""
    wrk = find_wrk()
    started = datetime.now(UTC)
    clock = time.monotonic()

    def phase(text: str) -> None:
        log(f"bench: [{time.monotonic() - clock:5.1f} s] {text}")

    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        instance = tmp / "instance"
        instance.mkdir()
        env = server_env(instance, "")
        flask(env, "db", "upgrade")  # as `make run` does
        flask(env, "content", "build")
        info = course_info(instance)
        data = generate_instructor_data(instance, info, options.learners, options.questions)
        instructor_password = create_instructor(instance)
        phase(f"prepared the instance and generated {data}")
        database = local_app(instance, "").config["SQLALCHEMY_DATABASE_URI"]
        log_path = tmp / "gunicorn.log"
        bare_env = {**env, "BENCH_PAGE_FILE": "/dev/null"}
        try:
            with (
                gunicorn(env, options.workers, log_path) as ours,
                gunicorn(
                    bare_env,
                    options.workers,
                    log_path,
                    target="tests.perf.bare_app:app",
                    probe="/hello",
                ) as bare,
            ):
                phase("servers up")
                sessions = make_sessions(ours.base, info, instructor_password)
                phase("sessions ready")
                scripts = {}
                for name, entries in scenario_requests(sessions, info).items():
                    scripts[name] = tmp / f"{name}.lua"
                    scripts[name].write_text(lua_script(entries))
                rounds = [
                    measure_round(number, options, wrk, scripts, ours, bare, database)
                    for number in range(1, options.rounds + 1)
                ]
        except BenchError as exc:
            raise BenchError(f"{exc}\nthe servers' log ends with:\n{tail(log_path)}") from exc
        phase("rounds done")
        memory, start = measure_content(
            tmp, options.lessons, options.workers, options.memory_requests, env
        )
        phase(f"generated lessons measured: {memory} {start}")
        report = summarize(options, started, data, rounds, memory, start, wrk)
        write_report(report, options.output_dir, started)
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure_round(
    number: int,
    options: Options,
    wrk: str,
    scripts: dict[str, Path],
    ours: Server,
    bare: Server,
    database: str,
) -> dict[str, Any]:
    """Hello-world, then each scenario once; ratios against this round's hello-world."""
    runs: dict[str, Any] = {}
    for name in (HELLO, *SCENARIOS):
        base = bare.base if name == HELLO else ours.base
        before = count_attempts(database) if name == "quiz_answer" else 0
        raw = run_wrk(
            wrk, base, scripts[name], options.duration, options.connections, options.threads
        )
        if name == "quiz_answer":
            # Each 2xx must be a new attempt (not a replay); requests still in flight when
            # wrk stops may be stored without being counted.
            stored = count_attempts(database) - before
            raw["attempts_stored"] = stored
            acknowledged = raw["status"]["2xx"]
            if not acknowledged <= stored <= acknowledged + options.connections:
                raw["problems"].append(f"{stored} attempts stored for {acknowledged} acknowledged")
        if name != HELLO:
            raw["ratio"] = round(raw["rps"] / runs[HELLO]["rps"], 3) if runs[HELLO]["rps"] else 0
        runs[name] = raw
        log(
            f"bench: round {number} {name}: {raw['rps']:.0f} req/s "
            f"p50={raw['p50_ms']} ms p99={raw['p99_ms']} ms"
            + (f" ratio={raw['ratio']}" if "ratio" in raw else "")
            + (f" PROBLEMS {raw['problems']}" if raw["problems"] else "")
        )
    return {"round": number, "runs": runs}


def summarize(
    options: Options,
    started: datetime,
    data: dict[str, int],
    rounds: list[dict[str, Any]],
    memory: dict[str, Any],
    start: dict[str, Any],
    wrk: str,
) -> dict[str, Any]:
    medians: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    for name in (HELLO, *SCENARIOS):
        runs = [r["runs"][name] for r in rounds]
        medians[name] = {
            "rps": median([r["rps"] for r in runs]),
            "p50_ms": median([r["p50_ms"] for r in runs]),
            "p99_ms": median([r["p99_ms"] for r in runs]),
            "ratio": median([r["ratio"] for r in runs]) if name != HELLO else None,
        }
        problems = [p for r in runs for p in r["problems"]]
        if problems:
            checks.append(
                {"name": f"{name} valid", "value": len(problems), "target": 0, "passed": False}
            )
        if name in RATIO_TARGETS:
            value, target = medians[name]["ratio"], RATIO_TARGETS[name]
            checks.append(
                {"name": f"{name} ratio", "value": value, "target": f">= {target}",
                 "passed": value >= target}
            )  # fmt: skip
        if name in P99_TARGETS_MS:
            value, target = medians[name]["p99_ms"], P99_TARGETS_MS[name]
            checks.append(
                {"name": f"{name} p99_ms", "value": value, "target": f"< {target:g}",
                 "passed": value < target}
            )  # fmt: skip
    checks.append(
        {"name": "max_pss_mb per worker", "value": memory["max_pss_mb"],
         "target": f"<= {PSS_TARGET_MB:g}", "passed": memory["max_pss_mb"] <= PSS_TARGET_MB}
    )  # fmt: skip
    wrk_version = subprocess.run(
        [wrk, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    return {
        "started_utc": started.isoformat(timespec="seconds"),
        "settings": {
            "duration_s": options.duration,
            "rounds": options.rounds,
            "connections": options.connections,
            "threads": options.threads,
            "workers": options.workers,
            "learners": options.learners,
            "questions": options.questions,
            "lessons": options.lessons,
            "memory_requests": options.memory_requests,
        },
        "environment": {
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "wrk": (wrk_version.stdout + wrk_version.stderr).splitlines()[0:1],
        },
        "generated_data": data,
        "rounds": rounds,
        "medians": medians,
        "memory": memory,
        "start": start,
        "checks": checks,
        "passed": all(check["passed"] for check in checks),
    }


def write_report(report: dict[str, Any], directory: Path, started: datetime) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    report["json_path"] = str(path)
    return path


def table(report: dict[str, Any]) -> str:
    """The readable summary: one row per scenario, memory and start times."""
    checks = {check["name"]: check for check in report["checks"]}
    header = ("scenario", "req/s", "p50 ms", "p99 ms", "ratio", "target", "result")
    rows: list[tuple[str, ...]] = []
    for name, m in report["medians"].items():
        target, result = "-", "-"
        if name in RATIO_TARGETS:
            check = checks[f"{name} ratio"]
            target, result = check["target"], "pass" if check["passed"] else "FAIL"
        elif name in P99_TARGETS_MS:
            check = checks[f"{name} p99_ms"]
            target, result = f"p99 {check['target']} ms", "pass" if check["passed"] else "FAIL"
        if f"{name} valid" in checks:
            result = "INVALID"
        ratio = "1 (reference)" if m["ratio"] is None else f"{m['ratio']:.3f}"
        rows.append(
            (LABELS[name], f"{m['rps']:.0f}", f"{m['p50_ms']:.1f}", f"{m['p99_ms']:.1f}",
             ratio, target, result)
        )  # fmt: skip
    memory = report["memory"]
    check = checks["max_pss_mb per worker"]
    rows.append(
        (f"PSS per worker, {memory['lessons']} lessons", f"{memory['max_pss_mb']:.1f} MB",
         "-", "-", "-", f"{check['target']} MB", "pass" if check["passed"] else "FAIL")
    )  # fmt: skip
    start = report["start"]
    ratios = start.get("ratios_to_mkdocs", {})
    for key, label in (
        ("content_build_cold", "flask content build, empty cache"),
        ("content_build_warm", "flask content build, filled cache"),
        ("gunicorn_cold", "gunicorn start to first 200, empty cache"),
        ("gunicorn_warm", "gunicorn start to first 200, filled cache"),
    ):
        ratio = ratios.get(key)
        rows.append(
            (label, f"{start[f'{key}_s']:.2f} s", "-", "-",
             "-" if ratio is None else f"{ratio:.2f}x mkdocs", "-", "-")
        )  # fmt: skip
    if start.get("mkdocs_build_s") is not None:
        rows.append(
            (f"mkdocs build, {start['lessons']} lessons", f"{start['mkdocs_build_s']:.2f} s",
             "-", "-", "1 (reference)", "-", "-")
        )  # fmt: skip
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    settings = report["settings"]
    lines.append(
        f"wrk -t{settings['threads']} -c{settings['connections']} -d{settings['duration_s']:g}s, "
        f"medians of {settings['rounds']} round(s); gunicorn -w {settings['workers']}; "
        f"ratios: req/s / hello-world req/s in the same round"
    )
    lines.append(f"result: {'all targets met' if report['passed'] else 'TARGETS MISSED'}")
    if "json_path" in report:
        lines.append(f"raw runs: {report['json_path']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Options()
    parser.add_argument("--duration", type=float, default=defaults.duration, help="s per run")
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--workers", type=int, default=defaults.workers, help="gunicorn -w")
    parser.add_argument("--learners", type=int, default=defaults.learners)
    parser.add_argument("--questions", type=int, default=defaults.questions)
    parser.add_argument("--lessons", type=int, default=defaults.lessons)
    parser.add_argument("--memory-requests", type=int, default=defaults.memory_requests)
    parser.add_argument("--output-dir", type=Path, default=defaults.output_dir)
    parser.add_argument(
        "--no-fail", action="store_true", help="exit 0 even when a target is missed"
    )
    args = parser.parse_args(argv)
    options = Options(**vars(args))
    positive = (options.duration, options.rounds, options.connections, options.threads)
    if min(positive) <= 0 or min(options.workers, options.lessons, options.learners) < 1:
        parser.error("durations and counts must be positive")
    if options.connections < options.threads:
        parser.error("--connections must be at least --threads")

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the cleanup

    signal.signal(signal.SIGTERM, terminate)
    try:
        report = run(options)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:  # BenchError, or a server that
        log(f"bench: {exc}")  # never answered (tests.perf.loadtest.gunicorn)
        return 2
    print(table(report), flush=True)
    if report["passed"] or options.no_fail:
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
