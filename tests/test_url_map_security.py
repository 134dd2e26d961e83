"""Security properties over the whole URL map: CSRF on every write, the role guard on every
URL, security headers on every page, and pages free of anything a strict CSP forbids.

Every test here is parametrised from ``app.url_map``: a new route fails until its
expectations are added to the tables below (``WRITES`` and ``ACCESS``) and its URL variables
have a sample value (``Site.samples``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.accounts.passwords import hash_password
from app.accounts.reset import reset_token
from app.errors import CSRF_MESSAGE
from app.extensions import db
from app.lessons.store import catalog
from app.models import User
from app.quiz_types import QuizSpec
from app.quizzes.tokens import page_revision
from tests.account_client import PASSWORD, Browser, csrf_tokens, migrated_app
from tests.conftest import BUNDLED_CONTENT, SAMPLE_COURSE, WriteContent, isolated_app
from tests.quiz_client import correct_answer, form_data, wrong_answer

COURSE = "flask-fundamentals"
LESSON = "what-is-flask"
QUESTION = "string-view-response-defaults"  # single choice, with a hint
ASSET = "images/diagram.svg"  # added to a copy of the bundled course
ROLES = ("learner", "instructor", "admin")
WHO = ("anonymous", *ROLES)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
NEW_PASSWORD = "a brand new passphrase for tests"
FAST_LOGINS = {"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_RATE_LIMIT": "1000 per minute"}
# Another learner: only the admin's user list may show who she is.
HIDDEN_EMAIL, HIDDEN_NAME = "zelda.hidden@example.org", "Zelda Hiddenname"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8"/></svg>'
EXPECTED_TABLES = {
    "user_account",
    "quiz_attempt",
    "quiz_reveal",
    "hint_reveal",
    "lesson_progress",
    "course_reset",
}


# ---------- the URL map ----------


@dataclass(frozen=True)
class Route:
    endpoint: str
    rule: str
    methods: tuple[str, ...]
    arguments: tuple[str, ...]


def url_map_routes() -> list[Route]:
    """Every rule of a freshly built app (no database needed to read the URL map)."""
    with tempfile.TemporaryDirectory() as instance:
        app = isolated_app({"TESTING": True, "INSTANCE_PATH": instance})
        return sorted(
            (
                Route(
                    rule.endpoint,
                    rule.rule,
                    tuple(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})),
                    tuple(sorted(rule.arguments)),
                )
                for rule in app.url_map.iter_rules()
            ),
            key=lambda route: (route.endpoint, route.rule),
        )


ROUTES = url_map_routes()
GET_ROUTES = [route for route in ROUTES if "GET" in route.methods]
WRITE_ROUTES = [
    (route, method) for route in ROUTES for method in route.methods if method in WRITE_METHODS
]
ROUTE_METHODS = [
    (route, method)
    for route in ROUTES
    for method in route.methods
    if method == "GET" or method in WRITE_METHODS
]


def route_id(route: Route) -> str:
    return route.endpoint


def param_id(value: Any) -> str:
    if isinstance(value, Route):
        return value.endpoint
    return str(value)


# ---------- one app for the module: a copy of the bundled course, one account per role ----------


@dataclass
class Site:
    app: Flask
    clients: dict[str, FlaskClient]  # "anonymous" and one signed-in client per role
    ids: dict[str, int]
    shared_hash: str
    spec: QuizSpec  # QUESTION
    revision: str  # QUESTION's revision as its form carries it
    samples: dict[str, Any] = field(default_factory=dict)  # a real value per URL variable
    accounts: int = 0

    def path(self, route: Route, **overrides: Any) -> str:
        values = {**self.samples, **overrides}
        missing = [name for name in route.arguments if name not in values]
        if missing:
            pytest.fail(
                f"{route.endpoint} ({route.rule}): no sample value for {missing}; "
                "add a real one to Site.samples in the site fixture"
            )
        with self.app.test_request_context():
            return url_for(route.endpoint, **{name: values[name] for name in route.arguments})

    def add_account(self, email: str, name: str, role: str = "learner") -> int:
        """An account with the shared password hash (scrypt is slow); returns its id."""
        with self.app.app_context():
            user = User(email=email, display_name=name, password_hash=self.shared_hash, role=role)
            db.session.add(user)
            db.session.commit()
            return user.id

    def new_account(self) -> tuple[str, int]:
        """A throwaway learner account, for writes that end sessions or change passwords."""
        self.accounts += 1
        email = f"throwaway{self.accounts}@example.org"
        return email, self.add_account(email, f"Throwaway {self.accounts}")

    def reset_token_of(self, user_id: int) -> str:
        with self.app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            return reset_token(user)


def signed_in(app: Flask, email: str) -> FlaskClient:
    browser = Browser(app)
    assert browser.login(email).status_code == 303
    return browser.client


def fetch(client: FlaskClient, path: str, **kwargs: Any) -> TestResponse:
    """GET ``path``, read the body and close the response (files are served open)."""
    response = client.get(path, **kwargs)
    response.get_data()
    response.close()
    return response


def token_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session (the forgot-password form is open to all)."""
    return csrf_tokens(client.get("/auth/forgot").get_data(as_text=True))["csrf_token"]


