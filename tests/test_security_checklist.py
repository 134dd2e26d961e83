"""The security checklist's concrete cases that other test modules do not already make.

Each section names its row of the table in SECURITY.md. Everything goes through what a
visitor or an operator uses: the test client, the CLI, a real gunicorn, and the
``make audit`` script.
"""

from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import json
import re
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from packaging.version import Version
from sqlalchemy import event, func, select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import LessonProgress, QuizAttempt, User
from tests.account_client import PASSWORD, Browser, csrf_tokens, get_user, migrated_app
from tests.conftest import PROJECT_ROOT, SAMPLE_COURSE, MakeApp, WriteContent, isolated_app
from tests.quiz_client import Learner, correct_answer, rows, text_of, wrong_answer
from tests.test_quiz_gunicorn import BIN, free_port, question_form, server_env, stop, wait_until_up

COURSE, LESSON, SINGLE = "flask-fundamentals", "what-is-flask", "string-view-response-defaults"
WRONG = "not the right password at all"
RAISED_LIMITS = {"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_RATE_LIMIT": "1000 per minute"}
# The hashing scheme of every account, at a low cost: these tests count sign-ins and
# sessions, not hashing work (tests/test_passwords.py checks the real parameters).
FAST_HASH = "scrypt:1024:8:1"


def add_fast_user(app: Flask, email: str, password: str = PASSWORD) -> int:
    with app.app_context():
        user = User(
            email=email,
            display_name=email.split("@")[0],
            password_hash=generate_password_hash(password, method=FAST_HASH),
        )
        db.session.add(user)
        db.session.commit()
        return user.id


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


