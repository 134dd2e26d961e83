"""Reading progress in Chromium: scrolling moves the reading bar and "N min left", the
page syncs in batches, and the synced state is there again after a reload."""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import Page, Request, Response, expect

COURSE, LESSON = "flask-fundamentals", "what-micro-means"
LESSON_PATH = f"/courses/{COURSE}/{LESSON}/"
SYNC_PATH = f"/api/v1/progress/{COURSE}/{LESSON}"
TIMEOUT_MS = 10_000


def bar_value(page: Page) -> int:
    return int(page.locator("[data-reading-progress]").evaluate("bar => bar.value"))


def api_entry(page: Page) -> dict:
    """The lesson's entry from the progress API, fetched with the page's own cookies."""
    body = page.evaluate(
        "url => fetch(url, {credentials: 'same-origin'}).then(r => r.json())",
        f"/api/v1/progress/{COURSE}",
    )
    return next(entry for entry in body["lessons"] if entry["lesson"] == LESSON)


def test_scrolling_syncs_progress_in_batches_and_a_reload_keeps_it(page: Page) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    syncs: list[Request] = []
    saved: list[int] = []  # percent_read of each report the server has answered
    page.on("request", lambda r: syncs.append(r) if r.url.endswith(SYNC_PATH) else None)

    def on_response(response: Response) -> None:
        if response.url.endswith(SYNC_PATH) and response.ok:
            saved.append(json.loads(response.request.post_data or "{}").get("percent_read", 0))

    page.on("response", on_response)
    page.goto(LESSON_PATH)
    expect(page.locator("[data-minutes-left]")).to_have_text(re.compile(r"^\d+ min left$"))
    minutes_at_top = int(page.locator("[data-minutes-left]").inner_text().split()[0])
    at_top = bar_value(page)  # the part of the lesson shown in the first screen
    assert at_top < 20

    # Scroll through half the lesson in small steps, as a reader would.
    height = page.evaluate("document.querySelector('.lesson-body').scrollHeight")
    for _ in range(12):
        page.mouse.wheel(0, height / 24)
        page.wait_for_timeout(60)
    read = bar_value(page)
    # On a busy machine a first report can go out mid-scroll: wait for the one covering `read`.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while max(saved, default=0) < read - 5:
        assert time.monotonic() < deadline, (read, saved)
        page.wait_for_timeout(100)
    expect(page.locator("[data-sync-status]")).to_have_text("Progress saved just now.")
    assert at_top + 20 <= read < 100
    assert int(page.locator("[data-minutes-left]").inner_text().split()[0]) < minutes_at_top

    # A dozen scroll steps went out as a few batched reports, each with the CSRF header.
    assert 1 <= len(syncs) <= 3, [r.post_data for r in syncs]
    for request in syncs:
        assert request.method == "POST"
        assert request.headers.get("x-csrftoken")
        assert set(json.loads(request.post_data or "{}")) == {"section", "percent_read"}
    entry = api_entry(page)
    assert entry["percent_read"] >= read - 5 and entry["furthest_section"].startswith("h-")
    assert entry["completed_at"] is None

    page.evaluate("window.scrollTo(0, 0)")
    page.reload()
    expect(page.locator("[data-reading-progress]")).to_have_attribute(
        "value", str(entry["percent_read"])
    )
    notice = page.locator("[data-resume-notice]")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("link")).to_have_attribute("href", f"#{entry['furthest_section']}")


def test_reaching_the_end_ticks_the_checklist_and_mark_as_complete_finishes_it(
    page: Page,
) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(LESSON_PATH)
    box = page.locator("#lesson-progress")
    box.scroll_into_view_if_needed()
    end = box.locator("[data-check-end]")
    expect(end).to_have_class(re.compile(r"\bis-done\b"))
    expect(page.locator("[data-sync-status]")).to_have_text("Progress saved just now.")
    assert bar_value(page) == 100
    # Questions still unanswered: reaching the end alone does not complete the lesson.
    expect(box.get_by_role("heading", name="Finish this lesson")).to_be_visible()

    box.get_by_role("button", name="Mark as complete").click()
    expect(box.get_by_role("heading", name="Lesson complete")).to_be_visible()
    expect(page.locator(".flash-messages")).to_contain_text("marked as complete")
    current = page.locator(".course-nav-list a[aria-current='page']")
    expect(current).to_have_class(re.compile(r"\bis-complete\b"))
    expect(current.locator(".course-nav-check")).to_be_visible()

    page.goto(f"/courses/{COURSE}/")
    expect(page.get_by_text("Lessons done")).to_be_visible()
    row = page.locator(".lesson-item", has_text='What "micro" means')
    expect(row.locator(".lesson-state-complete")).to_have_text(re.compile("Completed"))


def test_a_deep_link_wins_over_the_resume_notice(page: Page) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(LESSON_PATH)
    page.locator("#lesson-progress").scroll_into_view_if_needed()
    expect(page.locator("[data-sync-status]")).to_have_text("Progress saved just now.")
    page.goto(f"{LESSON_PATH}#h-what-the-core-includes")
    heading = page.locator("#h-what-the-core-includes")
    expect(heading).to_be_in_viewport()
    expect(page.locator("[data-resume-notice]")).to_be_hidden()