def copy_of_course(root: Path) -> Path:
    content = root / "content"
    shutil.copytree(BUNDLED_CONTENT, content, ignore=shutil.ignore_patterns(".*"))
    image = content / COURSE / ASSET
    image.parent.mkdir(parents=True)
    image.write_text(SVG, encoding="utf-8")
    return content


def sibling_app(site: Site, **config: Any) -> Flask:
    """Another app on the site's instance folder and database, configured differently."""
    settings = {
        "TESTING": True,
        "INSTANCE_PATH": site.app.instance_path,
        "DATABASE_URL": site.app.config["DATABASE_URL"],
        "CONTENT_DIR": site.app.config["CONTENT_DIR"],
    }
    return isolated_app({**settings, **config})


def close_database(app: Flask) -> None:
    """Close the app's pooled connections (a server database can then be dropped)."""
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("url-map")
    app = migrated_app(root / "instance", CONTENT_DIR=str(copy_of_course(root)), **FAST_LOGINS)
    with app.app_context():
        course = catalog().course(COURSE)
        assert course is not None and course.lessons[0].slug == LESSON
        spec = course.lessons[0].question(QUESTION)
        assert spec is not None and spec.type == "single" and spec.hints_html
        revision = page_revision(spec)
    site = Site(app, {}, {}, hash_password(PASSWORD), spec, revision)
    for role in ROLES:
        site.ids[role] = site.add_account(f"{role}@example.org", role.title(), role)
    site.ids["hidden"] = site.add_account(HIDDEN_EMAIL, HIDDEN_NAME)
    site.ids["reader"] = site.add_account("reader@example.org", "Reader")  # never resets
    site.clients = {"anonymous": app.test_client()}
    site.clients.update({role: signed_in(app, f"{role}@example.org") for role in ROLES})
    site.samples = {
        "course_slug": COURSE,
        "lesson_slug": LESSON,
        "question_id": QUESTION,
        "asset": ASSET,
        "filename": "css/site.css",
        "token": site.reset_token_of(site.ids["reader"]),
        "user_id": site.ids["learner"],
    }
    # The learner has progress to show: the first lesson's questions, answered right.
    learner = site.clients["learner"]
    token = token_of(learner)
    with app.app_context():
        lesson = course.lessons[0]
        answers = [
            (q.id, page_revision(q), form_data(q, correct_answer(q))) for q in lesson.questions
        ]
    for question_id, question_revision, data in answers:
        response = learner.post(
            f"/courses/{COURSE}/{LESSON}/quiz/{question_id}/answer",
            data={
                "csrf_token": token,
                "submission_id": str(uuid.uuid4()),
                "revision": question_revision,
                **data,
            },
        )
        assert response.status_code == 303
    return site