SECRET_KEY = "checklist-secret-key-never-served"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One migrated app for the tests that change nothing, with one account."""
    app = migrated_app(tmp_path_factory.mktemp("site"), SECRET_KEY=SECRET_KEY, **RAISED_LIMITS)
    add_fast_user(app, "next@example.org")
    return app


# ---------- row 4: at most 100 failed sign-ins per account and hour ----------


def test_the_default_lock_holds_after_100_failures_whatever_the_address(
    make_app: MakeApp,
) -> None:
    """120 wrong passwords from 120 addresses (so the per-address limit never applies):
    the first 100 are checked, the next 20 are refused, and so is the right password."""
    app = make_app()
    assert app.config["LOGIN_FAILURE_LIMIT"] == 100
    assert app.config["LOGIN_FAILURE_WINDOW"] == timedelta(hours=1)
    email = "brute-forced@example.org"
    add_fast_user(app, email)
    browser = Browser(app)

    statuses = []
    for attempt in range(120):
        browser.client.environ_base["REMOTE_ADDR"] = f"10.4.{attempt // 200}.{attempt % 200 + 1}"
        statuses.append(browser.login(email, WRONG).status_code)
    assert statuses == [400] * 100 + [429] * 20

    browser.client.environ_base["REMOTE_ADDR"] = "10.4.9.9"
    response = browser.login(email, PASSWORD)  # attempt 121, with the right password
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert not browser.signed_in()
    user = get_user(app, email)
    assert user is not None and user.failed_logins == 100


# ---------- row 8: signing in starts a new session ----------


def test_signing_in_replaces_the_session_cookie(make_app: MakeApp) -> None:
    app = make_app(**RAISED_LIMITS)
    email = "fixation@example.org"
    add_fast_user(app, email)
    browser = Browser(app)
    with browser.client.session_transaction() as session:
        session["probe"] = "set before signing in"
    before = browser.client.get_cookie("session")
    assert before is not None

    assert browser.login(email).status_code == 303
    after = browser.client.get_cookie("session")
    assert after is not None and after.value != before.value
    with browser.client.session_transaction() as session:
        assert "probe" not in session and "_user_id" in session

    planted = Browser(app)  # a cookie an attacker set before the victim signed in
    planted.client.set_cookie("session", before.value)
    assert not planted.signed_in()


# ---------- rows 11 and 12: lifetimes and session protection ----------


@pytest.mark.parametrize("mode", ["local", "production"])
def test_session_lifetimes_and_protection_in_every_mode(make_app: MakeApp, mode: str) -> None:
    settings: dict[str, Any] = {"APP_ENV": mode}
    if mode == "production":
        settings["SECRET_KEY"] = "checklist-" + "s" * 40
    config = make_app(**settings).config
    assert config["PERMANENT_SESSION_LIFETIME"] <= timedelta(days=30)
    assert config["REMEMBER_COOKIE_DURATION"] <= timedelta(days=30)
    assert config["SESSION_PROTECTION"] == "basic"
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_a_session_signed_in_31_days_ago_is_sent_to_sign_in(make_app: MakeApp) -> None:
    app = make_app()
    email = "old-session@example.org"
    user_id = add_fast_user(app, email)
    user = get_user(app, email)
    assert user is not None

    def visit_signed_in(days_ago: float) -> int:
        browser = Browser(app)
        signed_in_at = int(time.time() - days_ago * 24 * 3600)
        with browser.client.session_transaction() as session:
            session["_user_id"] = f"{user_id}:{user.session_token}:{signed_in_at}"
            session["_fresh"] = True
        return browser.get("/dashboard").status_code

    assert visit_signed_in(0.01) == 200  # the session is well formed...
    assert visit_signed_in(29) == 200
    assert visit_signed_in(31) == 302  # ...and refused once older than the lifetime


# ---------- row 15: where signing in leads ----------

MORE_OFF_SITE_TARGETS = [
    "http://evil.example",
    "///evil.example",
    "////evil.example/path",
    "/\t/evil.example",
    " //evil.example",
    "\t//evil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/%2F/evil.example",
    "//%65vil.example",
    "/\u3000/evil.example",
    "/%E3%80%80/evil.example",
    "/%0D%0ALocation:%20https://evil.example",
    "https://127.0.0.1@evil.example",
    "//127.0.0.1@evil.example",
    "evil.example",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.mark.parametrize("target", MORE_OFF_SITE_TARGETS)
def test_login_never_leaves_the_site_for_any_next_value(site: Flask, target: str) -> None:
    response = Browser(site).login("next@example.org", next=quote(target, safe=""))
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "evil" not in location
    assert location == "/dashboard"  # the safe fallback


@pytest.mark.parametrize("target", ["/lessons/3", "/courses/flask-fundamentals/?from=login"])
def test_login_honours_a_path_on_this_site(site: Flask, target: str) -> None:
    response = Browser(site).login("next@example.org", next=quote(target, safe=""))
    assert response.status_code == 303
    assert response.headers["Location"] == target
    assert urlsplit(response.headers["Location"]).netloc == ""


# ---------- row 19: content, source and instance files are never served ----------


@pytest.mark.parametrize(
    "path",
    [
        "/content/flask-fundamentals/course.yml",
        "/courses/flask-fundamentals/01-what-is-flask.md",
        "/courses/flask-fundamentals/%2e%2e/%2e%2e/app/config.py",
        "/courses/flask-fundamentals/../../app/static/favicon.svg",
        "/courses/flask-fundamentals/%2e%2e%2f%2e%2e%2fapp%2fstatic%2ffavicon.svg",
        "/courses/flask-fundamentals/..%5c..%5capp%5cstatic%5cfavicon.svg",
        "/courses/flask-fundamentals/_drafts/diagram.png",
        "/courses/flask-fundamentals/.hidden/diagram.png",
        "/app/config.py",
        "/static/../app/config.py",
        "/static/css/../../__init__.py",
        "/static/%2e%2e/content/flask-fundamentals/course.yml",
        "/static/..%2f..%2fapp%2fconfig.py",
        "/static/..%5c..%5capp%5cconfig.py",
        "/static/js/../../../content/flask-fundamentals/course.yml",
        "/static//etc/passwd",
        "/instance/secret_key",
        "/static/../instance/secret_key",
        "/.git/config",
        "/static/.git/HEAD",
        "/.env",
        "/requirements.txt",
        "/Makefile",
        "/migrations/env.py",
    ],
)
def test_source_content_and_instance_files_are_never_served(site: Flask, path: str) -> None:
    response = site.test_client().get(path, follow_redirects=True)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert SECRET_KEY not in body
    assert "def " not in body and "title:" not in body


# ---------- row 26: bounded, escaped code highlighting; pinned libraries; make audit ----------


def pinned_version(package: str) -> Version:
    pins = (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(package)}==(\S+)$", pins, re.MULTILINE | re.IGNORECASE)
    assert match, f"{package} is not pinned in requirements.txt"
    return Version(match.group(1))


@pytest.mark.parametrize(
    ("package", "lowest"),
    [("Pygments", "2.20"), ("markdown-it-py", "2.2.0")],
)
def test_the_renderers_libraries_are_pinned_past_their_known_flaws(
    package: str, lowest: str
) -> None:
    """Pygments before 2.20 and markdown-it-py before 2.2.0 have published denial-of-service
    flaws (catastrophic regular expressions, unbounded nesting)."""
    assert pinned_version(package) >= Version(lowest)
    assert Version(version(package)) == pinned_version(package)  # what runs is what is pinned


def lesson_page(make_app: MakeApp, write_content: WriteContent, body: str) -> str:
    files = dict(SAMPLE_COURSE)
    files["demo/03-third.md"] = body
    client = make_app(write_content(files)).test_client()
    response = client.get("/courses/demo/third/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    start = html.index('<div class="prose lesson-body">')
    return html[start : html.index("</article>", start)]


def test_fence_info_strings_and_titles_never_become_markup(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    fences = [
        'python title="<img src=x onerror=alert(1)>"',
        "python title='\"><script>alert(1)</script>'",
        'python run request="GET /x\'><b onclick=alert(1)>y</b>"',
        "<svg/onload=alert(1)>",
        'py" onmouseover="alert(1)',
        "python{onclick=alert(1)}",
        "x" * 300,
    ]
    body = "# Fences\n\n" + "".join(f"```{info}\nx = '<i>'\n```\n\n" for info in fences)
    html = lesson_page(make_app, write_content, body)
    tags = re.findall(r"<(\w+)([^>]*)>", html)
    assert not {name for name, _ in tags} & {"img", "script", "svg", "b", "i"}
    assert not [attrs for _, attrs in tags if re.search(r"\son\w+\s*=", attrs)]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text
    assert html.count("&lt;i&gt;") == len(fences)


def test_a_huge_code_block_is_shown_escaped_without_highlighting(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    from app.content.highlight import MAX_HIGHLIGHT_CHARS

    line = "value = '<b>' + str(42)  # a comment\n"
    huge = line * (MAX_HIGHLIGHT_CHARS // len(line) + 10)
    body = f"# Blocks\n\n```python\nsmall = 1\n```\n\n```python\n{huge}```\n"
    html = lesson_page(make_app, write_content, body)
    small, big = re.findall(r"<pre[^>]*>(.*?)</pre>", html, re.DOTALL)
    assert "<span" in small  # a normal block is highlighted...
    assert "<span" not in big and "<b>" not in big  # ...a huge one is only escaped
    assert big.count("value = &#39;&lt;b&gt;&#39;") == huge.count("value")


@functools.cache
def load_audit_script() -> ModuleType:
    """``.ci/audit.py`` as a module (it is a script, outside any package)."""
    path = PROJECT_ROOT / ".ci" / "audit.py"
    spec = importlib.util.spec_from_file_location("ci_audit", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


PIP_AUDIT_REPORT = {
    "dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [
                {
                    "id": "GHSA-h5c8-rqwp-cp95",
                    "fix_versions": ["3.1.3"],
                    "aliases": ["CVE-2024-22195"],
                },
                {"id": "PYSEC-2099-1", "fix_versions": [], "aliases": []},
            ],
        },
        {
            "name": "werkzeug",
            "version": "3.0.0",
            "vulns": [{"id": "GHSA-xxxx-yyyy-zzzz", "fix_versions": ["3.0.1"], "aliases": []}],
        },
        {
            "name": "pygments",
            "skip_reason": (
                "Dependency not found on PyPI and could not be audited: pygments (2.21.0)"
            ),
        },
        {"name": "flask", "version": "3.1.3", "vulns": []},  # listed by both files
    ],
    "fixes": [],
}


def test_the_audit_report_is_sorted_into_vulnerable_accepted_clean_and_not_audited() -> None:
    audit_script = load_audit_script()
    accepted = {
        "CVE-2024-22195": "only the xmlattr filter, which no template uses",
        "GHSA-xxxx-yyyy-zzzz": "the debugger is never enabled",
        "PYSEC-2000-9": "fixed long ago",
    }
    audit = audit_script.classify(PIP_AUDIT_REPORT, accepted)
    by_name = {package.name: package for package in audit.packages}
    assert sorted(by_name) == ["flask", "jinja2", "pygments", "werkzeug"]
    assert by_name["flask"].status == "clean"
    assert by_name["werkzeug"].status == "accepted"  # every finding accepted
    assert by_name["pygments"].status == "not_audited"  # never counted as clean
    jinja = by_name["jinja2"]
    assert jinja.status == "vulnerable"  # one finding accepted (by alias), one not
    assert [(f.id, f.accepted) for f in jinja.findings] == [
        ("GHSA-h5c8-rqwp-cp95", "only the xmlattr filter, which no template uses"),
        ("PYSEC-2099-1", None),
    ]
    assert audit.unused_accepted == ("PYSEC-2000-9",)
    assert audit_script.exit_status(audit) == 1

    lines = audit_script.report_lines(audit)
    assert lines[-1] == "audit: packages=4 clean=1 vulnerable=1 accepted=1 not_audited=1"
    text = "\n".join(lines)
    assert "VULNERABLE  jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 [CVE-2024-22195] accepted: only" in text
    assert "PYSEC-2099-1 (fix: none yet)" in text
    assert "NOT AUDITED pygments: Dependency not found on PyPI" in text
    assert "CLEAN       flask 3.1.3" in text
    assert "note: accepted PYSEC-2000-9 matches no finding" in text


@pytest.mark.parametrize(
    ("names", "status"),
    [
        ({"flask"}, 0),  # everything audited and clean
        ({"flask", "werkzeug"}, 3),  # nothing vulnerable, but one package not audited
        ({"flask", "werkzeug", "jinja2"}, 1),  # a vulnerability wins over "not audited"
    ],
)
def test_the_audit_exit_status(names: set[str], status: int) -> None:
    audit_script = load_audit_script()
    dependencies = {
        "flask": {"name": "flask", "version": "3.1.3", "vulns": []},
        "werkzeug": {"name": "werkzeug", "skip_reason": "could not be audited"},
        "jinja2": {"name": "jinja2", "version": "1.0", "vulns": [{"id": "X-1"}]},
    }
    report = {"dependencies": [dependencies[name] for name in sorted(names)]}
    assert audit_script.exit_status(audit_script.classify(report, {})) == status


@pytest.mark.parametrize(
    "report", [{}, {"dependencies": None}, {"dependencies": [{"version": "1"}]}, []]
)
def test_an_unreadable_audit_report_is_an_error_not_a_clean_bill(report: Any) -> None:
    audit_script = load_audit_script()
    with pytest.raises(audit_script.AuditError):
        audit_script.classify(report, {})


def test_every_accepted_vulnerability_has_a_reason(tmp_path: Path) -> None:
    audit_script = load_audit_script()
    assert all(reason for reason in audit_script.load_accepted(audit_script.IGNORE_FILE).values())
    bad = tmp_path / "ignore.toml"
    bad.write_text('[accepted]\n"GHSA-1" = ""\n', encoding="utf-8")
    with pytest.raises(audit_script.AuditError, match="needs a reason"):
        audit_script.load_accepted(bad)


def test_audit_runs_pip_audit_on_the_pins_without_installing_anything() -> None:
    command = load_audit_script().pip_audit_command(
        [PROJECT_ROOT / "requirements.txt", PROJECT_ROOT / "requirements-dev.txt"], "pypi"
    )
    assert command[1:3] == ["-m", "pip_audit"]
    assert {"--no-deps", "--disable-pip"} <= set(command)
    assert "--ignore-vuln" not in command  # accepted ids are matched by the script
    requirement_files = [command[i + 1] for i, arg in enumerate(command) if arg == "--requirement"]
    assert [Path(name).name for name in requirement_files] == [
        "requirements.txt",
        "requirements-dev.txt",
    ]


# ---------- row 27: markdown nesting, file and request size limits ----------


def test_deeply_nested_markdown_stops_at_the_nesting_limit(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    body = (
        "# Deep\n\n"
        + "[" * 5000
        + "bracketed"
        + "]" * 5000
        + "\n\n"
        + ">" * 5000
        + " quoted\n\n"
        + "- " * 3000
        + "listed\n"
    )
    html = lesson_page(make_app, write_content, body)
    assert 0 < html.count("<blockquote") <= 20
    assert 0 < html.count("<li") <= 20
    assert "bracketed" in html


def test_a_20_megabyte_post_is_refused_with_413_and_stores_nothing(make_app: MakeApp) -> None:
    app = make_app()
    assert app.config["MAX_CONTENT_LENGTH"] <= 1024 * 1024
    learner = Learner(app)
    form = learner.form(LESSON, SINGLE)
    big = "x" * (20 * 1024 * 1024)
    answer_url = learner.url(LESSON, SINGLE)
    sent = [
        learner.client.post("/auth/login", data={"email": "a@example.org", "password": big}),
        learner.client.post("/auth/register", data={"display_name": big}),
        learner.client.post(answer_url, data={**form.fields, "answer": big}),
        learner.client.post(
            answer_url,
            data=json.dumps({**form.fields, "answer": big}),
            content_type="application/json",
            headers={"X-CSRFToken": form.csrf},
        ),
        learner.client.post(
            f"/api/v1/progress/{COURSE}/{LESSON}",
            data=json.dumps({"section": big, "percent_read": 1}),
            content_type="application/json",
            headers={"X-CSRFToken": form.csrf},
        ),
    ]
    assert [response.status_code for response in sent] == [413] * len(sent)
    assert count(app, QuizAttempt) == 0 and count(app, User) == 0


# ---------- row 28: invisible characters in code ----------

INVISIBLE = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\x7f"]
INVISIBLE += [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]


def test_every_invisible_character_in_code_is_removed_and_reported(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    code = "".join(f"line_{n} = 'a{char}b'\n" for n, char in enumerate(INVISIBLE))
    files = dict(SAMPLE_COURSE)
    files["demo/03-third.md"] = f"# Invisible\n\n```python\n{code}```\n"
    app = make_app(write_content(files))

    result = app.test_cli_runner().invoke(args=["content", "check", "--format", "json"])
    warned = [
        row
        for row in json.loads(result.output)
        if row["path"].endswith("03-third.md") and row["code"] == "invisible-character"
    ]
    assert [(row["line"], row["severity"]) for row in warned] == [
        (n + 4, "warning") for n in range(len(INVISIBLE))
    ]
    for row, char in zip(warned, INVISIBLE, strict=True):
        assert f"U+{ord(char):04X}" in row["message"]

    html = app.test_client().get("/courses/demo/third/").get_data(as_text=True)
    assert not [char for char in INVISIBLE if char in html]
    assert text_of(html).count("'ab'") == len(INVISIBLE)


# ---------- rows 29 and 30: what a grading reply says ----------


def test_a_grading_reply_covers_only_its_question_and_never_the_key(make_app: MakeApp) -> None:
    app = make_app()
    learner = Learner(app)
    lesson = learner.lesson(LESSON)
    questions = lesson.questions
    assert len(questions) >= 2
    for spec in questions:
        early = learner.action(LESSON, spec, "reveal", json=True)
        assert early.status_code == 409 and early.get_json()["reason"] == "answer-first"
        assert "answer" not in early.get_json()

        reply = learner.post_json(LESSON, spec, wrong_answer(spec))
        assert reply.status_code == 200
        body = reply.get_json()
        text = json.dumps(body)
        assert body["question"] == spec.id and body["correct"] is False
        assert "answer" not in body and body["explanation"] is None
        assert not [other.id for other in questions if other.id != spec.id and other.id in text]
        if spec.type in ("single", "multi"):
            assert not [o.id for o in spec.options if o.correct and o.id in text], spec.id
        if spec.type == "order":
            assert not [o.id for o in spec.options if o.id in text], spec.id
        if spec.type in ("text", "number"):
            typed = [a for a in spec.answers if not a.startswith("/")]
            assert not [a for a in typed if a in text_of(text)], spec.id
        if spec.explain_html:
            assert text_of(spec.explain_html) not in text_of(text)

        revealed = learner.action(LESSON, spec, "reveal", json=True)  # allowed now
        assert revealed.status_code == 200 and revealed.get_json()["answer"]


# ---------- row 32: a submission id is stored once ----------


def test_five_sends_of_one_submission_store_one_row_and_the_same_result(
    make_app: MakeApp,
) -> None:
    app = make_app()
    learner = Learner(app)
    spec = learner.lesson(LESSON).question(SINGLE)
    assert spec is not None
    submission = str(uuid.uuid4())
    replies = [learner.post_json(LESSON, spec, wrong_answer(spec), submission) for _ in range(5)]
    assert [reply.status_code for reply in replies] == [200] * 5
    bodies = [reply.get_json() for reply in replies]
    assert [body["replayed"] for body in bodies] == [False, True, True, True, True]

    def outcome(body: dict[str, Any]) -> str:
        """The reply without what is minted per response: the id offered for the learner's
        next answer, the replay flag, and the CSRF token of the forms in the fragments."""
        kept = {k: v for k, v in body.items() if k not in ("next_submission_id", "replayed")}
        text = json.dumps(kept, sort_keys=True)
        for token in csrf_tokens(kept["help_html"] + kept["result_html"]).values():
            text = text.replace(token, "TOKEN")
        return text

    assert len({outcome(body) for body in bodies}) == 1
    assert len(rows(app)) == 1

    other = learner.post_json(LESSON, spec, correct_answer(spec), str(uuid.uuid4()))
    assert other.status_code == 200 and other.get_json()["attempt"] == 2
    assert [row.attempt_number for row in rows(app)] == [1, 2]
    assert [row.submission_id for row in rows(app)][0] == submission


# ---------- row 35: transactions, teardown, several workers on a fresh database ----------


def test_write_transactions_begin_at_their_first_write(make_app: MakeApp) -> None:
    """SQLite: a transaction opens with its first INSERT, UPDATE or DELETE, which takes the
    write lock at once (waiting up to busy_timeout), as BEGIN IMMEDIATE would. None opens
    with a read: a read transaction that later writes can fail at once with "database is
    locked" when another worker wrote in between, whatever the busy timeout."""
    app = make_app(**RAISED_LIMITS)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite transaction control")
        db.engine.dispose()
        statements: list[str] = []
        event.listen(
            db.engine,
            "connect",
            lambda connection, _record: connection.set_trace_callback(statements.append),
        )

    learner = Learner(app)
    spec = learner.lesson(LESSON).question(SINGLE)
    assert spec is not None
    assert learner.post_json(LESSON, spec, wrong_answer(spec)).status_code == 200
    assert learner.post_form(LESSON, spec, correct_answer(spec)).status_code == 303
    browser = Browser(app)
    browser.client = learner.client  # the guest registers: its work moves to the account
    assert browser.register("transactions@example.org").status_code == 303
    assert browser.logout().status_code == 303

    verbs = [statement.split(None, 1)[0].upper() for statement in statements if statement.strip()]
    begins = [index for index, verb in enumerate(verbs) if verb == "BEGIN"]
    assert len(begins) >= 4
    for index in begins:
        assert verbs[index + 1] in ("INSERT", "UPDATE", "DELETE"), statements[index + 1]


