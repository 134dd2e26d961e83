"""Two learners in Chromium. One uses only the keyboard: skips to the lesson, answers a
single-choice, a multi-choice, a typed and an order question, and pages to the next lesson,
with a visible focus ring on every stop and the verdicts in live regions. The other reads
on a phone: no page scrolls sideways, code scrolls inside its block, and the lesson list
and the table of contents open and close.

Screenshots of the key states go to ``test-results/journeys/keyboard/`` and
``test-results/journeys/mobile/``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from app.lessons.store import catalog
from app.quiz_types import QuizSpec
from tests.conftest import MakeApp

COURSE = "flask-fundamentals"
COURSE_PATH = f"/courses/{COURSE}/"
# A lesson with every kind of question. (what-is-flask's order question has its own
# keyboard test in test_quiz_enhancements.py.)
LESSON, NEXT_LESSON = "wsgi", "werkzeug"
SINGLE, MULTI = "wsgi-app-return-value", "wsgi-reverse-proxy-jobs"
TEXT, ORDER = "wsgi-environ-path-key", "wsgi-request-cycle-order"
TIMEOUT_MS = 10_000
PHONE = {"width": 375, "height": 667}
PHONE_QUESTION = ("werkzeug", "plain-werkzeug-app-request-flow")  # lesson, order question

# The focused element, and whether a learner can see where the focus is: an outline or a
# box shadow on it or, for cards whose title link covers the card, on the item around it;
# not clipped to nothing, and not under the sticky header.
FOCUS_STATE = """(selector) => {
  const el = document.activeElement;
  const what = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (typeof e.className === "string" && e.className ? "." + e.className.split(" ")[0] : "") +
    (e.getAttribute("aria-label") ? "[" + e.getAttribute("aria-label") + "]" : "");
  if (!el || el === document.body || el === document.documentElement) {
    return { what: "nothing", ring: null, matches: false };
  }
  const ringOf = (e, shadow) => {
    const s = getComputedStyle(e);
    if (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) {
      return "outline " + s.outlineWidth + " " + s.outlineStyle;
    }
    return shadow && s.boxShadow && s.boxShadow !== "none" ? "box-shadow" : null;
  };
  let ring = ringOf(el, true);
  for (let e = el.parentElement; !ring && e && e !== document.body; e = e.parentElement) {
    if (e.matches(":focus-within")) ring = ringOf(e, false);
  }
  const box = el.getBoundingClientRect();
  let obscured = false;
  if (box.width > 0 && box.height > 0) {
    const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
    const y = Math.min(Math.max(box.top + Math.min(box.height / 2, 10), 0), innerHeight - 1);
    const hit = document.elementFromPoint(x, y);
    const covers = hit && hit.closest(".site-header, .reading-progress");
    obscured = Boolean(covers && !covers.contains(el));
  }
  return {
    what: what(el),
    ring: ring,
    focusVisible: el.matches(":focus-visible"),
    size: [box.width, box.height],
    inView: box.bottom > 0 && box.top < innerHeight,
    obscured: obscured,
    matches: selector ? el.matches(selector) : false,
  };
}"""


@pytest.fixture
def specs(make_app: MakeApp) -> dict[str, QuizSpec]:
    with make_app().app_context():
        lesson = catalog().course(COURSE).lesson(LESSON)
        return {spec.id: spec for spec in lesson.questions}


@pytest.fixture
def lesson_paths(make_app: MakeApp) -> list[str]:
    with make_app().app_context():
        return [f"{COURSE_PATH}{lesson.slug}/" for lesson in catalog().course(COURSE).lessons]


@pytest.fixture
def shots(pytestconfig: pytest.Config) -> Path:
    """``journeys/`` in pytest-playwright's output folder (``--output``, or test-results)."""
    return Path(pytestconfig.getoption("--output")) / "journeys"