def database_rows(app: Flask) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Row counts and rows of every table, read through SQLAlchemy on any database."""
    with app.app_context():
        counts = {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }
        rows = {
            table.name: sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
            for table in db.metadata.sorted_tables
        }
    assert EXPECTED_TABLES <= set(counts)
    return counts, rows


# ---------- plausible requests to each write ----------


@dataclass
class Context:
    """What a request builder may use: the site, the sending client and its CSRF token."""

    site: Site
    client: FlaskClient
    token: str
    account: tuple[str, int] | None = None  # the throwaway account the write is about


Body = Callable[[Context], dict[str, Any]]
UrlArgs = Callable[[Context], dict[str, Any]]


def quiz_url(action: str) -> str:
    return f"/courses/{COURSE}/{LESSON}/quiz/{QUESTION}/{action}"


def answer_body(ctx: Context) -> dict[str, Any]:
    answer = correct_answer(ctx.site.spec)
    return {"submission_id": str(uuid.uuid4()), "revision": ctx.site.revision, "answer": answer}


def hint_body(ctx: Context) -> dict[str, Any]:
    return {"revision": ctx.site.revision, "hint": "1"}


def reveal_body(ctx: Context) -> dict[str, Any]:
    """An answer must come first ("Show answer" is for a question already tried)."""
    wrong = {
        "csrf_token": ctx.token,
        "submission_id": str(uuid.uuid4()),
        "revision": ctx.site.revision,
        "answer": wrong_answer(ctx.site.spec),
    }
    assert ctx.client.post(quiz_url("answer"), data=wrong).status_code == 303
    return {"revision": ctx.site.revision}


def reading_body(ctx: Context) -> dict[str, Any]:
    return {"section": None, "percent_read": 40}


def nothing(ctx: Context) -> dict[str, Any]:
    return {}


def account_email(ctx: Context) -> str:
    assert ctx.account is not None
    return ctx.account[0]


def account_id(ctx: Context) -> int:
    assert ctx.account is not None
    return ctx.account[1]


@dataclass(frozen=True)
class Write:
    """One plausible request to a write endpoint, and its status when it carries a token.

    ``actor``: "anonymous" (a new client), "guest" (a new client that opened the lesson),
    "learner" or "admin" (the module's signed-in clients), "account" (a new account,
    signed in). ``account`` adds a throwaway account (not signed in) for the body or URL.
    """

    actor: str
    body: Body
    status: int
    json: bool = False
    csrf_field: str = "csrf_token"
    account: bool = False
    url_args: UrlArgs | None = None


WRITES: dict[tuple[str, str], list[Write]] = {
    ("account.delete", "POST"): [
        Write(
            "account",
            lambda ctx: {"delete-confirm_email": account_email(ctx)},
            303,
            csrf_field="delete-csrf_token",
        )
    ],
    ("account.change_password", "POST"): [
        Write(
            "account",
            lambda ctx: {
                "password-current_password": PASSWORD,
                "password-new_password": NEW_PASSWORD,
            },
            303,
            csrf_field="password-csrf_token",
        )
    ],
    ("account.update_profile", "POST"): [
        Write(
            "learner",
            lambda ctx: {"profile-display_name": "Learner"},
            303,
            csrf_field="profile-csrf_token",
        )
    ],
    ("admin.set_user_role", "POST"): [Write("admin", lambda ctx: {"role": "learner"}, 303)],
    ("api.sync", "POST"): [
        Write("learner", reading_body, 200, json=True),
        Write("guest", reading_body, 200, json=True),
    ],
    ("auth.forgot_password", "POST"): [
        Write("anonymous", lambda ctx: {"email": "reader@example.org"}, 200)
    ],
    ("auth.login", "POST"): [
        Write(
            "anonymous",
            lambda ctx: {"email": account_email(ctx), "password": PASSWORD},
            303,
            account=True,
        )
    ],
    ("auth.logout", "POST"): [Write("account", nothing, 303)],
    ("auth.register", "POST"): [
        Write(
            "anonymous",
            lambda ctx: {
                "email": "registered@example.org",
                "display_name": "Registered",
                "password": NEW_PASSWORD,
            },
            303,
        )
    ],
    ("auth.reset_password", "POST"): [
        Write(
            "anonymous",
            lambda ctx: {"password": NEW_PASSWORD},
            303,
            account=True,
            url_args=lambda ctx: {"token": ctx.site.reset_token_of(account_id(ctx))},
        )
    ],
    ("progress.complete", "POST"): [Write("learner", nothing, 303), Write("guest", nothing, 303)],
    ("progress.reset", "POST"): [Write("guest", nothing, 303)],
    ("quizzes.answer", "POST"): [
        Write("learner", answer_body, 303),
        Write("guest", answer_body, 200, json=True),
    ],
    ("quizzes.hint", "POST"): [
        Write("learner", hint_body, 303),
        Write("guest", hint_body, 200, json=True),
    ],
    ("quizzes.reveal", "POST"): [
        Write("learner", reveal_body, 303),
        Write("guest", reveal_body, 200, json=True),
    ],
}


def context_for(site: Site, write: Write) -> Context:
    if write.actor in ROLES:
        client = site.clients[write.actor]
        return Context(site, client, token_of(client))
    if write.actor == "account":
        email, user_id = site.new_account()
        client = signed_in(site.app, email)
        return Context(site, client, token_of(client), (email, user_id))
    client = site.app.test_client()
    if write.actor == "guest":
        assert client.get(f"/courses/{COURSE}/{LESSON}/").status_code == 200
    else:
        assert write.actor == "anonymous", write.actor
    return Context(site, client, token_of(client), site.new_account() if write.account else None)


def send(
    ctx: Context,
    method: str,
    path: str,
    body: dict[str, Any],
    as_json: bool,
    csrf_field: str | None,
) -> TestResponse:
    """``body`` as a form or JSON; the token in ``csrf_field`` (form) or the header (JSON)."""
    if as_json:
        headers = {"X-CSRFToken": ctx.token} if csrf_field else {}
        return ctx.client.open(path, method=method, json=body, headers=headers)
    data = {**body, csrf_field: ctx.token} if csrf_field else body
    return ctx.client.open(path, method=method, data=data)


@pytest.mark.parametrize(("route", "method"), WRITE_ROUTES, ids=param_id)
def test_every_write_is_refused_without_a_csrf_token(site: Site, route: Route, method: str) -> None:
    """No token: 400 and not one row changes; the same request with the token goes through."""
    writes = WRITES.get((route.endpoint, method))
    if not writes:
        pytest.fail(
            f"{method} {route.rule} ({route.endpoint}) has no CSRF case: add a plausible "
            "request for it to WRITES"
        )
    for write in writes:
        ctx = context_for(site, write)
        path = site.path(route, **(write.url_args(ctx) if write.url_args else {}))
        body = write.body(ctx)
        label = f"{method} {path} as {write.actor} ({'JSON' if write.json else 'form'})"
        counts, rows = database_rows(site.app)

        refused = send(ctx, method, path, body, write.json, None)

        assert refused.status_code == 400, label
        assert CSRF_MESSAGE in refused.get_data(as_text=True), label
        after_counts, after_rows = database_rows(site.app)
        assert after_counts == counts, label
        assert after_rows == rows, label

        accepted = send(ctx, method, path, body, write.json, write.csrf_field)
        assert accepted.status_code == write.status, (label, accepted.get_data(as_text=True))


def test_the_csrf_cases_name_only_live_writes() -> None:
    live = {(route.endpoint, method) for route, method in WRITE_ROUTES}
    assert set(WRITES) == live, "WRITES must name exactly the writes in the URL map"


# ---------- who may open what ----------


LOGIN = "sign in"  # 302 to /auth/login?next=<the path>
FORM = "form"  # the view's own 400: the form shown again with its errors
Outcome = int | str | None  # None: not sent (see the note)


@dataclass(frozen=True)
class Access:
    """Expected outcomes for (anonymous, learner, instructor, admin)."""

    get: tuple[Outcome, Outcome, Outcome, Outcome] | None = None
    post: tuple[Outcome, Outcome, Outcome, Outcome] | None = None
    post_body: Body = nothing
    post_json: bool = False
    note: str = ""


EVERYONE = (200, 200, 200, 200)
SIGNED_IN = (LOGIN, 200, 200, 200)
STAFF = (LOGIN, 403, 200, 200)
ADMIN = (LOGIN, 403, 403, 200)
ACCOUNT_FORM = (LOGIN, FORM, FORM, FORM)  # an empty form: refused by the view, nothing changes

ACCESS: dict[str, Access] = {
    "account.dashboard": Access(get=SIGNED_IN),
    "account.delete": Access(post=ACCOUNT_FORM),
    "account.change_password": Access(post=ACCOUNT_FORM),
    "account.export": Access(get=SIGNED_IN),
    "account.settings": Access(get=SIGNED_IN),
    "account.update_profile": Access(post=ACCOUNT_FORM),
    "admin.set_user_role": Access(
        post=(LOGIN, 403, 403, 303),
        post_body=lambda ctx: {"role": "learner"},  # the learner keeps the role she has
    ),
    "admin.users": Access(get=ADMIN),
    "api.course_json": Access(get=EVERYONE),
    "api.sync": Access(post=(200, 200, 200, 200), post_body=reading_body, post_json=True),
    "auth.forgot_password": Access(get=EVERYONE, post=(FORM, FORM, FORM, FORM)),
    # Signed in (and fresh), the sign-in and register pages send the visitor on.
    "auth.login": Access(get=(200, 302, 302, 302), post=(FORM, FORM, FORM, FORM)),
    "auth.logout": Access(
        post=(303, None, None, None),
        note="signing out ends every session of the account: the CSRF test signs a "
        "throwaway account out; a guest's sign-out changes nothing",
    ),
    "auth.register": Access(get=(200, 302, 302, 302), post=(FORM, 302, 302, 302)),
    "auth.reset_password": Access(get=EVERYONE, post=(FORM, FORM, FORM, FORM)),
    "instructor.course": Access(get=STAFF),
    "instructor.index": Access(get=STAFF),
    "instructor.questions_csv": Access(get=STAFF),
    "lessons.catalog_page": Access(get=EVERYONE),
    "lessons.course_asset": Access(get=EVERYONE),
    "lessons.course_page": Access(get=EVERYONE),
    "lessons.lesson_page": Access(get=EVERYONE),
    # Guests and accounts alike keep their own progress and answers.
    "progress.complete": Access(post=(303, 303, 303, 303)),
    "progress.reset": Access(get=EVERYONE, post=(303, 303, 303, 303)),
    "quizzes.answer": Access(post=(303, 303, 303, 303), post_body=answer_body),
    "quizzes.hint": Access(post=(303, 303, 303, 303), post_body=hint_body),
    "quizzes.reveal": Access(post=(303, 303, 303, 303), post_body=reveal_body),
    "site.favicon": Access(get=(301, 301, 301, 301)),
    "site.healthz": Access(get=EVERYONE),
    "site.readyz": Access(get=EVERYONE),
    "site.robots": Access(get=EVERYONE),
    "site.sitemap": Access(get=EVERYONE),
    # Flask's own static files (CSS, JS, the favicon): public by design.
    "static": Access(get=EVERYONE),
}


def outcome_problem(response: TestResponse, expected: Outcome, path: str) -> str | None:
    status = response.status_code
    body = response.get_data(as_text=True)
    if expected == LOGIN:
        location = urlsplit(response.location or "")
        if (
            status != 302
            or location.path != "/auth/login"
            or parse_qs(location.query) != {"next": [path]}
        ):
            return f"expected a redirect to sign in, got {status} {response.location}"
        return None
    if expected == FORM:
        if status != 400 or CSRF_MESSAGE in body or "text/html" not in response.content_type:
            return f"expected the form again with its errors (400), got {status}"
        return None
    if status != expected:
        return f"expected {expected}, got {status}"
    return None


def denied(expected: Outcome) -> bool:
    return expected in (LOGIN, 403)


@pytest.mark.parametrize(("route", "method"), ROUTE_METHODS, ids=param_id)
def test_every_url_lets_in_only_the_roles_it_is_for(site: Site, route: Route, method: str) -> None:
    """Each role gets what ACCESS says, with a valid token on writes; refusals show no data."""
    access = ACCESS.get(route.endpoint)
    if access is None:
        pytest.fail(
            f"{route.endpoint} ({route.rule}) is missing from ACCESS: add what anonymous "
            "visitors, learners, instructors and admins get there"
        )
    expected = access.get if method == "GET" else access.post if method == "POST" else None
    if expected is None:
        pytest.fail(
            f"ACCESS[{route.endpoint!r}] has no outcomes for {method}: add them (for a method "
            "other than GET and POST, give Access a field for it)"
        )
    if None in expected and not access.note:
        pytest.fail(f"ACCESS[{route.endpoint!r}] leaves a role out without a note saying why")
    path = site.path(route)
    problems = []
    for who, outcome in zip(WHO, expected, strict=True):
        if outcome is None:
            continue
        client = site.clients[who]
        if method == "GET":
            response = fetch(client, path)
        else:
            ctx = Context(site, client, token_of(client))
            body = access.post_body(ctx)
            response = send(ctx, method, path, body, access.post_json, "csrf_token")
        problem = outcome_problem(response, outcome, path)
        if problem:
            problems.append(f"{who}: {problem}")
        body_text = response.get_data(as_text=True)
        # Another learner's identity is on the admin's user list and nowhere else.
        shows_people = (route.endpoint, who) == ("admin.users", "admin")
        for marker in (HIDDEN_EMAIL, HIDDEN_NAME):
            if (marker in body_text) is not shows_people:
                problems.append(f"{who}: {marker!r} {'missing' if shows_people else 'shown'}")
        if denied(outcome) and re.search(r"<table|learners?\b.*\d+%", body_text):
            problems.append(f"{who}: a refused page shows course data")
    assert not problems, f"{method} {path}: " + "; ".join(problems)


def test_the_access_table_names_only_live_endpoints() -> None:
    live = {route.endpoint for route in ROUTES}
    assert set(ACCESS) == live, "ACCESS must name exactly the endpoints in the URL map"


# ---------- headers on every page ----------


def csp_directives(header: str) -> dict[str, str]:
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value.strip()
    return directives


# Course images (SVG can carry script) get a stricter, sandboxed policy of their own.
SANDBOXED = {"lessons.course_asset"}


@pytest.mark.parametrize("route", GET_ROUTES, ids=route_id)
def test_every_get_sends_the_security_headers(site: Site, route: Route) -> None:
    path = site.path(route)
    for who in WHO:
        response = fetch(site.clients[who], path)
        label = f"GET {path} as {who} ({response.status_code})"
        csp = csp_directives(response.headers.get("Content-Security-Policy", ""))
        assert csp, label
        if route.endpoint in SANDBOXED:
            assert csp["default-src"] == "'none'", label
            assert "sandbox" in csp, label
            assert "script-src" not in csp, label  # falls back to 'none'
        else:
            assert csp["default-src"] == "'self'", label
            assert csp["object-src"] == "'none'", label
            for directive in ("script-src", "style-src"):
                assert "'unsafe-inline'" not in csp.get(directive, "'self'"), label
                assert "'unsafe-eval'" not in csp.get(directive, "'self'"), label
        assert csp["frame-ancestors"] == "'none'", label
        assert response.headers["X-Frame-Options"] == "DENY", label
        assert response.headers["X-Content-Type-Options"] == "nosniff", label
        expected_referrer = (
            "no-referrer"
            if route.endpoint == "auth.reset_password"
            else "strict-origin-when-cross-origin"
        )
        assert response.headers["Referrer-Policy"] == expected_referrer, label
        if response.mimetype.startswith("text/"):
            assert "charset=utf-8" in response.headers["Content-Type"].lower(), label


# ---------- nothing inline in any page ----------


class InlineCode(HTMLParser):
    """What a CSP with ``script-src 'self'; style-src 'self'`` would block in a page."""

    SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = self.get_starttag_text() or tag
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute in {text}")
            if name == "style":
                self.problems.append(f"style attribute in {text}")
            if value and re.sub(r"[\x00-\x20]", "", value).lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {text}")
        if tag == "style":
            self.problems.append("a <style> element")
        if tag == "script":
            self.in_script = True
            if not values.get("src"):
                self.problems.append(f"inline script {text}")
            if (values.get("type") or "").strip().lower() not in self.SCRIPT_TYPES:
                self.problems.append(f"script of another type {text}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.problems.append(f"script content {data.strip()[:60]!r}")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


class Pages:
    """HTML pages and fragments seen by a test, with what each carries inline."""

    def __init__(self) -> None:
        self.seen = 0
        self.problems: list[str] = []

    def check(self, label: str, html: str) -> None:
        self.seen += 1
        self.problems += [f"{label}: {problem}" for problem in inline_code(html)]

    def response(self, label: str, response: TestResponse, status: int | None = None) -> None:
        if status is not None:
            assert response.status_code == status, (label, response.status_code)
        assert response.mimetype == "text/html", (label, response.content_type)
        self.check(f"{label} ({response.status_code})", response.get_data(as_text=True))

    def fragments(self, label: str, reply: dict[str, Any], names: Iterable[str]) -> None:
        for name in names:
            self.check(f"{label} {name}", reply[name])

    def assert_clean(self, at_least: int) -> None:
        assert self.seen >= at_least
        assert not self.problems, "\n".join(self.problems[:30])


def test_the_inline_code_check_finds_each_kind() -> None:
    page = """<!doctype html><html><head><style>p{}</style>
        <script>alert(1)</script><script type="text/template" src="/t.js"></script>
        <script src="/ok.js" defer></script></head>
        <body><p style="color:red" onclick="x()">x</p><a href=" java&#x09;script:x()">y</a>
        <svg><rect onload="x()"/></svg></body></html>"""
    problems = inline_code(page)
    assert len(problems) == 8, problems
    assert inline_code('<script src="/a.js" defer></script><a href="/javascript:">x</a>') == []


@pytest.mark.parametrize("route", GET_ROUTES, ids=route_id)
def test_no_page_for_any_role_carries_inline_code(site: Site, route: Route) -> None:
    path = site.path(route)
    pages = Pages()
    for who in WHO:
        response = fetch(site.clients[who], path)
        if response.mimetype == "text/html":
            pages.response(f"GET {path} as {who}", response)
    pages.assert_clean(at_least=0)


def meta_token(page: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert match, "no csrf-token meta on the lesson page"
    return match.group(1)


def right_answer(spec: QuizSpec) -> str | list[str] | None:
    """A right answer, or None for a text question whose answers are all patterns."""
    try:
        return correct_answer(spec)
    except StopIteration:
        return None


class Answering:
    """One visitor working through a lesson's questions: forms, or JSON with the header."""

    FRAGMENTS = ("result_html", "help_html", "summary_html")

    def __init__(self, client: FlaskClient, pages: Pages) -> None:
        self.client, self.pages, self.token = client, pages, ""

    def open(self, page_path: str, label: str, status: int = 200) -> None:
        response = self.client.get(page_path)
        self.pages.response(label, response, status)
        self.token = meta_token(response.get_data(as_text=True))

    def post(self, url: str, data: dict[str, Any], as_json: bool, label: str) -> None:
        if as_json:
            response = self.client.post(url, json=data, headers={"X-CSRFToken": self.token})
            assert response.status_code == 200, (label, response.get_data(as_text=True))
            reply = response.get_json()
            for name in self.FRAGMENTS:
                self.pages.check(f"{label} {name}", reply[name])
        else:
            response = self.client.post(url, data={**data, "csrf_token": self.token})
            assert response.status_code == 303, (label, response.get_data(as_text=True))


