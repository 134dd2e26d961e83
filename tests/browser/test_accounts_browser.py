"""Accounts in Chromium: a guest answers, creates an account from the header, finds the
course on the dashboard, and signs out; the show-password toggle."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.test_quiz_browser import LESSON_PATH, QUESTION, answer

TIMEOUT_MS = 10_000
PASSWORD = "correct horse battery staple"


def register(page: Page, email: str, name: str = "Grace") -> None:
    page.get_by_role("link", name="Create account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def test_guest_answers_then_registers_and_the_course_is_on_the_dashboard(
    page: Page, choices: dict[bool, str]
) -> None:
    page.goto(LESSON_PATH)
    answer(page, choices[True])
    expect(page.locator(f"#q-{QUESTION} .quiz-result")).to_contain_text(
        "Correct", timeout=TIMEOUT_MS
    )

    register(page, f"grace-{uuid.uuid4().hex[:8]}@example.org")
    expect(page).to_have_url(f"{page.url.split('/dashboard')[0]}/dashboard")
    expect(page.get_by_role("heading", name="Hello, Grace")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    resume = page.get_by_role("link", name="Continue where you left off: What is Flask?")
    expect(resume).to_be_visible()

    # The answer given as a guest is the account's now: the lesson still shows it.
    resume.click()
    expect(page.locator(f"#q-{QUESTION} .quiz-result")).to_contain_text("Correct")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("signed out")


def test_the_password_toggle_shows_and_hides_the_password(page: Page) -> None:
    page.goto("/auth/login")
    field = page.get_by_label("Password", exact=True)
    field.fill("a secret phrase")
    toggle = page.get_by_role("button", name="Show password")
    expect(field).to_have_attribute("type", "password")
    toggle.click()
    expect(field).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Hide password")).to_have_text("Hide")
    page.get_by_role("button", name="Hide password").click()
    expect(field).to_have_attribute("type", "password")


def test_a_wrong_password_keeps_the_email_and_says_what_went_wrong(page: Page) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_label("Password", exact=True).fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("don't match an account")
    expect(page.get_by_label("Email")).to_have_value("nobody@example.org")
