"""Answering a knowledge check in Chromium: in place with quiz.js, and by plain form post
with JavaScript turned off."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

COURSE, LESSON, QUESTION = "flask-fundamentals", "what-is-flask", "string-view-response-defaults"
LESSON_PATH = f"/courses/{COURSE}/{LESSON}/"
TIMEOUT_MS = 10_000


def answer(page: Page, option_id: str) -> None:
    section = page.locator(f"#q-{QUESTION}")
    section.locator(f'label[for="q-{QUESTION}-{option_id}"]').click()
    expect(section.locator(f"#q-{QUESTION}-{option_id}")).to_be_checked()
    section.get_by_role("button", name="Check", exact=True).click()


def test_quiz_js_shows_the_result_in_place_without_reloading(
    page: Page, live_server: str, choices: dict[bool, str]
) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(LESSON_PATH)
    page.evaluate("window.__noReload = 1")
    result = page.locator(f"#q-{QUESTION}-result")
    expect(result).not_to_contain_text("Not quite.")
    checklist = page.locator("[data-check-questions]")
    expect(checklist).to_have_text(re.compile(r"^0 of 6 questions answered correctly"))

    with page.expect_response(lambda response: response.url.endswith("/answer")) as sent:
        answer(page, choices[False])
    assert sent.value.status == 200
    assert sent.value.request.headers["content-type"] == "application/json"
    assert sent.value.request.header_value("x-csrftoken")
    expect(result).to_contain_text("Not quite.", timeout=TIMEOUT_MS)

    expect(checklist).to_have_text(re.compile(r"^0 of 6 "))  # a wrong answer meets nothing

    answer(page, choices[True])
    expect(result).to_contain_text("Correct!", timeout=TIMEOUT_MS)
    expect(result).not_to_contain_text("Not quite.")
    # "Finish this lesson" counts the answer at once, without a reload.
    expect(checklist).to_have_text(re.compile(r"^1 of 6 questions answered correctly"))
    expect(checklist).not_to_have_class(re.compile(r"is-done"))
    assert page.evaluate("window.__noReload") == 1, "the page was reloaded"
    assert page.url == live_server + LESSON_PATH


def test_without_javascript_the_form_posts_and_the_page_shows_the_result(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    choices: dict[bool, str],
) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(LESSON_PATH)
    result = page.locator(f"#q-{QUESTION}-result")

    for correct, verdict in ((False, "Not quite."), (True, "Correct!")):
        with page.expect_response(lambda response: response.url.endswith("/answer")) as sent:
            answer(page, choices[correct])
        assert sent.value.status == 303
        assert sent.value.request.headers["content-type"] == "application/x-www-form-urlencoded"
        page.wait_for_load_state()
        expect(result).to_contain_text(verdict, timeout=TIMEOUT_MS)
        assert page.url == f"{live_server}{LESSON_PATH}#q-{QUESTION}"