def test_every_lesson_state_of_the_course_carries_no_inline_code(site: Site) -> None:
    """Every lesson of the course unanswered, answered wrong with every hint shown, with the
    answers revealed, and answered right; refused answers shown again in the lesson. The
    first question of each type goes through JSON, whose HTML fragments scripts insert."""
    with site.app.app_context():
        course = catalog().course(COURSE)
        assert course is not None
        lessons = [
            (lesson.slug, [(spec, page_revision(spec)) for spec in lesson.questions])
            for lesson in course.lessons
        ]
    assert len(lessons) == len(list((BUNDLED_CONTENT / COURSE).glob("[0-9]*.md")))
    pages = Pages()
    wrong = Answering(site.app.test_client(), pages)
    right = Answering(site.app.test_client(), pages)
    json_types: set[str] = set()
    answered_right = 0
    for slug, questions in lessons:
        page_path = f"/courses/{COURSE}/{slug}/"
        wrong.open(page_path, f"{slug} unanswered")
        right.token = right.token or token_of(right.client)
        for spec, revision in questions:
            url = f"{page_path}quiz/{spec.id}/"
            as_json = spec.type not in json_types
            json_types.add(spec.type)
            label = f"{slug} {spec.id}"
            if as_json:  # a refused answer: the lesson again, the reason in the question
                refused = wrong.client.post(
                    url + "answer",
                    data={
                        "csrf_token": wrong.token,
                        "revision": revision,
                        "submission_id": str(uuid.uuid4()),
                        **form_data(spec, []),
                    },
                )
                pages.response(f"{label} refused", refused, 400)
            sent = {"revision": revision, "submission_id": str(uuid.uuid4())}
            answer = wrong_answer(spec)
            wrong.post(
                url + "answer",
                {**sent, **({"answer": answer} if as_json else form_data(spec, answer))},
                as_json,
                f"{label} wrong",
            )
            for number in range(1, len(spec.hints_html) + 1):
                hint = {"revision": revision, "hint": str(number)}
                wrong.post(url + "hint", hint, as_json, f"{label} hint {number}")
            answer = right_answer(spec)
            if answer is not None:
                answered_right += 1
                sent = {"revision": revision, "submission_id": str(uuid.uuid4())}
                right.post(
                    url + "answer",
                    {**sent, **({"answer": answer} if as_json else form_data(spec, answer))},
                    as_json,
                    f"{label} right",
                )
        wrong.open(page_path, f"{slug} answered wrong, every hint shown")
        right.open(page_path, f"{slug} answered right")
        for number, (spec, revision) in enumerate(questions):
            url = f"{page_path}quiz/{spec.id}/reveal"
            wrong.post(url, {"revision": revision}, number == 0, f"{slug} {spec.id} revealed")
        wrong.open(page_path, f"{slug} answers revealed")
    # A question that changed since the page was loaded: 409, the lesson shown again.
    slug, ((spec, _), *_) = lessons[0]
    stale = right.client.post(
        f"/courses/{COURSE}/{slug}/quiz/{spec.id}/answer",
        data={
            "csrf_token": right.token,
            "submission_id": str(uuid.uuid4()),
            "revision": "0" * 16,
            **form_data(spec, wrong_answer(spec)),
        },
    )
    pages.response("stale revision", stale, 409)
    assert json_types >= {"single", "multi", "order", "text", "number", "truefalse"}
    assert answered_right >= 0.8 * sum(len(questions) for _, questions in lessons)
    pages.assert_clean(at_least=5 * len(lessons))


