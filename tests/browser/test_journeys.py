"""Learners' journeys from start to finish in Chromium, each in a fresh browser context.

- A guest finds the course in the catalog, reads a lesson, jumps through its table of
  contents, takes a hint, answers wrong and then right, and completes the knowledge check.
- A guest who has done the same creates an account: progress and answers come along; after
  signing out and in again the dashboard's "Continue where you left off" lands on the
  section being read.
- A reader without JavaScript answers a question of every type by plain form posts and
  marks the lesson complete.

Each journey saves viewport screenshots of its key states under
``test-results/journeys/<journey>/NN-<state>.png``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Response, expect

from app.lessons.store import catalog
from app.quiz_types import QuizSpec
from tests.conftest import MakeApp

COURSE = "flask-fundamentals"
FIRST, SECOND, ALL_TYPES = "what-is-flask", "what-micro-means", "first-flask-app"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000
PASSWORD = "correct horse battery staple"
QUESTION_TYPES = ("single", "multi", "truefalse", "text", "order", "number")


@dataclass(frozen=True)
class Course:
    title: str
    lessons: int
    keys: dict[str, list[QuizSpec]]  # lesson slug -> its questions, answer keys included


def lesson_path(slug: str) -> str:
    return f"/courses/{COURSE}/{slug}/"


@pytest.fixture
def course(make_app: MakeApp) -> Course:
    """The bundled course, with the answer keys of the lessons the journeys answer."""
    with make_app().app_context():
        bundled = catalog().course(COURSE)
        keys = {slug: list(bundled.lesson(slug).questions) for slug in (FIRST, ALL_TYPES)}
        return Course(bundled.title, len(bundled.lessons), keys)


class Shots:
    """Numbered viewport screenshots of one journey: ``NN-<state>.png``."""

    def __init__(self, page: Page, folder: Path | None) -> None:
        self.page, self.folder, self.count = page, folder, 0

    def __call__(self, state: str) -> None:
        if self.folder is None:
            return
        self.count += 1
        self.page.screenshot(path=self.folder / f"{self.count:02d}-{state}.png")


@pytest.fixture
def journey(
    new_context: Callable[..., BrowserContext], pytestconfig: pytest.Config
) -> Callable[..., tuple[Page, Shots]]:
    """A page in a fresh browser context (a new guest), and its screenshot taker."""

    def start(name: str, **context_args: object) -> tuple[Page, Shots]:
        page = new_context(viewport=VIEWPORT, **context_args).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        folder = Path(pytestconfig.getoption("--output")) / "journeys" / name
        folder.mkdir(parents=True, exist_ok=True)
        return page, Shots(page, folder)

    return start


def typed_answer(spec: QuizSpec) -> str:
    """What a learner types for a text or number question: the first literal answer."""
    answer = next(answer for answer in spec.answers if not answer.startswith("/"))
    return answer.split("±")[0].strip()


def fill_in(page: Page, spec: QuizSpec, *, wrong: bool = False) -> Locator:
    """Give the correct answer (or a wrong option) to ``spec`` as a learner would; returns
    the question's section. Order questions use Move up with quiz.js, the position menus
    without it."""
    section = page.locator(f"#q-{spec.id}")
    section.scroll_into_view_if_needed()
    if spec.type in ("single", "multi", "truefalse"):
        options = [o for o in spec.options if o.correct != wrong]
        for option in options[:1] if wrong else options:
            section.locator(f'label[for="q-{spec.id}-{option.id}"]').click()
            expect(section.locator(f"#q-{spec.id}-{option.id}")).to_be_checked()
    elif spec.type in ("text", "number"):
        section.locator(f"#q-{spec.id}-answer").fill(typed_answer(spec))
    elif section.locator(".quiz-order-enhanced").count():
        items = section.locator(".quiz-order-item select")
        for target, option in enumerate(spec.options):
            ids = [select.get_attribute("id") for select in items.all()]
            current = ids.index(f"q-{spec.id}-pos-{option.id}")
            item = section.locator(f"li:has(#q-{spec.id}-pos-{option.id})")
            for _ in range(current - target):
                item.locator(".quiz-move-up").click()
    else:
        for position, option in enumerate(spec.options, start=1):
            section.locator(f"#q-{spec.id}-pos-{option.id}").select_option(str(position))
    return section


def frame(locator: Locator, block: str = "center") -> None:
    """Scroll ``locator`` to the top, center or end of the window for a screenshot."""
    locator.evaluate("(node, block) => node.scrollIntoView({block})", block)


def reports_one_of(sections: list[str]) -> Callable[[Response], bool]:
    """Matches the answer to a reading-progress report (progress.js) naming one of
    ``sections``."""

    def matches(response: Response) -> bool:
        request = response.request
        if request.method != "POST" or "/api/v1/progress/" not in request.url:
            return False
        return json.loads(request.post_data or "{}").get("section") in sections

    return matches


def check(section: Locator) -> None:
    section.get_by_role("button", name="Check", exact=True).click()


def option_feedback(spec: QuizSpec) -> str:
    """The plain text of the first wrong option's feedback."""
    wrong = next(o for o in spec.options if not o.correct and o.feedback_html)
    return re.sub(r"<[^>]+>", "", wrong.feedback_html).split(".")[0]


