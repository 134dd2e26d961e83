"""Accessibility: axe-core finds no WCAG 2.1 A or AA violation on the site's pages, in the
light and the dark colour scheme, including the states a learner's answers put a lesson in.

axe-core is vendored in tests/browser/vendor/axe-core (see the README there), so the tests
need no network. The site's Content-Security-Policy forbids inline scripts, and injecting
axe adds one: these tests alone open their pages in a context that bypasses the CSP.
Each page is also saved as a full-page screenshot under test-results/axe/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.lessons.store import catalog
from tests.account_client import PASSWORD, add_user
from tests.browser.conftest import serve
from tests.conftest import PROJECT_ROOT, migrated_app

AXE_VERSION = "4.14.1"
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
COURSE, LESSON = "flask-fundamentals", "what-is-flask"
COURSE_PATH = f"/courses/{COURSE}/"
LESSON_PATH = f"/courses/{COURSE}/{LESSON}/"
LEARNER, INSTRUCTOR = "axe-learner@example.org", "axe-instructor@example.org"
TIMEOUT_MS = 10_000

Options = dict[str, dict[bool, str]]  # question id: {correct?: option id}
Scenario = Callable[[Page, Options], None]


@pytest.fixture(scope="module")
def site_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The app on the bundled course, with a learner and an instructor account."""
    instance = tmp_path_factory.mktemp("axe-instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(PROJECT_ROOT)  # Flask-Migrate finds migrations/ from the working folder
        app = migrated_app(instance, TESTING=False)
    add_user(app, LEARNER, display_name="Ada")
    add_user(app, INSTRUCTOR, display_name="Grace", role="instructor")
    return app


@pytest.fixture(scope="module")
def site(site_app: Flask) -> Iterator[str]:
    """``site_app`` served over HTTP; yields the base URL.

    Its own server rather than the shared ``live_server``, whose database these tests could
    not add the instructor to.
    """
    with serve(site_app, "axe-server") as url:
        yield url


@pytest.fixture(scope="module")
def options(site_app: Flask) -> Options:
    """A wrong (``False``) and the correct (``True``) option id of each single-choice
    question of the lesson."""
    with site_app.app_context():
        lesson = catalog().course(COURSE).lesson(LESSON)
        return {
            spec.id: {
                False: next(option.id for option in spec.options if not option.correct),
                True: next(option.id for option in spec.options if option.correct),
            }
            for spec in lesson.questions
            if spec.type == "single"
        }


@pytest.fixture
def axe_context(browser: Browser, site: str) -> Iterator[BrowserContext]:
    """A context for these tests only: ``bypass_csp`` lets axe's script tag run."""
    context = browser.new_context(bypass_csp=True, base_url=site, reduced_motion="reduce")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def screenshots(pytestconfig: pytest.Config) -> Path:
    folder = Path(pytestconfig.getoption("--output")) / "axe"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def choose(page: Page, question: str, option_id: str) -> None:
    section = page.locator(f"#q-{question}")
    section.locator(f'label[for="q-{question}-{option_id}"]').click()
    section.get_by_role("button", name="Check", exact=True).click()


# ---------- the pages, each opened in the state it is checked in ----------


def catalog_page(page: Page, options: Options) -> None:
    page.goto("/")


def course_page(page: Page, options: Options) -> None:
    page.goto(COURSE_PATH)


def lesson_page(page: Page, options: Options) -> None:
    page.goto(LESSON_PATH)


def lesson_answered(page: Page, options: Options) -> None:
    """A hint shown, a wrong answer with its feedback, the answer revealed, a wrong text
    answer, and a right answer with its explanation, all through the page's own controls."""
    page.goto(LESSON_PATH)
    single = "string-view-response-defaults"
    section = page.locator(f"#q-{single}")
    section.get_by_role("button", name="Show a hint").click()
    expect(section.locator(f"#q-{single}-hint-1")).to_be_visible()
    choose(page, single, options[single][False])
    expect(section.locator(".quiz-result")).to_contain_text("Not quite.")
    section.get_by_role("button", name="Show answer").click()
    expect(section.locator(".quiz-key")).to_be_visible()

    text = page.locator("#q-session-signing-library")
    text.get_by_role("textbox").fill("Werkzeug")
    text.get_by_role("button", name="Check", exact=True).click()
    expect(text.locator(".quiz-result")).to_contain_text("Not quite.")

    right = "flask-creator"
    choose(page, right, options[right][True])
    expect(page.locator(f"#q-{right} .quiz-result")).to_contain_text("Correct!")
    expect(page.locator(f"#q-{right} .quiz-explanation")).to_be_visible()


def login_page(page: Page, options: Options) -> None:
    page.goto("/auth/login")


def register_page(page: Page, options: Options) -> None:
    page.goto("/auth/register")


def register_errors(page: Page, options: Options) -> None:
    page.goto("/auth/register")
    page.get_by_label("Email").fill("not an email")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_be_visible()


def dashboard(page: Page, options: Options) -> None:
    sign_in(page, LEARNER)
    page.goto(LESSON_PATH)
    question = "flask-creator"
    choose(page, question, options[question][True])
    expect(page.locator(f"#q-{question} .quiz-result")).to_contain_text("Correct!")
    page.goto("/dashboard")
    resume = page.get_by_role("link", name="Continue where you left off: What is Flask?")
    expect(resume).to_be_visible()


def account_page(page: Page, options: Options) -> None:
    sign_in(page, LEARNER)
    page.goto("/account")


def instructor_course(page: Page, options: Options) -> None:
    # Wide enough for the questions table: in a narrower window its last columns scroll
    # out of view, and axe cannot measure the contrast of text it cannot see.
    page.set_viewport_size({"width": 1920, "height": 1080})
    sign_in(page, INSTRUCTOR)
    page.goto(f"/instructor/{COURSE}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def not_found(page: Page, options: Options) -> None:
    response = page.goto("/courses/no-such-course/")
    assert response is not None and response.status == 404


SCENARIOS: dict[str, Scenario] = {
    "catalog": catalog_page,
    "course": course_page,
    "lesson": lesson_page,
    "lesson-answered": lesson_answered,
    "login": login_page,
    "register": register_page,
    "register-errors": register_errors,
    "dashboard": dashboard,
    "account": account_page,
    "instructor-course": instructor_course,
    "not-found": not_found,
}


# ---------- running axe ----------


def run_axe(page: Page) -> dict[str, Any]:
    """axe's WCAG 2.1 A and AA rules on the page, from the top: at the bottom of a lesson,
    the reading-progress bar overlaps the header and hides its links' background."""
    page.evaluate("window.scrollTo(0, 0)")
    page.add_script_tag(path=str(AXE_SCRIPT))
    assert page.evaluate("axe.version") == AXE_VERSION
    return page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )


def describe(violations: list[dict[str, Any]]) -> str:
    """Each violation: rule, impact, what to do, and where (the first few nodes)."""
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"[{len(nodes)} node(s)] {violation['helpUrl']}"
        )
        for node in nodes[:3]:
            lines.append(f"    target: {json.dumps(node['target'])}")
            lines.append(f"    html:   {node['html'][:300]}")
            if node.get("failureSummary"):
                summary = " ".join(node["failureSummary"].split())
                lines.append(f"    why:    {summary[:400]}")
    return "\n".join(lines)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_no_wcag_violations(
    axe_context: BrowserContext,
    options: Options,
    screenshots: Path,
    name: str,
    scheme: str,
) -> None:
    page = axe_context.new_page()
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    SCENARIOS[name](page, options)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    results = run_axe(page)
    page.screenshot(path=screenshots / f"{name}-{scheme}.png", full_page=True)
    checked = {rule["id"] for key in ("passes", "violations") for rule in results[key]}
    assert "color-contrast" in checked, "axe checked no text contrast"
    violations = results["violations"]
    assert not violations, f"{page.url} ({scheme}):\n{describe(violations)}"


def test_axe_finds_violations_where_there_are_some(axe_context: BrowserContext) -> None:
    """The check is not vacuous: an unlabelled field and an image without text are found."""
    page = axe_context.new_page()
    page.goto("/auth/login")
    page.evaluate(
        "() => document.querySelector('main').insertAdjacentHTML('beforeend',"
        ' \'<input type="text"><img src="/favicon.ico">\')'
    )
    found = {violation["id"] for violation in run_axe(page)["violations"]}
    assert {"label", "image-alt"} <= found


def test_other_browser_tests_keep_the_csp(page: Page, site: str) -> None:
    """The default context enforces the CSP: an inline script is refused there."""
    page.goto(site + "/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__inline = 1'; document.head.append(s); }"
    )
    assert page.evaluate("window.__inline") is None
