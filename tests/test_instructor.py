"""Course staff over HTTP: the instructor's course statistics on a generated dataset with
known answers, the questions CSV, the role guard on every instructor and admin URL, the
admin's user list, and the authoring errors that staff see (and learners never do)."""

from __future__ import annotations

import csv
import html
import io
import re
import tempfile
import textwrap
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from jinja2 import Environment
from jinja2.filters import do_truncate
from werkzeug.test import TestResponse

from app.accounts.passwords import hash_password
from app.content.model import Lesson
from app.extensions import db
from app.lessons.store import catalog
from app.models import User
from app.quiz_types import QuizSpec
from tests.account_client import PASSWORD, Browser, add_user, csrf_tokens, get_user, migrated_app
from tests.conftest import PROJECT_ROOT, SNAPSHOT_CONTENT, MakeApp, isolated_app
from tests.quiz_client import Learner, answer_form, correct_answer, section_of, text_of

COURSE = "flask-fundamentals"
L1, L2, L3 = "what-is-flask", "what-micro-means", "werkzeug"
SINGLE = "string-view-response-defaults"
MULTI = "valid-view-return-values"
ORDER = "flask-request-to-response-order"
TRUEFALSE = "debug-mode-on-public-server"
TEXT = "session-signing-library"
NUMBER = "flask-run-default-port"
CSV_HEADER = [
    "lesson",
    "question_id",
    "prompt",
    "attempts",
    "learners",
    "first_try_correct_percent",
    "most_chosen_wrong_answer",
    "times_chosen",
    "misconception",
    "source",
]
FORMULA_START = ("=", "+", "-", "@")
FAST_LOGINS = {"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_RATE_LIMIT": "1000 per minute"}


# ---------- reading pages ----------