def guest_answers_the_first_lesson(page: Page, course: Course, shot: Shots) -> None:
    """From the lesson's table of contents to a complete knowledge check: the first
    question wrong then right, a hint on a later one, every other question right."""
    questions = course.keys[FIRST]
    first, *rest = questions
    with_hints = next(spec for spec in rest if len(spec.hints_html) > 1)

    toc = page.locator("nav.toc")
    expect(toc.locator("details")).to_have_attribute("open", "")
    shot("lesson-with-toc")
    toc.get_by_role("link", name="So what is Flask?").click()
    expect(page).to_have_url(re.compile(r"#h-so-what-is-flask$"))
    expect(page.locator("#h-so-what-is-flask")).to_be_in_viewport()
    expect(toc.locator("a[aria-current='true']")).to_have_text("So what is Flask?")
    shot("toc-jump")

    toc.get_by_role("link", name="Check your understanding").click()
    expect(page.locator("#h-check-your-understanding")).to_be_in_viewport()
    section = fill_in(page, first, wrong=True)
    check(section)
    result = section.locator(".quiz-result")
    expect(result).to_contain_text("Not quite. Try again.")
    expect(result.locator(".quiz-feedback")).to_contain_text(option_feedback(first))
    expect(result.locator(".quiz-explanation")).to_have_count(0)
    expect(page.locator(".knowledge-check-summary")).to_contain_text(
        f"1 of {len(questions)} answered."
    )
    frame(result, "end")
    shot("answered-wrong")

    fill_in(page, first)
    check(section)
    expect(result).to_contain_text("Correct!")
    expect(result).to_contain_text("Attempt 2")
    expect(result.locator(".quiz-explanation")).to_contain_text("Why")
    expect(result.locator(".quiz-feedback")).to_have_count(0)
    frame(result)
    shot("answered-right")

    hinted = page.locator(f"#q-{with_hints.id}")
    hinted.scroll_into_view_if_needed()
    hinted.get_by_role("button", name="Show a hint").click()
    expect(hinted.locator(".quiz-hint")).to_have_count(1)
    expect(hinted.locator(f"#q-{with_hints.id}-hint-1")).to_contain_text(
        f"Hint 1 of {len(with_hints.hints_html)}"
    )
    expect(hinted.get_by_role("button", name="Show another hint")).to_be_visible()
    frame(hinted)
    shot("hint")

    for spec in rest:
        section = fill_in(page, spec)
        check(section)
        expect(section.locator(".quiz-result")).to_contain_text("Correct!")
    summary = page.locator(".knowledge-check-summary")
    expect(summary).to_have_text(f"{len(questions) - 1} of {len(questions)} correct on first try.")
    frame(summary)
    shot("check-complete")

    # Every question right and the end of the lesson reached: the lesson is complete.
    box = page.locator("#lesson-progress")
    box.scroll_into_view_if_needed()
    # After progress.js's next report (it waits a moment for reading to settle).
    expect(box.get_by_role("heading", name="Lesson complete")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(".course-nav-list a[aria-current='page']")).to_have_class(
        re.compile(r"\bis-complete\b")
    )
    shot("lesson-complete")