def follow(client: FlaskClient, response: TestResponse, status: int = 303) -> TestResponse:
    """The page a redirect leads to (where its flash message shows)."""
    assert response.status_code == status, response.get_data(as_text=True)
    return client.get(response.location)


def test_forms_with_errors_and_flash_messages_carry_no_inline_code(site: Site) -> None:
    app, pages = site.app, Pages()
    visitor = Browser(app)
    pages.response("sign-in flash", follow(visitor.client, visitor.get("/dashboard"), 302), 200)
    pages.response(
        "register errors",
        visitor.register("not-an-email", password="short", display_name=""),
        400,
    )
    pages.response(
        "register, common password", visitor.register("new@example.org", "password1234"), 400
    )
    pages.response("sign-in, empty", visitor.submit("/auth/login", {}), 400)
    pages.response("sign-in, wrong password", visitor.login("reader@example.org", "nope"), 400)
    forgot = visitor.submit("/auth/forgot", {"email": "not an email"})
    pages.response("forgot, invalid email", forgot, 400)
    pages.response("forgot, sent", visitor.submit("/auth/forgot", {"email": "a@example.org"}), 200)
    pages.response("reset, bad link", visitor.get("/auth/reset/not-a-token"), 400)
    reset = f"/auth/reset/{site.samples['token']}"
    pages.response("reset, weak password", visitor.submit(reset, {"password": "short"}), 400)

    # A new sign-in: its welcome flash, then a session seen from another browser.
    browser = Browser(app)
    pages.response("welcome flash", follow(browser.client, browser.login("learner@example.org")))
    elsewhere = {"User-Agent": "AnotherBrowser/2.0"}
    pages.response("settings, not fresh", browser.get("/account", headers=elsewhere), 200)
    pages.response("sign-in, confirm password", browser.get("/auth/login", headers=elsewhere))

    learner = site.clients["learner"]
    token = token_of(learner)
    for prefix, data, label in [
        ("profile", {"profile-display_name": ""}, "profile errors"),
        ("password", {"password-current_password": ""}, "password errors"),
        ("delete", {"delete-confirm_email": "someone@example.org"}, "delete errors"),
    ]:
        response = learner.post(f"/account/{prefix}", data={f"{prefix}-csrf_token": token, **data})
        pages.response(label, response, 400)
    saved = learner.post(
        "/account/profile",
        data={"profile-csrf_token": token, "profile-display_name": "Learner"},
    )
    pages.response("profile saved flash", follow(learner, saved), 200)
    lesson = f"/courses/{COURSE}/{LESSON}/"
    completed = learner.post(lesson + "complete", data={"csrf_token": token})
    pages.response("lesson complete flash", follow(learner, completed), 200)
    guest = app.test_client()
    guest.get(lesson)
    restarted = guest.post(f"/courses/{COURSE}/reset", data={"csrf_token": token_of(guest)})
    pages.response("course reset flash", follow(guest, restarted), 200)

    boss = site.clients["admin"]
    role_url = f"/admin/users/{site.ids['learner']}/role"
    unknown = boss.post(role_url, data={"csrf_token": token_of(boss), "role": "wizard"})
    pages.response("unknown role", unknown, 400)
    same = boss.post(role_url, data={"csrf_token": token_of(boss), "role": "learner"})
    pages.response("role saved flash", follow(boss, same), 200)
    pages.assert_clean(at_least=20)