def page_of(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def flashes(page: str) -> list[str]:
    return [text_of(m) for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', page)]


def meta_csrf(page: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert match, "no csrf-token meta on the page"
    return match.group(1)


def form_csrf(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of ``client``'s session, read from a form on ``path``."""
    return csrf_tokens(page_of(client, path))["csrf_token"]


def signed_in(app: Flask, email: str) -> FlaskClient:
    browser = Browser(app)
    assert browser.login(email).status_code == 303
    return browser.client


def csv_cell(text: str) -> str:
    """What the CSV should hold for ``text``: formulas are made text with a leading '."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


# ---------- a generated dataset with known answers ----------


@dataclass(frozen=True)
class Step:
    kind: str  # open, answer, complete, read (to the end), reset
    lesson: str = L1
    question: str = ""
    choices: tuple[str, ...] = ()  # "ok", or a key of CHOSEN / TYPED


def open_(lesson: str) -> Step:
    return Step("open", lesson)


def answer(question: str, *choices: str) -> Step:
    return Step("answer", L1, question, choices)


def complete(lesson: str) -> Step:
    return Step("complete", lesson)


def read_to_end(lesson: str) -> Step:
    return Step("read", lesson)


RESET = Step("reset")
ALL_RIGHT = tuple(answer(q, "ok") for q in (SINGLE, MULTI, ORDER, TRUEFALSE, TEXT, NUMBER))


@dataclass(frozen=True)
class Plan:
    name: str
    account: bool
    steps: tuple[Step, ...]


# Wrong answers to choice questions, as indexes into the question's options.
CHOSEN: dict[str, dict[str, tuple[int, ...]]] = {
    SINGLE: {"plain": (1,), "json": (2,), "201": (3,)},
    MULTI: {"with-404": (0, 3), "print": (4,)},
    ORDER: {"reversed": (4, 3, 2, 1, 0)},
    TRUEFALSE: {"true": (0,)},
}
# Wrong answers to typed questions, as the learner types them.
TYPED: dict[str, dict[str, str]] = {
    TEXT: {"werkzeug": "Werkzeug"},
    NUMBER: {"minus": "-1", "8000": "8000"},
}

PLANS = (
    Plan(
        "ada",
        True,
        (
            open_(L1),
            open_(L2),
            answer(SINGLE, "plain", "ok"),
            answer(MULTI, "ok"),
            answer(ORDER, "reversed", "ok"),
            answer(TRUEFALSE, "true", "ok"),
            answer(TEXT, "ok"),
            answer(NUMBER, "minus", "ok"),
            complete(L1),
        ),
    ),
    Plan(
        "bob",
        True,
        (
            open_(L1),
            answer(SINGLE, "plain", "json", "ok"),
            answer(MULTI, "with-404", "ok"),
            answer(TRUEFALSE, "ok"),
            read_to_end(L1),  # three questions unanswered: not complete
        ),
    ),
    Plan(
        "cyd",
        True,
        (
            open_(L1),
            open_(L2),
            open_(L3),
            complete(L2),
            complete(L3),
            answer(SINGLE, "ok"),
            answer(NUMBER, "8000", "minus", "ok"),
        ),
    ),
    Plan("dee", True, (open_(L1), *ALL_RIGHT, read_to_end(L1))),  # complete by the rule
    Plan(
        "eve",
        True,
        (open_(L1), open_(L2), answer(SINGLE, "json", "ok"), complete(L1), RESET, open_(L2)),
    ),
    Plan("guest-1", False, (open_(L1), answer(SINGLE, "plain"), answer(TEXT, "werkzeug", "ok"))),
    Plan(
        "guest-2",
        False,
        (
            open_(L1),
            open_(L2),
            complete(L2),
            answer(SINGLE, "ok"),
            answer(MULTI, "print", "with-404", "ok"),
        ),
    ),
    Plan("guest-3", False, (open_(L1), answer(SINGLE, "201", "plain"), answer(TRUEFALSE, "true"))),
    Plan("guest-4", False, (open_(L1), open_(L3), complete(L3))),
    Plan(
        "guest-5",
        False,
        # after the reset: answers without reopening the lesson
        (
            open_(L1),
            answer(SINGLE, "plain", "ok"),
            answer(NUMBER, "minus"),
            RESET,
            answer(NUMBER, "ok"),
        ),
    ),
    Plan("guest-6", False, (open_(L2), complete(L2))),
    Plan(
        "guest-7",
        False,
        (
            open_(L1),
            answer(ORDER, "ok"),
            answer(SINGLE, "ok"),
            answer(TRUEFALSE, "true", "ok"),
            complete(L1),
            RESET,
            open_(L1),
        ),
    ),
)


@dataclass(frozen=True)
class Planned:
    """One planned answer: what is sent, and how the statistics should describe it."""

    value: str | list[str]
    correct: bool
    text: str = ""
    misconception: str = ""


def planned(spec: QuizSpec, choice: str) -> Planned:
    if choice == "ok":
        return Planned(correct_answer(spec), True)
    if spec.id in TYPED:
        typed = TYPED[spec.id][choice]
        return Planned(typed, False, typed)
    options = [spec.options[index] for index in CHOSEN[spec.id][choice]]
    ids = [option.id for option in options]
    if spec.type in ("single", "truefalse"):
        assert not options[0].correct, "a planned wrong answer must be a wrong option"
    separator = " → " if spec.type == "order" else "; "
    tags = sorted({option.misconception for option in options if option.misconception})
    return Planned(
        ids if spec.type in ("multi", "order") else ids[0],
        False,
        separator.join(option.text for option in options),
        ", ".join(tags),
    )


class Visitor:
    """One browser working through its plan; pages are read once per opening."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.pages: dict[str, str] = {}

    def lesson_path(self, lesson: str) -> str:
        return f"/courses/{COURSE}/{lesson}/"

    @property
    def csrf(self) -> str:
        return meta_csrf(next(iter(self.pages.values())))

    def run(self, step: Step, lessons: dict[str, Lesson]) -> None:
        if step.kind == "open":
            self.pages[step.lesson] = page_of(self.client, self.lesson_path(step.lesson))
        elif step.kind == "answer":
            spec = lessons[step.lesson].question(step.question)
            assert spec is not None
            for choice in step.choices:
                self.answer(step.lesson, spec, planned(spec, choice))
        elif step.kind == "complete":
            path = self.lesson_path(step.lesson)
            form = re.search(
                rf'<form [^>]*action="{re.escape(path)}complete".*?</form>',
                self.pages[step.lesson],
                re.DOTALL,
            )
            assert form, "no Mark as complete form on the lesson page"
            token = csrf_tokens(form.group(0))["csrf_token"]
            response = self.client.post(f"{path}complete", data={"csrf_token": token})
            assert response.status_code == 303
        elif step.kind == "read":
            response = self.client.post(
                f"/api/v1/progress/{COURSE}/{step.lesson}",
                json={"section": None, "percent_read": 100},
                headers={"X-CSRFToken": self.csrf},
            )
            assert response.status_code == 200, response.get_data(as_text=True)
        else:
            response = self.client.post(f"/courses/{COURSE}/reset", data={"csrf_token": self.csrf})
            assert response.status_code == 303

    def answer(self, lesson: str, spec: QuizSpec, plan: Planned) -> None:
        form = answer_form(section_of(self.pages[lesson], spec.id))
        response = self.client.post(
            f"/courses/{COURSE}/{lesson}/quiz/{spec.id}/answer",
            json={
                "submission_id": str(uuid.uuid4()),
                "revision": form.fields["revision"],
                "answer": plan.value,
            },
            headers={"X-CSRFToken": form.csrf},
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.get_json()["correct"] is plan.correct, (spec.id, plan)


# ---------- what the plan says the page must show ----------


@dataclass
class LearnerModel:
    """A learner's state as the plan leaves it (progress since the last reset)."""

    current: dict[str, bool] = field(default_factory=dict)  # lesson -> completed
    read: set[str] = field(default_factory=set)
    correct: set[str] = field(default_factory=set)  # questions answered right since reset
    opened: bool = False


@dataclass(frozen=True)
class ExpectedQuestion:
    lesson: str
    spec: QuizSpec
    source: str
    attempts: int
    learners: int
    first_try: int | None
    wrong: tuple[str, int, str] | None  # text, count, misconception


@dataclass(frozen=True)
class Expected:
    learners: int
    lessons: dict[str, tuple[int, int]]  # started, completed
    questions: list[ExpectedQuestion]


def expected_figures(lessons: dict[str, Lesson]) -> Expected:
    models = {plan.name: LearnerModel() for plan in PLANS}
    attempts: dict[str, list[tuple[str, Planned]]] = {}  # question -> (learner, answer)

    def earned(model: LearnerModel, lesson: str) -> None:
        wanted = {spec.id for spec in lessons[lesson].questions}
        if lesson in model.current and lesson in model.read and wanted <= model.correct:
            model.current[lesson] = True

    for plan in PLANS:
        model = models[plan.name]
        for step in plan.steps:
            if step.kind == "open":
                model.opened = True
                model.current.setdefault(step.lesson, False)
            elif step.kind == "complete":
                model.current[step.lesson] = True
            elif step.kind == "read":
                model.read.add(step.lesson)
                earned(model, step.lesson)
            elif step.kind == "reset":
                model.current.clear()
                model.read.clear()
                model.correct.clear()
            else:
                spec = lessons[step.lesson].question(step.question)
                assert spec is not None
                for choice in step.choices:
                    answer = planned(spec, choice)
                    attempts.setdefault(spec.id, []).append((plan.name, answer))
                    if answer.correct:
                        model.correct.add(spec.id)
                earned(model, step.lesson)

    lesson_counts = {
        slug: (
            sum(slug in m.current for m in models.values()),
            sum(m.current.get(slug, False) for m in models.values()),
        )
        for slug in lessons
    }
    questions = []
    for slug, lesson in lessons.items():
        for spec in lesson.questions:
            made = attempts.get(spec.id, [])
            firsts: dict[str, bool] = {}
            for learner, answer in made:
                firsts.setdefault(learner, answer.correct)
            wrong = Counter((a.text, a.misconception) for _, a in made if not a.correct)
            ranked = wrong.most_common()
            if len(ranked) > 1:
                assert ranked[0][1] > ranked[1][1], f"the plan has a tie for {spec.id}"
            questions.append(
                ExpectedQuestion(
                    slug,
                    spec,
                    f"{SNAPSHOT_CONTENT.relative_to(PROJECT_ROOT)}/{COURSE}/{lesson.file_name}:{spec.line}",
                    len(made),
                    len(firsts),
                    sum(firsts.values()) * 100 // len(firsts) if firsts else None,
                    (ranked[0][0][0], ranked[0][1], ranked[0][0][1]) if ranked else None,
                )
            )
    learners = sum(m.opened for m in models.values())
    return Expected(learners, lesson_counts, questions)


# ---------- the statistics app ----------


@dataclass(frozen=True)
class StatsSite:
    app: Flask
    lessons: dict[str, Lesson]
    instructor: FlaskClient


@pytest.fixture(scope="module")
def stats(tmp_path_factory: pytest.TempPathFactory) -> StatsSite:
    app = migrated_app(
        tmp_path_factory.mktemp("instructor-stats"),
        CONTENT_DIR=str(SNAPSHOT_CONTENT),
        **FAST_LOGINS,
    )
    with app.app_context():
        course = catalog().course(COURSE)
        assert course is not None
        lessons = {lesson.slug: lesson for lesson in course.lessons}
    assert list(lessons) == [L1, L2, L3]
    for plan in PLANS:
        if plan.account:
            add_user(app, f"{plan.name}@example.org")
            client = signed_in(app, f"{plan.name}@example.org")
        else:
            client = app.test_client()
        visitor = Visitor(client)
        for step in plan.steps:
            visitor.run(step, lessons)
    add_user(app, "teacher@example.org", role="instructor")
    return StatsSite(app, lessons, signed_in(app, "teacher@example.org"))


def test_the_plan_covers_accounts_guests_and_resets() -> None:
    """The dataset is what the figures below are about: guard its shape."""
    assert len(PLANS) == 12
    assert sum(plan.account for plan in PLANS) == 5
    assert sum(RESET in plan.steps for plan in PLANS) == 3
    assert len({plan.name for plan in PLANS}) == len(PLANS)


def lesson_rows(page: str) -> dict[str, tuple[int, int, str]]:
    table = re.search(r'aria-labelledby="lessons-title">.*?</table>', page, re.DOTALL)
    assert table, "no lessons table"
    rows = re.findall(
        rf'<th scope="row">\d+\. <a href="/courses/{COURSE}/([\w-]+)/">.*?</a></th>\s*'
        r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">(.*?)</td>',
        table.group(0),
    )
    return {slug: (int(started), int(done), rate) for slug, started, done, rate in rows}


@dataclass(frozen=True)
class QuestionRow:
    prompt: str
    attempts: int
    learners: int
    first_try: str
    wrong: tuple[str, int, str] | None
    source: str


def question_rows(page: str) -> dict[str, QuestionRow]:
    found: dict[str, QuestionRow] = {}
    for qid, row in re.findall(r'<tr id="question-([\w-]+)">(.*?)</tr>', page, re.DOTALL):
        prompt = re.search(r'<span class="question-prompt">(.*?)</span>', row, re.DOTALL)
        assert prompt
        attempts, learners, first, wrong_cell, source = re.findall(
            r"<td[^>]*>(.*?)</td>", row, re.DOTALL
        )
        wrong = None
        if "None yet" not in wrong_cell:
            text, count = re.match(
                r'(.*?) <span class="table-muted">×(\d+)</span>', wrong_cell, re.DOTALL
            ).groups()
            tag = re.search(r'<span class="tag">(.*?)</span>', wrong_cell)
            wrong = (text_of(text), int(count), text_of(tag.group(1)) if tag else "")
        found[qid] = QuestionRow(
            html.unescape(prompt.group(1)),
            int(attempts),
            int(learners),
            text_of(first),
            wrong,
            text_of(source),
        )
    return found


def plain_prompt(spec: QuizSpec) -> str:
    """The prompt's text before its first code block, tags dropped."""
    before = re.split(r'<(?:figure|div) class="code-block"', spec.prompt_html)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", before)).split())


def test_course_page_numbers_match_the_plan(stats: StatsSite) -> None:
    expected = expected_figures(stats.lessons)
    response = stats.instructor.get(f"/instructor/{COURSE}/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    lead = re.search(r'<p class="lead">(.*?)</p>', page, re.DOTALL)
    assert lead
    assert text_of(lead.group(1)).startswith(f"{expected.learners} learners so far")

    rows = lesson_rows(page)
    assert list(rows) == list(stats.lessons)
    for slug, (started, completed) in expected.lessons.items():
        rate = f"{completed * 100 // started}%" if started else "–"
        assert rows[slug] == (started, completed, rate), slug

    shown = question_rows(page)
    assert list(shown) == [q.spec.id for q in expected.questions]  # course order
    truncate = Environment(autoescape=True)
    for q in expected.questions:
        row = shown[q.spec.id]
        first = "–" if q.first_try is None else f"{q.first_try}%"
        assert (row.attempts, row.learners, row.first_try) == (q.attempts, q.learners, first)
        assert row.source == q.source
        if q.wrong is None:
            assert row.wrong is None, q.spec.id
        else:
            text, count, tag = q.wrong
            assert row.wrong == (do_truncate(truncate, text, 120), count, tag), q.spec.id


def test_the_plans_figures_are_not_trivial(stats: StatsSite) -> None:
    """The expected figures exercise resets, partial completion and every question type."""
    expected = expected_figures(stats.lessons)
    assert expected.learners == 12
    assert expected.lessons == {L1: (9, 2), L2: (5, 3), L3: (2, 2)}
    by_id = {q.spec.id: q for q in expected.questions}
    assert (by_id[SINGLE].attempts, by_id[SINGLE].learners, by_id[SINGLE].first_try) == (
        16,
        10,
        40,
    )
    assert by_id[SINGLE].wrong is not None and by_id[SINGLE].wrong[1:] == (
        5,
        "string-response-is-plain-text",
    )
    assert by_id[NUMBER].wrong == ("-1", 3, "")
    assert [q.spec.type for q in expected.questions[:6]] == [
        "single",
        "multi",
        "order",
        "truefalse",
        "text",
        "number",
    ]


def test_the_instructor_index_counts_learners_per_course(stats: StatsSite) -> None:
    page = page_of(stats.instructor, "/instructor/")
    row = re.search(rf'<a href="/instructor/{COURSE}/">.*?</tr>', page, re.DOTALL)
    assert row
    cells = [text_of(cell) for cell in re.findall(r'<td class="num">(.*?)</td>', row.group(0))]
    questions = sum(len(lesson.questions) for lesson in stats.lessons.values())
    assert cells == [
        str(len(stats.lessons)),
        str(questions),
        str(expected_figures(stats.lessons).learners),
    ]


def test_questions_csv_has_one_row_per_question_with_the_page_figures(stats: StatsSite) -> None:
    expected = expected_figures(stats.lessons)
    page = question_rows(page_of(stats.instructor, f"/instructor/{COURSE}/"))
    response = stats.instructor.get(f"/instructor/{COURSE}/questions.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{COURSE}-questions.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 1 + len(expected.questions)
    for q, row in zip(expected.questions, rows[1:], strict=True):
        text, count, tag = q.wrong or ("", 0, "")
        first = "" if q.first_try is None else str(q.first_try)
        assert row[:2] == [q.lesson, q.spec.id]
        assert row[3:] == [
            str(q.attempts),
            str(q.learners),
            first,
            csv_cell(text),
            str(count),
            tag,
            q.source,
        ], q.spec.id
        shown = page[q.spec.id]
        assert [row[3], row[4]] == [str(shown.attempts), str(shown.learners)]
        assert shown.first_try == (f"{row[5]}%" if row[5] else "–")
        # the page shortens long prompts; the CSV has them whole, on one line
        assert row[2].startswith(shown.prompt.removesuffix("..."))
        assert row[2].startswith(plain_prompt(q.spec))
        assert "\n" not in row[2]
    number = next(row for row in rows if row[1] == NUMBER)
    assert number[6] == "'-1"  # a typed answer starting with "-" is no formula either


# ---------- a generated course: formulas, a multi question, broken content ----------


STAFF_DEMO = "staff-demo"
FRONT = """\
---
title: {title}
summary: A lesson for the staff tests.
objectives:
  - Spot a formula
  - Escape a cell
  - Answer the check
---
"""
GENERATED: dict[str, str] = {
    f"{STAFF_DEMO}/course.yml": "title: Staff Demo\nsummary: A course for the staff tests.\n",
    f"{STAFF_DEMO}/01-formulas.md": FRONT.format(title="Formulas")
    + textwrap.dedent(
        """\
        ## Check

        ```quiz id=formula-prompt type=single
        =SUM(1, 2) is what a spreadsheet runs. What should a CSV export do with such a cell?

        - [x] Prefix it so that it is shown as text
        - [ ] =1+1
          > A cell like this runs as a formula.
          misconception: formulas-are-inert
        - [ ] @A1
          > This one runs too.

        explain: Spreadsheets run cells that start with = + - or @.
        ```

        ```quiz id=pick-tools type=multi
        Which of these are Pallets projects?

        - [x] Werkzeug
        - [x] Jinja2
        - [ ] Django
          > Django is its own project.
          misconception: django-is-pallets
        - [ ] Rails
          > Rails is a Ruby framework.
          misconception: rails-is-python

        explain: Werkzeug and Jinja2 are Pallets projects.
        ```

        ```quiz id=broken-check type=single
        Which two are right? (this prompt must never reach learners)

        - [x] one
        - [x] two
        ```
        """
    ),
    f"{STAFF_DEMO}/02-broken.md": "---\ntitle: [oops\n---\nBody\n",
}
BROKEN_BOX = "Question broken-check is left out: fix these errors"
BROKEN_ERROR = "01-formulas.md:39:1: error: single-choice question has 2 correct options"
BROKEN_FILE = "02-broken.md:3:1: error: invalid YAML in front matter"


@dataclass(frozen=True)
class GeneratedSite:
    app: Flask
    lesson: Lesson
    clients: dict[str, FlaskClient]  # guest, learner, instructor, admin


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratedSite:
    root = tmp_path_factory.mktemp("staff-content")
    for name, text in GENERATED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    # The module's tests add answers and read the figures again at once: none are kept.
    app = migrated_app(
        tmp_path_factory.mktemp("staff-instance"),
        CONTENT_DIR=str(root),
        INSTRUCTOR_STATS_MAX_AGE=0,
    )
    assert not app.debug
    with app.app_context():
        course = catalog().course(STAFF_DEMO)
        assert course is not None
        (lesson,) = course.lessons
    clients = {"guest": app.test_client()}
    for role in ("learner", "instructor", "admin"):
        add_user(app, f"{role}@example.org", role=role)
        clients[role] = signed_in(app, f"{role}@example.org")
    return GeneratedSite(app, lesson, clients)


def guest_answers(site: GeneratedSite, question: str, *answers: Any) -> None:
    """Each answer from a new guest, who opens the lesson first."""
    for value in answers:
        guest = site.app.test_client()
        path = f"/courses/{STAFF_DEMO}/formulas/"
        form = answer_form(section_of(page_of(guest, path), question))
        response = guest.post(
            f"{path}quiz/{question}/answer",
            json={
                "submission_id": str(uuid.uuid4()),
                "revision": form.fields["revision"],
                "answer": value,
            },
            headers={"X-CSRFToken": form.csrf},
        )
        assert response.status_code == 200
        assert response.get_json()["correct"] is False


def test_csv_cells_that_would_run_as_formulas_are_made_text(generated: GeneratedSite) -> None:
    spec = generated.lesson.question("formula-prompt")
    assert spec is not None
    formula, at_sign = (option for option in spec.options if not option.correct)
    assert (formula.text, at_sign.text) == ("=1+1", "@A1")
    guest_answers(generated, spec.id, formula.id, at_sign.id, formula.id)

    instructor = generated.clients["instructor"]
    response = instructor.get(f"/instructor/{STAFF_DEMO}/questions.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == CSV_HEADER
    row = next(row for row in rows if row[1] == spec.id)
    prompt = "=SUM(1, 2) is what a spreadsheet runs. What should a CSV export do with such a cell?"
    assert row[:3] == ["formulas", spec.id, "'" + prompt]
    assert row[3:9] == ["3", "3", "0", "'=1+1", "2", formula.misconception]
    assert row[9].endswith(f"{STAFF_DEMO}/01-formulas.md:{spec.line}")
    # the page shows the text as written: only the CSV needs the quote
    shown = question_rows(page_of(instructor, f"/instructor/{STAFF_DEMO}/"))[spec.id]
    assert shown.wrong == ("=1+1", 2, formula.misconception)
    assert shown.prompt == prompt


def test_the_same_wrong_set_in_another_order_is_one_wrong_answer(
    generated: GeneratedSite,
) -> None:
    spec = generated.lesson.question("pick-tools")
    assert spec is not None
    django, rails = (option for option in spec.options if not option.correct)
    guest_answers(generated, spec.id, [django.id, rails.id], [rails.id, django.id])

    rows = csv.reader(
        io.StringIO(
            page_of(generated.clients["instructor"], f"/instructor/{STAFF_DEMO}/questions.csv")
        )
    )
    row = next(row for row in rows if row[1] == spec.id)
    tags = ", ".join(sorted([django.misconception, rails.misconception]))
    assert (row[7], row[8]) == ("2", tags)


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [("guest", False), ("learner", False), ("instructor", True), ("admin", True)],
)
def test_a_broken_quiz_block_is_shown_to_staff_only(
    generated: GeneratedSite, viewer: str, sees: bool
) -> None:
    page = page_of(generated.clients[viewer], f"/courses/{STAFF_DEMO}/formulas/")
    assert 'id="q-formula-prompt"' in page and 'id="q-pick-tools"' in page
    assert 'id="q-broken-check"' not in page
    assert "must never reach learners" not in page
    assert (BROKEN_BOX in page) is sees
    assert (BROKEN_ERROR in page) is sees
    assert ('class="quiz quiz-broken"' in page) is sees


@pytest.mark.parametrize(
    ("viewer", "status"),
    [("guest", 404), ("learner", 404), ("instructor", 500), ("admin", 500)],
)
def test_a_broken_lesson_file_is_404_for_learners_and_explained_to_staff(
    generated: GeneratedSite, viewer: str, status: int
) -> None:
    page = page_of(generated.clients[viewer], f"/courses/{STAFF_DEMO}/broken/", status)
    assert ("02-broken.md</code> failed to load" in page) is (status == 500)
    assert (BROKEN_FILE in page) is (status == 500)


# ---------- every instructor and admin URL, for every role ----------


def staff_rules() -> list[tuple[str, str, tuple[str, ...]]]:
    """(endpoint, method, arguments) for each GET or POST of the two blueprints."""
    with tempfile.TemporaryDirectory() as instance:
        app = isolated_app({"TESTING": True, "INSTANCE_PATH": instance})
        return sorted(
            (rule.endpoint, method, tuple(sorted(rule.arguments)))
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith(("instructor.", "admin."))
            for method in ("GET", "POST")
            if method in (rule.methods or ())
        )


STAFF_RULES = staff_rules()
ROLES = ("learner", "instructor", "admin")


@dataclass(frozen=True)
class RolesSite:
    app: Flask
    clients: dict[str, FlaskClient]  # anonymous and one per role
    ids: dict[str, int]


@pytest.fixture(scope="module")
def roles(tmp_path_factory: pytest.TempPathFactory) -> RolesSite:
    app = migrated_app(tmp_path_factory.mktemp("instructor-roles"), **FAST_LOGINS)
    ids = {role: add_user(app, f"{role}@example.org", role=role) for role in ROLES}
    clients = {"anonymous": app.test_client()}
    clients.update({role: signed_in(app, f"{role}@example.org") for role in ROLES})
    return RolesSite(app, clients, ids)


def test_the_role_cases_cover_every_staff_endpoint(roles: RolesSite) -> None:
    live = {
        rule.endpoint
        for rule in roles.app.url_map.iter_rules()
        if rule.endpoint.startswith(("instructor.", "admin."))
    }
    assert STAFF_RULES
    assert {endpoint for endpoint, _, _ in STAFF_RULES} == live
    assert {
        "instructor.index",
        "instructor.course",
        "instructor.questions_csv",
        "admin.users",
        "admin.set_user_role",
    } <= live
    assert ("admin.set_user_role", "POST", ("user_id",)) in STAFF_RULES


def staff_request(
    site: RolesSite, who: str, endpoint: str, method: str, arguments: tuple[str, ...]
) -> tuple[str, TestResponse]:
    samples = {"course_slug": COURSE, "user_id": site.ids["learner"]}
    assert set(arguments) <= set(samples), f"no sample value for {arguments}"
    with site.app.test_request_context():
        path = url_for(endpoint, **{name: samples[name] for name in arguments})
    client = site.clients[who]
    if method == "GET":
        return path, client.get(path)
    token = form_csrf(client, "/auth/login" if who == "anonymous" else "/")
    # the learner keeps the role they have: an allowed POST changes nothing
    return path, client.post(path, data={"csrf_token": token, "role": "learner"})


EXPECTED_STATUS = {
    ("learner", "instructor"): 403,
    ("learner", "admin"): 403,
    ("instructor", "admin"): 403,
}


@pytest.mark.parametrize(("endpoint", "method", "arguments"), STAFF_RULES)
@pytest.mark.parametrize("who", ["anonymous", *ROLES])
def test_every_staff_url_checks_the_role(
    roles: RolesSite, who: str, endpoint: str, method: str, arguments: tuple[str, ...]
) -> None:
    path, response = staff_request(roles, who, endpoint, method, arguments)
    blueprint = endpoint.split(".")[0]
    if who == "anonymous":
        assert response.status_code == 302
        location = urlsplit(response.location)
        assert location.path == "/auth/login"
        assert parse_qs(location.query) == {"next": [path]}
    else:
        allowed = 303 if method == "POST" else 200
        assert response.status_code == EXPECTED_STATUS.get((who, blueprint), allowed)
    assert get_user(roles.app, "learner@example.org").role == "learner"


@pytest.mark.parametrize("who", ["instructor", "admin"])
def test_an_unknown_course_is_404_for_staff(roles: RolesSite, who: str) -> None:
    client = roles.clients[who]
    assert client.get("/instructor/no-such-course/").status_code == 404
    assert client.get("/instructor/no-such-course/questions.csv").status_code == 404


@pytest.mark.parametrize(
    ("who", "sees"),
    [("anonymous", False), ("learner", False), ("instructor", True), ("admin", True)],
)
def test_the_header_shows_instructor_to_staff_only(roles: RolesSite, who: str, sees: bool) -> None:
    page = page_of(roles.clients[who], "/")
    nav = re.search(r'<nav class="site-nav".*?</nav>', page, re.DOTALL)
    assert nav
    link = re.search(
        r'<a class="site-nav-staff" href="/instructor/"[^>]*>Instructor</a>', nav.group(0)
    )
    assert (link is not None) is sees
    assert ("Instructor" in text_of(nav.group(0))) is sees


@pytest.mark.parametrize(
    "path",
    [
        "/instructor/",
        f"/instructor/{COURSE}/",
        f"/instructor/{COURSE}/questions.csv",
        "/admin/users",
    ],
)
def test_staff_pages_are_never_cached(roles: RolesSite, path: str) -> None:
    response = roles.clients["admin"].get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


# ---------- the admin's user list ----------


FILLERS = 52


@dataclass(frozen=True)
class AdminSite:
    app: Flask
    boss: FlaskClient
    ids: dict[str, int]
    accounts: list[tuple[str, str]]  # (email, role) in the order they were created


@pytest.fixture(scope="module")
def admin_site(tmp_path_factory: pytest.TempPathFactory) -> AdminSite:
    app = migrated_app(tmp_path_factory.mktemp("instructor-admin"), **FAST_LOGINS)
    people = [("boss@example.org", "admin"), ("ann@example.org", "learner")]
    people += [("deputy@example.org", "learner"), ("tutor@example.org", "instructor")]
    ids = {email.split("@")[0]: add_user(app, email, role=role) for email, role in people}
    fillers = [(f"filler{n:02d}@example.org", "learner") for n in range(1, FILLERS + 1)]
    with app.app_context():  # accounts that never sign in share one hash: scrypt is slow
        shared = hash_password(PASSWORD)
        for email, role in fillers:
            db.session.add(
                User(email=email, display_name=email.split("@")[0], password_hash=shared, role=role)
            )
        db.session.commit()
    return AdminSite(app, signed_in(app, "boss@example.org"), ids, people + fillers)


def role_of(site: AdminSite, name: str) -> str:
    user = get_user(site.app, f"{name}@example.org")
    assert user is not None
    return user.role


def set_role(client: FlaskClient, user_id: int, role: str, csrf: bool = True) -> TestResponse:
    data = {"role": role}
    if csrf:
        data["csrf_token"] = form_csrf(client, "/admin/users")
    return client.post(f"/admin/users/{user_id}/role", data=data)


def listed(page: str) -> list[tuple[str, str]]:
    """(email, selected role) of each account row."""
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", page, re.DOTALL)
    found = []
    for row in rows:
        email = re.search(r'<span class="table-muted">([^<]+@[^<]+)</span>', row)
        role = re.search(r'<option value="(\w+)" selected>', row)
        assert email and role
        found.append((email.group(1), role.group(1)))
    return found


def test_the_user_list_shows_accounts_with_their_roles(admin_site: AdminSite) -> None:
    page = page_of(admin_site.boss, "/admin/users")
    assert listed(page) == admin_site.accounts[:50]
    assert f"{len(admin_site.accounts)} accounts." in text_of(page)
    assert "boss (you)" in text_of(page)


def test_the_user_list_pages_by_fifty(admin_site: AdminSite) -> None:
    first = page_of(admin_site.boss, "/admin/users")
    second = page_of(admin_site.boss, "/admin/users?page=2")
    assert 50 < len(admin_site.accounts) <= 100
    assert listed(first) == admin_site.accounts[:50]
    assert listed(second) == admin_site.accounts[50:]
    assert 'href="/admin/users?page=2"' in first and "pager-prev" not in first
    assert 'href="/admin/users?page=1"' in second and "pager-next" not in second
    # a change made on page 2 comes back to page 2
    filler = get_user(admin_site.app, admin_site.accounts[-1][0])
    assert filler is not None
    action = f"/admin/users/{filler.id}/role?page=2"
    assert f'action="{action}"' in second
    token = csrf_tokens(second)["csrf_token"]
    response = admin_site.boss.post(action, data={"csrf_token": token, "role": "learner"})
    assert response.status_code == 303
    assert response.location == "/admin/users?page=2"


def test_an_admin_changes_a_role(admin_site: AdminSite) -> None:
    ann = admin_site.ids["ann"]
    response = set_role(admin_site.boss, ann, "instructor")
    assert response.status_code == 303
    assert response.location == "/admin/users"
    page = page_of(admin_site.boss, response.location)
    assert flashes(page) == ["ann@example.org is now an instructor."]
    assert ("ann@example.org", "instructor") in listed(page)
    assert role_of(admin_site, "ann") == "instructor"

    back = set_role(admin_site.boss, ann, "learner")
    assert back.status_code == 303
    assert flashes(page_of(admin_site.boss, back.location)) == ["ann@example.org is now a learner."]
    assert role_of(admin_site, "ann") == "learner"


def test_a_role_change_without_the_csrf_token_is_refused(admin_site: AdminSite) -> None:
    response = set_role(admin_site.boss, admin_site.ids["ann"], "admin", csrf=False)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert role_of(admin_site, "ann") == "learner"


def test_an_unknown_role_is_refused_with_a_message(admin_site: AdminSite) -> None:
    response = set_role(admin_site.boss, admin_site.ids["ann"], "superuser")
    assert response.status_code == 400
    assert flashes(response.get_data(as_text=True)) == [
        "Unknown role 'superuser': use one of learner, instructor, admin."
    ]
    assert role_of(admin_site, "ann") == "learner"


def test_an_unknown_account_is_404(admin_site: AdminSite) -> None:
    missing = max(admin_site.ids.values()) + 10 * len(admin_site.accounts)
    assert get_user(admin_site.app, "nobody@example.org") is None
    with admin_site.app.app_context():
        assert db.session.get(User, missing) is None
    assert set_role(admin_site.boss, missing, "learner").status_code == 404


def test_the_last_admin_cannot_step_down(admin_site: AdminSite) -> None:
    response = set_role(admin_site.boss, admin_site.ids["boss"], "instructor")
    assert response.status_code == 400
    assert flashes(response.get_data(as_text=True)) == [
        "boss@example.org is the only admin. Make another account an admin first."
    ]
    assert role_of(admin_site, "boss") == "admin"
    assert admin_site.boss.get("/admin/users").status_code == 200


def test_an_admin_who_steps_down_goes_to_the_instructor_pages(admin_site: AdminSite) -> None:
    deputy_id = admin_site.ids["deputy"]
    assert set_role(admin_site.boss, deputy_id, "admin").status_code == 303
    assert role_of(admin_site, "deputy") == "admin"
    deputy = signed_in(admin_site.app, "deputy@example.org")
    assert deputy.get("/admin/users").status_code == 200

    response = set_role(deputy, deputy_id, "instructor")

    assert response.status_code == 303
    assert response.location == "/instructor/"
    page = page_of(deputy, response.location)
    assert flashes(page) == ["You are now an instructor: the user list is for admins only."]
    assert "Manage user accounts" not in page
    assert deputy.get("/admin/users").status_code == 403
    assert role_of(admin_site, "deputy") == "instructor"
    assert set_role(admin_site.boss, deputy_id, "learner").status_code == 303  # as before


def test_figures_are_kept_for_their_max_age_and_then_computed_again(make_app: MakeApp) -> None:
    app = make_app(INSTRUCTOR_STATS_MAX_AGE=3600)
    add_user(app, "grace@example.com", role="instructor")
    staff = Browser(app)
    staff.login("grace@example.com")
    url = "/instructor/flask-fundamentals/"
    before = staff.client.get(url).get_data(as_text=True)
    assert "0 learners so far" in before
    learner = Learner(app)
    learner.page("what-is-flask")
    kept = staff.client.get(url).get_data(as_text=True)
    assert "0 learners so far" in kept, "within the max age the kept figures are shown"
    assert re.search(r"Figures as of \d\d:\d\d UTC", kept)
    app.config["INSTRUCTOR_STATS_MAX_AGE"] = 0
    fresh = staff.client.get(url).get_data(as_text=True)
    assert "1 learner so far" in fresh


def join_background_figures() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("instructor-stats-"):
            thread.join(timeout=30)
            assert not thread.is_alive()


def test_old_figures_are_shown_while_new_ones_are_computed_in_the_background(
    make_app: MakeApp,
) -> None:
    app = make_app(INSTRUCTOR_STATS_MAX_AGE=3600, INSTRUCTOR_STATS_STALE_FOR=3600)
    add_user(app, "grace@example.com", role="instructor")
    staff = Browser(app)
    staff.login("grace@example.com")
    url = "/instructor/flask-fundamentals/"
    assert "0 learners so far" in staff.client.get(url).get_data(as_text=True)
    Learner(app).page("what-is-flask")
    app.config["INSTRUCTOR_STATS_MAX_AGE"] = 0.000001  # the kept figures are past it
    stale = staff.client.get(url).get_data(as_text=True)
    assert "0 learners so far" in stale, "the view does not wait for the new figures"
    join_background_figures()
    app.config["INSTRUCTOR_STATS_MAX_AGE"] = 3600
    assert "1 learner so far" in staff.client.get(url).get_data(as_text=True)

    # Older than their max age and the stale window together: the view computes them.
    Learner(app).page("what-is-flask")
    app.config.update(INSTRUCTOR_STATS_MAX_AGE=0.000001, INSTRUCTOR_STATS_STALE_FOR=0)
    assert "2 learners so far" in staff.client.get(url).get_data(as_text=True)
