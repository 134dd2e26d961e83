"""quiz.js beyond the first answer: retries after a lost response, order questions by
keyboard, hints and "Show answer" in place with sensible focus."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Route, expect

from app.lessons.store import catalog
from app.quiz_types import QuizSpec
from tests.conftest import MakeApp

COURSE, LESSON = "flask-fundamentals", "what-is-flask"
LESSON_PATH = f"/courses/{COURSE}/{LESSON}/"
SINGLE, ORDER = "string-view-response-defaults", "flask-request-to-response-order"
TIMEOUT_MS = 10_000


@pytest.fixture
def specs(make_app: MakeApp) -> dict[str, QuizSpec]:
    with make_app().app_context():
        lesson = catalog().course(COURSE).lesson(LESSON)
        return {spec.id: spec for spec in lesson.questions}


def test_a_lost_response_is_retried_with_the_same_submission_id(
    page: Page, specs: dict[str, QuizSpec]
) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    sent: list[dict] = []

    def lose_first_response(route: Route) -> None:
        sent.append(json.loads(route.request.post_data or "{}"))
        if len(sent) == 1:
            route.fetch()  # the server stores the answer...
            route.abort("connectionreset")  # ...but the reply never arrives
        else:
            route.continue_()

    page.route("**/answer", lose_first_response)
    page.goto(LESSON_PATH)
    section = page.locator(f"#q-{SINGLE}")
    wrong = next(o for o in specs[SINGLE].options if not o.correct)
    section.locator(f'label[for="q-{SINGLE}-{wrong.id}"]').click()
    section.get_by_role("button", name="Check", exact=True).click()
    expect(section.locator(".quiz-result")).to_contain_text("Not quite.")
    # stored once: the retry was answered from the first attempt
    expect(section.locator(".quiz-result")).to_contain_text("Attempt 1")
    assert len(sent) == 2 and sent[0]["submission_id"] == sent[1]["submission_id"]
    # the next answer gets a new submission id
    section.get_by_role("button", name="Check", exact=True).click()
    expect(section.locator(".quiz-result")).to_contain_text("Attempt 2")
    assert sent[2]["submission_id"] != sent[0]["submission_id"]


def test_order_question_by_keyboard(page: Page, specs: dict[str, QuizSpec]) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(LESSON_PATH)
    section = page.locator(f"#q-{ORDER}")
    items = section.locator(".quiz-order-item")
    expect(section.locator("select")).to_have_count(len(specs[ORDER].options))
    expect(section.locator("select").first).to_be_hidden()
    wanted = [option.id for option in specs[ORDER].options]
    for target, option_id in enumerate(wanted):
        item = section.locator(f"li:has(#q-{ORDER}-pos-{option_id})")
        up = item.locator(".quiz-move-up")
        current = [i.get_attribute("id") for i in items.locator("select").all()].index(
            f"q-{ORDER}-pos-{option_id}"
        )
        up.focus()
        for _ in range(current - target):
            page.keyboard.press("Enter")
        if current > target:
            focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
            assert focused and focused.startswith(("Move up", "Move down"))
    order = [s.get_attribute("name") for s in items.locator("select").all()]
    assert order == [f"position-{option_id}" for option_id in wanted]
    section.get_by_role("button", name="Check", exact=True).focus()
    page.keyboard.press("Enter")
    expect(section.locator(".quiz-result")).to_contain_text("Correct!")


def test_hint_and_show_answer_in_place(page: Page, specs: dict[str, QuizSpec]) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(LESSON_PATH)
    page.evaluate("window.__noReload = 1")
    section = page.locator(f"#q-{SINGLE}")
    section.get_by_role("button", name="Show a hint").click()
    hint = section.locator(f"#q-{SINGLE}-hint-1")
    expect(hint).to_be_visible()
    expect(hint).to_be_focused()
    expect(section.get_by_role("button", name="Show answer")).to_have_count(0)

    wrong = next(o for o in specs[SINGLE].options if not o.correct)
    section.locator(f'label[for="q-{SINGLE}-{wrong.id}"]').click()
    section.get_by_role("button", name="Check", exact=True).click()
    expect(section.locator(".quiz-result")).to_contain_text("Not quite.")
    summary = page.locator(".knowledge-check-summary").first
    expect(summary).to_contain_text("1 of 6 answered")

    section.get_by_role("button", name="Show answer").click()
    key = section.locator(".quiz-key")
    expect(key).to_be_focused()
    expect(key).to_contain_text("The correct answer")
    expect(section.locator(".quiz-explanation")).to_be_visible()
    assert page.evaluate("window.__noReload") == 1