def shot(page: Page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


class Keyboard:
    """Key presses that check, after each one, that the focus can be seen."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.visited: list[str] = []

    def focus_state(self, selector: str | None = None) -> dict[str, Any]:
        return self.page.evaluate(FOCUS_STATE, selector)

    def press(self, key: str, selector: str | None = None) -> dict[str, Any]:
        self.page.keyboard.press(key)
        state = self.focus_state(selector)
        where = f"after {key} on {state['what']}"
        assert state["what"] != "nothing", f"focus was lost {where}"
        assert state["focusVisible"], f"the focus is not :focus-visible {where}"
        assert state["ring"], f"no visible focus indicator {where}"
        assert state["size"][0] > 0 and state["size"][1] > 0, f"focused but invisible {where}"
        assert state["inView"], f"focused outside the viewport {where}"
        assert not state["obscured"], f"focus hidden under the sticky header {where}"
        self.visited.append(state["what"])
        return state

    def tab_to(self, selector: str, limit: int = 300) -> int:
        """Tab (or Shift+Tab, if the target comes before the focus) until ``selector``."""
        backwards = self.page.evaluate(
            """(selector) => {
              const target = document.querySelector(selector);
              const from = document.activeElement;
              if (!target) throw new Error("no element matches " + selector);
              if (!from || from === document.body) return false;
              return Boolean(from.compareDocumentPosition(target) &
                Node.DOCUMENT_POSITION_PRECEDING);
            }""",
            selector,
        )
        key = "Shift+Tab" if backwards else "Tab"
        for presses in range(1, limit + 1):
            if self.press(key, selector)["matches"]:
                return presses
        pytest.fail(f"{limit} presses of {key} never reached {selector}")


def result_of(page: Page, qid: str) -> Locator:
    result = page.locator(f"#q-{qid}-result")
    expect(result).to_have_attribute("role", "status")
    expect(result).to_have_attribute("aria-live", "polite")
    return result


def test_keyboard_only_learner_answers_every_kind_of_question_and_moves_on(
    page: Page, live_server: str, specs: dict[str, QuizSpec], shots: Path
) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    keys = Keyboard(page)
    lesson_url = f"{live_server}{COURSE_PATH}{LESSON}/"
    page.goto(lesson_url)
    page.evaluate("window.__noReload = 1")

    # From the top: the first stop is the skip link, which moves on to the lesson.
    state = keys.press("Tab")
    assert state["what"].startswith("a.skip-link"), state
    shot(page, shots / "keyboard", "01-skip-link")
    page.keyboard.press("Enter")
    keys.press("Tab", ".breadcrumb a")
    assert keys.focus_state(".breadcrumb a")["matches"], "the skip link did not skip"
    url = page.url  # now ends with #main

    # Single choice, radios: arrow keys choose, Enter and Space press "Check".
    single = specs[SINGLE]
    radios = page.locator(f"#q-{SINGLE} input[type=radio]").evaluate_all(
        "inputs => inputs.map(input => '#' + input.id)"
    )
    correct = radios.index(next(f"#q-{SINGLE}-{o.id}" for o in single.options if o.correct))
    keys.tab_to(radios[0])  # no option chosen yet: Tab lands on the first one
    wrong = (correct + 1) % len(radios)
    for _ in range(wrong):
        keys.press("ArrowDown")
    if wrong == 0:
        keys.press("Space")
    expect(page.locator(radios[wrong])).to_be_checked()
    expect(page.locator(radios[wrong])).to_be_focused()
    shot(page, shots / "keyboard", "02-single-choice-focused")
    result = result_of(page, SINGLE)
    before = result.inner_text()
    keys.tab_to(f"#q-{SINGLE} .quiz-check")
    page.keyboard.press("Enter")
    expect(result).to_contain_text("Not quite.")
    assert result.inner_text() != before
    expect(page.locator(f"#q-{SINGLE} .quiz-check")).to_be_focused()
    shot(page, shots / "keyboard", "03-single-choice-wrong")
    keys.tab_to(radios[wrong])  # Shift+Tab back into the group, onto the chosen option
    for _ in range((correct - wrong) % len(radios)):
        keys.press("ArrowDown")
    expect(page.locator(radios[correct])).to_be_checked()
    keys.tab_to(f"#q-{SINGLE} .quiz-check")
    page.keyboard.press("Space")
    expect(result).to_contain_text("Correct!")
    expect(result).not_to_contain_text("Not quite.")

    # Multi choice, checkboxes: each is a Tab stop, Space ticks it.
    multi = specs[MULTI]
    boxes = page.locator(f"#q-{MULTI} input[type=checkbox]").evaluate_all(
        "inputs => inputs.map(input => input.id)"
    )
    right = {f"q-{MULTI}-{o.id}" for o in multi.options if o.correct}
    keys.tab_to(f"#{boxes[0]}")
    for index, box in enumerate(boxes):
        if index:
            keys.press("Tab", f"#{box}")
        assert keys.focus_state(f"#{box}")["matches"], f"Tab skipped {box}"
        if box in right:
            keys.press("Space")
    for box in boxes:
        expect(page.locator(f"#{box}")).to_be_checked(checked=box in right)
    shot(page, shots / "keyboard", "04-multi-choice-ticked")
    assert keys.press("Tab", f"#q-{MULTI} .quiz-check")["matches"], "Check follows the options"
    multi_result = result_of(page, MULTI)
    page.keyboard.press("Enter")
    expect(multi_result).to_contain_text("Correct!")

    # Typed answer: Enter in the field submits it.
    keys.tab_to(f"#q-{TEXT}-answer")
    page.keyboard.type(specs[TEXT].answers[0])
    text_result = result_of(page, TEXT)
    page.keyboard.press("Enter")
    expect(text_result).to_contain_text("Correct!")
    expect(page.locator(f"#q-{TEXT}-answer")).to_be_focused()

    # Order: Move up buttons, pressed with Space; each move is announced.
    section = page.locator(f"#q-{ORDER}")
    announcer = section.locator("p.visually-hidden[role=status]")
    for target, option in enumerate(specs[ORDER].options):
        ids = section.locator("select").evaluate_all("selects => selects.map(s => s.id)")
        current = ids.index(f"q-{ORDER}-pos-{option.id}")
        if current == target:
            continue
        keys.tab_to(f"#q-{ORDER} li:has(#q-{ORDER}-pos-{option.id}) .quiz-move-up")
        for _ in range(current - target):
            keys.press("Space")
        expect(announcer).to_contain_text(f"position {target + 1} of ")
    order = section.locator("select").evaluate_all("selects => selects.map(s => s.name)")
    assert order == [f"position-{option.id}" for option in specs[ORDER].options]
    shot(page, shots / "keyboard", "05-order-arranged")
    keys.tab_to(f"#q-{ORDER} .quiz-check")
    order_result = result_of(page, ORDER)
    page.keyboard.press("Enter")
    expect(order_result).to_contain_text("Correct!")
    order_result.scroll_into_view_if_needed()  # for the screenshot; the focus stays put
    shot(page, shots / "keyboard", "06-order-correct")

    summary = page.locator(f".knowledge-check:has(#q-{SINGLE}) .knowledge-check-summary")
    expect(summary).to_have_attribute("aria-live", "polite")
    expect(summary).to_contain_text("4 of 6 answered")

    # Four answers in place: still the same page, never reloaded.
    assert page.evaluate("window.__noReload") == 1, "answering reloaded the page"
    assert page.url == url

    # The pager: Next, then Previous brings back the answers the server kept.
    keys.tab_to(".pager-next")
    shot(page, shots / "keyboard", "07-pager-next-focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}{COURSE_PATH}{NEXT_LESSON}/")
    assert keys.press("Tab")["what"].startswith("a.skip-link")
    keys.tab_to(".pager-prev")
    shot(page, shots / "keyboard", "08-pager-prev-focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(lesson_url)
    for qid in (SINGLE, MULTI, TEXT, ORDER):
        expect(page.locator(f"#q-{qid}-result")).to_contain_text("Correct!")
    assert len(keys.visited) > 50, keys.visited


def open_phone(new_context: Callable[..., BrowserContext]) -> Page:
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


NO_SIDEWAYS_SCROLL = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter((e) => {
    if (e.closest("pre, .table-wrap, .visually-hidden")) return false;
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1;
  }).slice(0, 5).map((e) => e.tagName.toLowerCase() + "." + e.className);
  const code = [...document.querySelectorAll("pre")].map((pre) => ({
    scrolls: pre.scrollWidth > pre.clientWidth + 1,
    overflow: getComputedStyle(pre).overflowX,
    right: pre.getBoundingClientRect().right,
  }));
  return { scrollWidth: root.scrollWidth, width: width, wide: wide, code: code };
}"""


def assert_fits(page: Page, path: str) -> dict[str, Any]:
    page.goto(path)
    page.wait_for_load_state("load")
    fit = page.evaluate(NO_SIDEWAYS_SCROLL)
    assert fit["scrollWidth"] <= fit["width"] + 1, f"{path} scrolls sideways: {fit['wide']}"
    for block in fit["code"]:
        assert block["right"] <= fit["width"] + 1, f"a code block on {path} is too wide"
        if block["scrolls"]:
            assert block["overflow"] in ("auto", "scroll"), f"{path}: code does not scroll"
    return fit


def test_on_a_phone_no_page_scrolls_sideways(
    new_context: Callable[..., BrowserContext], lesson_paths: list[str], shots: Path
) -> None:
    page = open_phone(new_context)
    scrolling_code = 0
    for path in ["/", COURSE_PATH, *lesson_paths, "/auth/login", "/auth/register"]:
        fit = assert_fits(page, path)
        scrolling_code += sum(block["scrolls"] for block in fit["code"])
        if path in ("/", COURSE_PATH, lesson_paths[0], "/auth/register"):
            shot(page, shots / "mobile", "page" + path.rstrip("/").replace("/", "-"))
        if path.endswith(f"/{PHONE_QUESTION[0]}/"):  # long inline code in the items
            page.locator(f"#q-{PHONE_QUESTION[1]} .quiz-order").scroll_into_view_if_needed()
            shot(page, shots / "mobile", "order-question")
    assert scrolling_code, "no code block is wider than a phone: the check checked nothing"
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    assert_fits(page, "/no-such-page")
    shot(page, shots / "mobile", "page-404")

    page.goto("/auth/register")
    page.get_by_label("Email").fill(f"phone-{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_label("Display name").fill("Ada on a phone with a long display name")
    page.get_by_label("Password", exact=True).fill("correct horse battery staple")
    page.get_by_role("button", name="Create account").tap()
    expect(page).to_have_url(page.url.split("/auth")[0] + "/dashboard")
    for path in ("/dashboard", "/account"):
        assert_fits(page, path)
        shot(page, shots / "mobile", "page" + path.replace("/", "-"))
    assert_fits(page, lesson_paths[0])  # the header with a signed-in learner's name
    shot(page, shots / "mobile", "lesson-signed-in")


def test_on_a_phone_code_scrolls_inside_its_block(
    new_context: Callable[..., BrowserContext], lesson_paths: list[str], shots: Path
) -> None:
    page = open_phone(new_context)
    page.goto(lesson_paths[0])
    wide = page.locator(".code-block pre").evaluate_all(
        "blocks => blocks.findIndex(pre => pre.scrollWidth > pre.clientWidth + 1)"
    )
    assert wide >= 0, "no code block is wider than the phone"
    pre = page.locator(".code-block pre").nth(wide)
    pre.scroll_into_view_if_needed()
    pre.evaluate("pre => { pre.scrollLeft = pre.scrollWidth; }")
    assert pre.evaluate("pre => pre.scrollLeft") > 0, "the code block does not scroll"
    assert page.evaluate("window.scrollX") == 0, "the page moved sideways with the code"
    expect(pre).to_have_attribute("tabindex", "0")  # keyboard users can scroll it too
    shot(page, shots / "mobile", "code-scrolled")


def test_on_a_phone_the_lesson_list_and_contents_open_and_close(
    new_context: Callable[..., BrowserContext],
    live_server: str,
    lesson_paths: list[str],
    shots: Path,
) -> None:
    page = open_phone(new_context)
    page.goto(lesson_paths[2])
    lessons = page.locator(".course-nav details")
    contents = page.locator(".toc details")
    lessons_list = page.locator(".course-nav-list")
    contents_list = page.locator(".toc-list")
    expect(lessons).not_to_have_attribute("open", "")
    expect(contents).not_to_have_attribute("open", "")
    expect(lessons_list).to_be_hidden()
    expect(contents_list).to_be_hidden()
    assert expanded(page, ".course-nav summary") is False
    shot(page, shots / "mobile", "toggles-closed")

    lessons.locator("summary").tap()
    expect(lessons_list).to_be_visible()
    assert expanded(page, ".course-nav summary") is True
    current = lessons_list.locator("a[aria-current=page]")
    expect(current).to_be_visible()
    expect(lessons_list.locator("a")).to_have_count(len(lesson_paths))
    shot(page, shots / "mobile", "lessons-open")
    lessons.locator("summary").tap()
    expect(lessons_list).to_be_hidden()
    assert expanded(page, ".course-nav summary") is False

    contents.locator("summary").tap()
    expect(contents_list).to_be_visible()
    assert expanded(page, ".toc summary") is True
    shot(page, shots / "mobile", "contents-open")
    entry = contents_list.locator("a").nth(1)
    target = entry.get_attribute("href")
    assert target and target.startswith("#")
    entry.tap()
    # A jump closes the contents so that the section is in view, below the sticky header.
    expect(contents_list).to_be_hidden()
    assert expanded(page, ".toc summary") is False
    heading = page.locator(target)
    expect(heading).to_be_in_viewport()
    header_bottom = page.locator(".site-header").evaluate("h => h.getBoundingClientRect().bottom")
    heading_top = heading.evaluate("h => h.getBoundingClientRect().top")
    assert heading_top >= header_bottom - 1, "the section heading is under the header"
    shot(page, shots / "mobile", "contents-jumped")

    # A lesson from the list opens that lesson.
    lessons.locator("summary").tap()
    lessons_list.locator("a").nth(3).tap()
    expect(page).to_have_url(live_server + lesson_paths[3])


def expanded(page: Page, summary: str) -> bool | None:
    """The expanded state Chromium gives assistive technology for a ``<summary>``."""
    session = page.context.new_cdp_session(page)
    try:
        document = session.send("DOM.getDocument", {"depth": 0})
        node = session.send(
            "DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": summary}
        )
        tree = session.send("Accessibility.getPartialAXTree", {"nodeId": node["nodeId"]})
    finally:
        session.detach()
    for ax_node in tree["nodes"]:
        for prop in ax_node.get("properties", []):
            if prop["name"] == "expanded":
                return bool(prop["value"]["value"])
    return None