def test_teardown_rolls_back_and_returns_the_connection(make_app: MakeApp) -> None:
    app = make_app(TESTING=False)

    @app.get("/_test/uncommitted")
    def uncommitted() -> str:
        db.session.add(User(email="uncommitted@example.org", display_name="x", password_hash="x"))
        db.session.flush()
        return "flushed, never committed"

    @app.get("/_test/fails")
    def fails() -> str:
        db.session.add(User(email="failed@example.org", display_name="x", password_hash="x"))
        db.session.flush()
        raise RuntimeError("the view failed after writing")

    client = app.test_client()
    assert client.get("/_test/uncommitted").status_code == 200
    assert client.get("/_test/fails").status_code == 500
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
    assert count(app, User) == 0
    assert client.get("/healthz").status_code == 200  # the next request starts clean


@pytest.mark.slow
def test_four_gunicorn_workers_on_a_fresh_database_serve_concurrent_writes(
    tmp_path: Path,
) -> None:
    """A new instance (schema only: no rows yet), four workers started at once, and many
    first writes at the same moment: guests answering, a lost race to register an email.
    Every request succeeds or is refused cleanly; the log has no IntegrityError or lock.
    (SQLite, or on PostgreSQL the instance's own database, as the server is given.)"""
    instance = tmp_path / "fresh"
    env = server_env(instance)
    for step in (["db", "upgrade"], ["content", "build"]):  # what `make prepare` runs
        subprocess.run(
            [str(BIN / "flask"), *step],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    log = tmp_path / "gunicorn.log"
    port = free_port()
    command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "4"]
    command += ["--no-control-socket", "app:create_app()"]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    guests, answers = 8, 3
    try:
        wait_until_up(port, server, log, timeout=60)  # four workers may take seconds
        with concurrent.futures.ThreadPoolExecutor(max_workers=guests + 4) as pool:
            answering = [pool.submit(answer_as_a_guest, port, answers) for _ in range(guests)]
            registering = [pool.submit(register, port, "race@example.org") for _ in range(4)]
            statuses = [status for job in answering for status in job.result()]
            registered = sorted(job.result() for job in registering)
    finally:
        stop(server)

    assert statuses == [200, 303] * guests * answers
    assert registered == [303, 400, 400, 400]  # one account; the others told it is taken
    served = log.read_text(errors="replace")
    for trouble in ("IntegrityError", "database is locked", "Traceback", "OperationalError"):
        assert trouble not in served, served[-3000:]
    database = {"DATABASE_URL": env["DATABASE_URL"]} if "DATABASE_URL" in env else {}
    app = isolated_app({"INSTANCE_PATH": str(instance), **database})
    try:
        assert count(app, QuizAttempt) == guests * answers
        assert count(app, LessonProgress) == guests  # the lesson each guest opened
        assert count(app, User) == 1
    finally:
        with app.app_context():
            db.engine.dispose()


def answer_as_a_guest(port: int, answers: int) -> list[int]:
    from tests.test_quiz_gunicorn import Browser as HttpBrowser

    browser = HttpBrowser(port)
    statuses = []
    path = f"/courses/{COURSE}/{LESSON}/"
    for _ in range(answers):
        page = browser.request(path)
        form = question_form(page.body, SINGLE)
        answered = browser.request(form.action, [*form.hidden.items(), ("answer", form.options[0])])
        statuses += [page.status, answered.status]
    return statuses


def register(port: int, email: str) -> int:
    from tests.test_quiz_gunicorn import Browser as HttpBrowser

    browser = HttpBrowser(port)
    page = browser.request("/auth/register")
    token = csrf_tokens(page.body)["csrf_token"]
    form = [("csrf_token", token), ("email", email), ("display_name", "Racer")]
    return browser.request("/auth/register", [*form, ("password", PASSWORD)]).status