def test_j1_guest_reads_a_lesson_and_completes_its_knowledge_check(
    journey: Callable[..., tuple[Page, Shots]], course: Course
) -> None:
    page, shot = journey("j1-guest")
    page.goto("/")
    shot("catalog")
    page.get_by_role("link", name=course.title).click()
    expect(page.get_by_role("heading", name=course.title, level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Start the course")).to_be_visible()
    shot("course")
    page.get_by_role("link", name="Lesson 1: What is Flask?").click()
    expect(page).to_have_url(re.compile(re.escape(lesson_path(FIRST)) + "$"))
    guest_answers_the_first_lesson(page, course, shot)


def test_j2_guest_registers_signs_out_and_in_and_continues_where_they_left_off(
    journey: Callable[..., tuple[Page, Shots]],
    course: Course,
) -> None:
    page, shot = journey("j2-account")
    page.goto(lesson_path(FIRST))
    guest_answers_the_first_lesson(page, course, Shots(page, None))
    questions = course.keys[FIRST]

    # The course page invites the guest to keep their progress in an account.
    page.get_by_role("link", name=course.title).first.click()
    invite = page.get_by_text("Your progress is kept in this browser only.")
    expect(invite).to_be_visible()
    frame(invite, "end")
    shot("guest-course-progress")
    page.get_by_role("link", name="Create a free account").click()
    expect(page).to_have_url(re.compile(r"/auth/register\?next="))
    email = f"ada-{uuid.uuid4().hex[:8]}@example.org"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill("Ada")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    shot("register")
    page.get_by_role("button", name="Create account").click()

    # Back on the course page, signed in: the guest's progress is the account's now.
    expect(page).to_have_url(re.compile(re.escape(f"/courses/{COURSE}/") + "$"))
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    expect(page.get_by_text("Your progress is kept in this browser only.")).to_have_count(0)
    percent = 100 // course.lessons  # one lesson done, rounded down
    expect(page.locator(".progress-title")).to_have_text(f"{percent}% complete")
    facts = page.locator(".progress-facts")
    expect(facts).to_contain_text(f"Lessons done1 of {course.lessons}")
    expect(facts).to_contain_text(f"({len(questions)} of ")
    row = page.locator(".lesson-item", has_text="What is Flask?")
    expect(row.locator(".lesson-state-complete")).to_have_text(re.compile("Completed"))
    shot("account-course-progress")

    # The lesson shows the latest answers.
    page.get_by_role("link", name="Lesson 1: What is Flask?").click()
    for spec in questions:
        result = page.locator(f"#q-{spec.id} .quiz-result")
        expect(result).to_contain_text("Correct!")
        if spec.type in ("text", "number"):
            expect(page.locator(f"#q-{spec.id}-answer")).to_have_value(typed_answer(spec))
        elif spec.type == "order":  # in the order given, not shuffled again
            selects = page.locator(f"#q-{spec.id} select").all()
            assert [select.get_attribute("name") for select in selects] == [
                f"position-{option.id}" for option in spec.options
            ]
        else:
            for option in spec.options:
                box = page.locator(f"#q-{spec.id}-{option.id}")
                if option.correct:
                    expect(box).to_be_checked()
                else:
                    expect(box).not_to_be_checked()
    expect(page.locator(f"#q-{questions[0].id} .quiz-result")).to_contain_text("Attempt 2")
    expect(page.locator(".knowledge-check-summary")).to_have_text(
        f"{len(questions) - 1} of {len(questions)} correct on first try."
    )
    expect(page.locator(".lesson-meta .lesson-state-complete")).to_be_visible()
    frame(page.locator(f"#q-{questions[0].id} .quiz-result"))
    shot("answers-kept")

    # On to lesson 2, read up to a section in the middle.
    page.locator(".pager-next").click()
    expect(page).to_have_url(re.compile(re.escape(lesson_path(SECOND)) + "$"))
    toc_ids = page.locator(".toc-list a").evaluate_all("links => links.map(a => a.hash.slice(1))")
    jump = "h-flask-vs-django-at-a-glance"
    with page.expect_response(reports_one_of(toc_ids[toc_ids.index(jump) :])) as report:
        page.locator("nav.toc").get_by_role("link", name="Flask vs Django at a glance").click()
        expect(page.locator(f"#{jump}")).to_be_in_viewport()
    # The section being read: the last heading above the middle of the window.
    reading = page.evaluate(
        """() => [...document.querySelectorAll('.toc-list a')]
            .map(a => document.getElementById(a.hash.slice(1)))
            .filter(h => h.getBoundingClientRect().top <= innerHeight / 2)
            .pop().id"""
    )
    assert report.value.ok
    assert json.loads(report.value.request.post_data or "{}")["section"] == reading
    expect(page.locator("[data-sync-status]")).to_have_text("Progress saved just now.")
    shot("reading-lesson-2")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("signed out")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Hello, Ada")).to_be_visible()
    card = page.locator(".dashboard-course", has_text=course.title)
    expect(card.locator(".progress-title")).to_have_text(f"{percent}% complete")
    resume = card.get_by_role("link", name='Continue where you left off: What "micro" means')
    expect(resume).to_have_attribute("href", f"{lesson_path(SECOND)}#{reading}")
    shot("dashboard")
    resume.click()
    expect(page).to_have_url(re.compile(re.escape(f"{lesson_path(SECOND)}#{reading}") + "$"))
    expect(page.locator(f"#{reading}")).to_be_in_viewport()
    expect(page.locator("[data-resume-notice]")).to_be_hidden()
    shot("continued")


def test_j5_without_javascript_every_question_type_by_form_post_and_mark_complete(
    journey: Callable[..., tuple[Page, Shots]], course: Course, live_server: str
) -> None:
    page, shot = journey("j5-no-js", java_script_enabled=False)
    path = lesson_path(ALL_TYPES)
    page.goto(path)
    expect(page.get_by_role("heading", name="Your first Flask app", level=1)).to_be_visible()

    # The table of contents is a closed <details> that a wide window shows anyway.
    toc = page.locator("nav.toc")
    expect(toc.locator("details")).not_to_have_attribute("open", "")
    expect(toc.get_by_role("link", name="Debug mode")).to_be_visible()
    shot("lesson-with-toc")
    toc.get_by_role("link", name="Debug mode").click()
    expect(page).to_have_url(re.compile(r"#h-debug-mode$"))
    expect(page.locator("#h-debug-mode")).to_be_in_viewport()

    by_type = {spec.type: spec for spec in course.keys[ALL_TYPES]}
    assert set(QUESTION_TYPES) <= set(by_type), "the lesson should have every question type"
    order = page.locator(f"#q-{by_type['order'].id}")
    order.scroll_into_view_if_needed()
    expect(order.locator("select.quiz-order-position")).to_have_count(len(by_type["order"].options))
    expect(order.locator(".quiz-order-help")).to_contain_text("Give each item its position")
    expect(order.locator(".quiz-move-up")).to_have_count(0)
    shot("order-fallback")

    for kind in QUESTION_TYPES:
        spec = by_type[kind]
        section = fill_in(page, spec)
        with page.expect_navigation():
            check(section)
        expect(page).to_have_url(f"{live_server}{path}#q-{spec.id}")
        expect(page.locator(f"#q-{spec.id} .quiz-result")).to_contain_text("Correct!")
        expect(page.locator(f"#q-{spec.id}-label")).to_be_in_viewport()
        if kind in ("single", "order"):
            shot(f"answered-{kind}")
    expect(page.locator(".knowledge-check-summary")).to_contain_text(
        f"{len(QUESTION_TYPES)} of {len(course.keys[ALL_TYPES])}"
    )

    box = page.locator("#lesson-progress")
    box.scroll_into_view_if_needed()
    expect(box.get_by_role("heading", name="Finish this lesson")).to_be_visible()
    with page.expect_navigation():
        box.get_by_role("button", name="Mark as complete").click()
    expect(page.locator(".flash-messages")).to_contain_text("marked as complete")
    expect(page.locator(".lesson-meta .lesson-state-complete")).to_be_visible()
    box.scroll_into_view_if_needed()
    expect(box.get_by_role("heading", name="Lesson complete")).to_be_visible()
    shot("marked-complete")