def test_error_pages_carry_no_inline_code(site: Site, write_content: WriteContent) -> None:
    pages = Pages()
    for who in WHO:
        client = site.clients[who]
        pages.response(f"404 as {who}", client.get("/no-such-page"), 404)
        pages.response(f"405 as {who}", client.get("/auth/logout"), 405)
        pages.response(f"400 CSRF as {who}", client.post("/auth/forgot", data={}), 400)
    learner = site.clients["learner"]
    question = f"/courses/{COURSE}/{LESSON}/quiz/"
    pages.response(
        "400 CSRF, back to the lesson", learner.post(question + QUESTION + "/answer"), 400
    )
    missing = learner.post(
        question + "no-such-question/answer", data={"csrf_token": token_of(learner)}
    )
    pages.response("404 question, back to the lesson", missing, 404)
    big = learner.post("/auth/forgot", data={"email": "x" * (1024 * 1024 + 1)})
    pages.response("413", big, 413)
    pages.response("403", learner.get("/instructor/"), 403)

    # 429: the same site with one sign-in a minute.
    limited = sibling_app(site, LOGIN_RATE_LIMIT="1 per minute")
    # 500 in production: the friendly page, never the traceback.
    production = sibling_app(site, APP_ENV="production", SECRET_KEY="p" * 40, TESTING=False)

    @production.get("/_test/fail")
    def fail() -> str:
        raise ValueError("boom")

    # Authoring errors, as staff (and debug mode) see them: a broken lesson and question.
    files = dict(SAMPLE_COURSE)
    files["demo/02-second.md"] = "---\ntitle: [oops\n---\nBody\n"
    files["demo/03-third.md"] = (
        "---\ncolour: blue\n---\n# Third\n\n```quiz id=broken\nNo options here.\n```\n"
    )
    author_app = sibling_app(site, DEBUG=True, CONTENT_DIR=str(write_content(files)))
    try:
        visitor = Browser(limited)
        assert visitor.submit("/auth/login", {}).status_code == 400
        pages.response("429", visitor.submit("/auth/login", {}), 429)
        pages.response("500", production.test_client().get("/_test/fail"), 500)
        pages.response("404 in production", production.test_client().get("/nope"), 404)
        author = author_app.test_client()
        pages.response("course with warnings", author.get("/courses/demo/"), 200)
        broken = author.get("/courses/demo/second/")
        assert "invalid YAML" in broken.get_data(as_text=True)
        pages.response("broken lesson", broken, 500)
        third = author.get("/courses/demo/third/")
        assert "is left out" in third.get_data(as_text=True)
        pages.response("broken question", third, 200)
    finally:
        for app in (limited, production, author_app):
            close_database(app)
    pages.assert_clean(at_least=20)
