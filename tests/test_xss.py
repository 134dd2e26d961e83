"""Cross-site scripting: every place where text the site does not control reaches HTML.

Lesson files, display names, typed answers, URLs and form fields are all untrusted. Each
page they reach is parsed (``html.parser``) and must stay inert: no script element the
app did not put there, no ``on*`` attribute, no framing or style element, no URL attribute
with a scheme that runs code; and the payload must be shown to the reader as text.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from app.content.model import Lesson
from app.extensions import db
from app.lessons.store import catalog
from app.models import QuizAttempt
from tests.account_client import Browser, add_user
from tests.conftest import PROJECT_ROOT, MakeApp, WriteContent
from tests.quiz_client import Learner, section_of

FAST_LOGINS = {"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_RATE_LIMIT": "1000 per minute"}
COURSE = "xss"
PAYLOADS_LESSON = "payloads"
CHECKS_LESSON = "checks"
STAFF_EMAIL = "staff@example.org"

# ---------- what "inert" means ----------

DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "file:")
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite", "data"}
)
# Elements that run, frame or restyle content; the app's own templates use none of them.
FOREIGN_ELEMENTS = frozenset(
    {"iframe", "frame", "frameset", "object", "embed", "applet", "style", "math", "base"}
)
# Browsers drop whitespace and C0/C1 controls around and inside a URL's scheme.
IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f-\x9f]+")


class Page(HTMLParser):
    """Start tags with their attributes, the text a reader sees, and each script element."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._text: list[str] = []
        self._script: tuple[dict[str, str], list[str]] | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        if tag == "script":
            self._script = (values, [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            attrs, body = self._script
            self.scripts.append((attrs, "".join(body)))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)
        else:
            self._text.append(data)

    @property
    def text(self) -> str:
        return "".join(self._text)

    def named(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def normalised_url(value: str) -> str:
    return IGNORED_IN_URLS.sub("", html.unescape(value)).lower()


def assert_inert(markup: str, where: str = "") -> Page:
    page = Page(markup)
    assert page._script is None, f"{where}: an unclosed <script>"
    for attrs, body in page.scripts:
        assert attrs.get("src", "").startswith("/static/js/"), (where, attrs)
        assert not body.strip(), (where, body)
    for tag, attrs in page.tags:
        assert tag not in FOREIGN_ELEMENTS, (where, tag, attrs)
        assert not (tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh"), where
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, name, value)
            assert name not in ("srcdoc", "style"), (where, tag, name, value)
            if name in URL_ATTRIBUTES:
                url = normalised_url(value)
                assert not url.startswith(DANGEROUS_SCHEMES), (where, tag, name, value)
    return page


def assert_shown_as_text(page: Page, markup: str, payload: str, where: str = "") -> None:
    """The reader sees ``payload`` (entities decoded, as a browser would) as plain text."""
    text = html.unescape(payload)
    assert text in page.text, (where, payload)
    if "<" in text:
        assert text not in markup, (where, payload)


def body_of(response: TestResponse, status: int = 200) -> str:
    assert response.status_code == status, (response.request.path, response.status_code)
    return response.get_data(as_text=True)


# ---------- a course written to attack its own pages ----------

RAW_HTML = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<b onclick=x>bold</b>",
    "<svg onload=alert(1)>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
)
LINKS = (
    "[a](javascript:alert(1))",
    "[b](JaVaScRiPt:alert(1))",
    "[c](&#106;avascript:alert(1))",
    "[d](vbscript:msgbox(1))",
    "[e](file:///etc/passwd)",
    "[f](data:text/html,<script>alert(1)</script>)",
    "[g](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[h](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[r1] and [text][r2]",
    "![i1](javascript:alert(1))",
    "![i2](data:text/html;base64,PHNjcmlwdD4=)",
    "![i3](vbscript:msgbox(1))",
    "![i4](file:///etc/passwd)",
)
REFERENCES = ("[r1]: javascript:alert(1)", "[r2]: JAVASCRIPT:alert(1)")
# Links the renderer does make, with hostile parts that must end up escaped or dropped.
SAFE_LINKS = (
    "[gone](gone<svg/onload=alert(1)>.md)",
    '[site](https://example.org/ "x\\" onmouseover=\\"alert(1)")',
    "![diagram](images/a.png){onerror=alert(1) width=10 style=x}",
)
FENCES = {
    'python" onmouseover="x': "x = '<b>'",
    "rust,ignore": "fn main() {}",
    "mermaid": 'graph TD; A-->B; click A "javascript:alert(1)"',
    "<script>": "y = 1",
    "html": "<script>alert('code')</script>",
}
TEMPLATE_TEXT = (
    "{{ config.SECRET_KEY }}",
    "{{ 7*191 }}",
    "{% for x in range(10**9) %}{{ x }}{% endfor %}",
    "{{ lipsum }} {{ self }}",
)
TITLE = "Title <script>alert('title')</script> {{ config.SECRET_KEY }}"
SUMMARY = "Summary <img src=x onerror=alert('summary')>"
OBJECTIVES = (
    "Objective <b onclick=alert(1)>bold</b>",
    "Follow [this](javascript:alert(1)) and [that](vbscript:msgbox(1))",
    "Render {% for x in range(10**9) %}{{ x }}{% endfor %}",
)
COURSE_TITLE = "Course <script>alert('course')</script>"
COURSE_SUMMARY = "Course summary <img src=x onerror=alert('course')>"
DESCRIPTION = "Description <svg onload=alert(1)> and [a link](javascript:alert(1))."
# Headings whose plain slug is an id or a name the lesson page itself uses.
HEADINGS = (
    "csrf_token",
    "csrf-token",
    "main",
    "lesson-title",
    "lesson-progress",
    "answer",
    "revision",
    "submission_id",
    "q-pick",
)
PROMPT = "Prompt <script>alert('prompt')</script> see [p](javascript:alert(1)) {{ 7*191 }}"
RIGHT = "Right <img src=x onerror=alert('right')>"
WRONG = "Wrong <b onclick=alert('wrong')>bold</b>"
RIGHT_FEEDBACK = "Feedback right <script>alert('fb')</script> [f](javascript:alert(1))"
WRONG_FEEDBACK = "Feedback wrong <svg onload=alert('fb')> [w](vbscript:msgbox(1))"
MISCONCEPTION = "trusts-markup"  # tags must be slugs: the loader refuses anything else
HINTS = (
    'Hint one <iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "Hint two [h](JaVaScRiPt:alert(1)) ![i](javascript:alert(1))",
)
EXPLAIN = (
    "Explain <script>alert('explain')</script> [e](data:text/html,x) [ok](https://example.org/)"
)
TYPED_PROMPT = "Type <script>alert('typed')</script>"
NUMBER_PROMPT = "How many <img src=x onerror=alert('number')>?"


def fence(info: str, body: str) -> str:
    return f"```{info}\n{body}\n```"


def yaml_line(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


PAYLOADS_MD = (
    "---\n"
    f"title: {yaml_line(TITLE)}\n"
    f"summary: {yaml_line(SUMMARY)}\n"
    "objectives:\n"
    + "".join(f"  - {yaml_line(objective)}\n" for objective in OBJECTIVES)
    + "---\n"
    + "\n\n".join(
        [
            "Intro paragraph.",
            *RAW_HTML,
            *LINKS,
            *SAFE_LINKS,
            "\n".join(REFERENCES),
            *(fence(info, body) for info, body in FENCES.items()),
            *TEMPLATE_TEXT,
            "Inline `{{ request.environ }}` code.",
        ]
    )
    + "\n"
)
CHECKS_MD = "\n\n".join(
    [
        "---\ntitle: Checks\n---",
        "Intro paragraph.",
        "# csrf_token",
        *(f"## {name}" for name in HEADINGS[1:]),
        "## Title {#csrf_token}",
        fence(
            "quiz id=pick",
            "\n".join(
                [
                    PROMPT,
                    "",
                    f"- [x] {RIGHT}",
                    f"  > {RIGHT_FEEDBACK}",
                    f"- [ ] {WRONG}",
                    f"  > {WRONG_FEEDBACK}",
                    f"  misconception: {MISCONCEPTION}",
                    "",
                    *(f"hint: {hint}" for hint in HINTS),
                    f"explain: {EXPLAIN}",
                ]
            ),
        ),
        fence("quiz id=typed type=text", f"{TYPED_PROMPT}\n\nanswer: flask\nexplain: {EXPLAIN}"),
        fence("quiz id=count type=number", f"{NUMBER_PROMPT}\n\nanswer: 42"),
        fence(
            "quiz id=<script>alert('id')</script>",
            "A broken question <img src=x onerror=alert(1)>\n\n- [x] only one",
        ),
    ]
)
BROKEN_MD = "---\ntitle: [<script>alert('broken')</script>\n---\nBody.\n"
XSS_COURSE: dict[str, str | bytes] = {
    "xss/course.yml": (
        f"title: {yaml_line(COURSE_TITLE)}\n"
        f"summary: {yaml_line(COURSE_SUMMARY)}\n"
        "level: beginner\n"
        f"description: {yaml_line(DESCRIPTION)}\n"
    ),
    "xss/01-payloads.md": PAYLOADS_MD,
    "xss/02-checks.md": CHECKS_MD,
    "xss/03-broken.md": BROKEN_MD,
}


@pytest.fixture
def site(make_app: MakeApp, write_content: WriteContent) -> Flask:
    app = make_app(content_dir=write_content(XSS_COURSE), **FAST_LOGINS)
    with app.app_context():
        course = catalog().course(COURSE)
        assert course is not None
        assert [lesson.slug for lesson in course.lessons] == [PAYLOADS_LESSON, CHECKS_LESSON]
        assert [broken.file_name for broken in course.broken] == ["03-broken.md"]
    return app


def lesson_of(app: Flask, slug: str) -> Lesson:
    with app.app_context():
        course = catalog().course(COURSE)
        assert course is not None
        lesson = course.lesson(slug)
    assert lesson is not None
    return lesson


def lesson_body(markup: str) -> str:
    """The part of a lesson page that the lesson's markdown produced (with its questions)."""
    return markup.split('<div class="prose lesson-body">', 1)[1].split("</article>", 1)[0]


def lesson_path(slug: str) -> str:
    return f"/courses/{COURSE}/{slug}/"


def staff_browser(app: Flask, role: str = "instructor", display_name: str = "") -> Browser:
    add_user(app, STAFF_EMAIL, display_name=display_name, role=role)
    browser = Browser(app)
    assert browser.login(STAFF_EMAIL).status_code == 303
    return browser


# ---------- lesson content ----------


def test_raw_html_in_a_lesson_is_shown_as_text(site: Flask) -> None:
    markup = body_of(site.test_client().get(lesson_path(PAYLOADS_LESSON)))
    page = assert_inert(markup, "lesson")
    for payload in RAW_HTML:
        assert_shown_as_text(page, markup, payload, "lesson")
    assert_shown_as_text(page, markup, "<script>alert('code')</script>", "html code block")
    # The app's own scripts are all there is.
    assert [attrs["src"].split("?")[0] for attrs, _ in page.scripts] == ["/static/js/app.js"]


def test_dangerous_url_schemes_never_become_links_or_images(site: Flask) -> None:
    markup = body_of(site.test_client().get(lesson_path(PAYLOADS_LESSON)))
    page = assert_inert(markup, "lesson")
    for payload in LINKS:
        assert_shown_as_text(page, markup, payload, "link")
    for payload in REFERENCES:  # an unused definition is text, not a link
        assert_shown_as_text(page, markup, payload, "reference")
    links = Page(lesson_body(markup))
    hrefs = [attrs["href"] for attrs in links.named("a")]
    assert [h for h in hrefs if not h.startswith("#h-")] == [
        "gone%3Csvg/onload=alert(1)%3E.md",  # a broken lesson link, left relative and encoded
        "https://example.org/",
    ]
    (site_link,) = [attrs for attrs in links.named("a") if attrs["href"].startswith("https:")]
    assert site_link == {"href": "https://example.org/", "title": 'x" onmouseover="alert(1)'}
    (image,) = links.named("img")  # the attribute block may size an image, nothing more
    assert image["src"] == "../images/a.png"
    assert set(image) <= {"src", "alt", "title", "width", "height", "loading", "decoding"}


def test_front_matter_and_course_fields_are_escaped_on_every_page(site: Flask) -> None:
    client = site.test_client()
    pages = {
        "lesson": lesson_path(PAYLOADS_LESSON),
        "other lesson": lesson_path(CHECKS_LESSON),
        "course": f"/courses/{COURSE}/",
        "catalog": "/",
    }
    shown = {
        "lesson": (TITLE, COURSE_TITLE, *OBJECTIVES[:1], OBJECTIVES[2]),
        "other lesson": (TITLE, COURSE_TITLE),
        "course": (TITLE, COURSE_TITLE, COURSE_SUMMARY, "Description <svg onload=alert(1)>"),
        "catalog": (COURSE_TITLE, COURSE_SUMMARY),
    }
    for name, path in pages.items():
        markup = body_of(client.get(path))
        page = assert_inert(markup, name)
        for payload in shown[name]:
            assert_shown_as_text(page, markup, payload, name)
    markup = body_of(client.get(lesson_path(PAYLOADS_LESSON)))
    page = Page(markup)
    # Meta descriptions hold the summary as an attribute value, never as markup.
    (description,) = [m for m in page.named("meta") if m.get("name") == "description"]
    assert description["content"] == SUMMARY
    (title,) = [m for m in page.named("meta") if m.get("property") == "og:title"]
    assert title["content"].startswith(TITLE)
    assert "[this](javascript:alert(1))" in page.text  # an objective's link stays text


def test_fence_info_strings_cannot_add_attributes_or_run(site: Flask) -> None:
    markup = body_of(site.test_client().get(lesson_path(PAYLOADS_LESSON)))
    page = assert_inert(markup, "lesson")
    body = Page(lesson_body(markup))
    for tag in ("pre", "code", "figure", "figcaption"):
        for attrs in body.named(tag):
            assert set(attrs) <= {"class", "tabindex"}, attrs
            assert '"' not in attrs.get("class", ""), attrs
    classes = {attrs.get("class") for attrs in body.named("code")}
    assert "language-rust" in classes and "language-html" in classes
    assert not [c for c in classes if c and ("mermaid" in c or "onmouseover" in c)]
    for info, body in FENCES.items():
        assert_shown_as_text(page, markup, body, info)


def test_heading_ids_never_equal_an_id_or_name_the_page_uses(site: Flask) -> None:
    lesson = lesson_of(site, CHECKS_LESSON)
    generated = lesson.heading_ids
    assert len(generated) == len(HEADINGS) + 1
    assert all(hid.startswith("h-") for hid in generated)
    markup = body_of(site.test_client().get(lesson_path(CHECKS_LESSON)))
    page = assert_inert(markup, "lesson")
    ids = Counter(attrs["id"] for _, attrs in page.tags if "id" in attrs)
    names = {attrs["name"] for _, attrs in page.tags if "name" in attrs}
    for hid in generated:
        assert ids[hid] == 1, hid  # only the heading itself carries it
        assert hid not in names, hid
    # Without the prefix these headings would clobber the page's own ids and form fields.
    assert {"csrf_token", "csrf-token", "main", "lesson-title", "answer", "q-pick"} <= (
        set(ids) | names
    )
    assert 'id="csrf_token"' not in markup
    # The attribute syntax cannot set a heading's id either.
    assert "h-title-csrf_token" in generated


def test_template_syntax_in_content_is_never_evaluated(site: Flask) -> None:
    client = site.test_client()
    secret = site.config["SECRET_KEY"]
    for slug in (PAYLOADS_LESSON, CHECKS_LESSON):
        markup = body_of(client.get(lesson_path(slug)))
        page = assert_inert(markup, slug)
        assert secret not in markup
        assert "1337" not in page.text  # {{ 7*191 }}
        if slug == PAYLOADS_LESSON:
            for payload in TEMPLATE_TEXT:
                assert_shown_as_text(page, markup, payload, slug)
            assert "{{ request.environ }}" in page.text
            assert "generate_lorem_ipsum" not in page.text and "TemplateReference" not in page.text
    course = body_of(client.get(f"/courses/{COURSE}/"))
    assert secret not in course and "{{ config.SECRET_KEY }}" in Page(course).text


def test_question_text_feedback_hints_and_explanations_are_inert(site: Flask) -> None:
    learner = Learner(site, course=COURSE)
    pick = learner.lesson(CHECKS_LESSON).question("pick")
    assert pick is not None
    right = next(option.id for option in pick.options if option.correct)
    wrong = next(option.id for option in pick.options if not option.correct)

    def lesson_page(where: str) -> tuple[Page, str]:
        markup = learner.page(CHECKS_LESSON)
        return assert_inert(markup, where), markup

    page, markup = lesson_page("unanswered")
    for payload in (PROMPT, RIGHT, WRONG):
        assert_shown_as_text(page, markup, payload, "unanswered")

    assert learner.post_form(CHECKS_LESSON, pick, wrong).status_code == 303
    page, markup = lesson_page("answered wrong")
    assert_shown_as_text(page, markup, "Feedback wrong <svg onload=alert('fb')>", "feedback")
    assert "[w](vbscript:msgbox(1))" in page.text

    for number in ("1", "2"):
        response = learner.action(CHECKS_LESSON, pick, "hint", hint=number)
        assert response.status_code == 303
    page, markup = lesson_page("hints")
    assert_shown_as_text(page, markup, HINTS[0], "hint")
    assert "[h](JaVaScRiPt:alert(1))" in page.text

    assert learner.action(CHECKS_LESSON, pick, "reveal").status_code == 303
    page, markup = lesson_page("revealed")
    assert_shown_as_text(page, markup, "Explain <script>alert('explain')</script>", "explain")
    section = section_of(markup, "pick")
    assert_shown_as_text(Page(section), section, RIGHT, "key")

    # The JSON replies carry the same fragments, for the page's script to put in place.
    scripted = Learner(site, course=COURSE)
    replies = [
        scripted.post_json(CHECKS_LESSON, pick, wrong),
        scripted.action(CHECKS_LESSON, pick, "hint", json=True, hint="1"),
        scripted.action(CHECKS_LESSON, pick, "reveal", json=True),
        scripted.post_json(CHECKS_LESSON, pick, right),
    ]
    fragments: list[str] = []
    for reply in replies:
        assert reply.status_code == 200 and reply.content_type == "application/json"
        fragments += html_fragments(reply.get_json())
    for fragment in fragments:
        assert_inert(fragment, "json")
    joined = Page("".join(fragments)).text
    for payload in (WRONG_FEEDBACK, RIGHT_FEEDBACK, HINTS[0], RIGHT, EXPLAIN):
        assert html.unescape(payload).split(" [")[0] in joined, payload


# Fields of a JSON reply that hold HTML (the rest is plain text the script never parses).
HTML_FIELDS = ("result_html", "help_html", "summary_html", "feedback", "hints", "answer")


def html_fragments(data: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for name in (*HTML_FIELDS, "explanation"):
        value = data.get(name)
        found += value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return found


def test_refused_answers_are_shown_back_escaped(site: Flask) -> None:
    learner = Learner(site, course=COURSE)
    count = learner.lesson(CHECKS_LESSON).question("count")
    assert count is not None
    typed = "\"><script>alert('n')</script>"
    response = learner.post_form(CHECKS_LESSON, count, typed)
    markup = body_of(response, 400)
    page = assert_inert(markup, "refused form")
    (field,) = [a for a in page.named("input") if a.get("id") == "q-count-answer"]
    assert field["value"] == typed
    assert typed not in markup
    reply = learner.post_json(CHECKS_LESSON, count, typed)
    assert reply.status_code == 400 and reply.content_type == "application/json"
    data = reply.get_json()
    assert html_fragments(data) == []  # only plain text, which the script escapes
    assert set(data) == {"error", "status", "reason", "message", "question"}


def test_authoring_problems_shown_to_staff_are_escaped(site: Flask) -> None:
    browser = staff_browser(site)
    markup = body_of(browser.get(lesson_path(CHECKS_LESSON)))
    page = assert_inert(markup, "staff lesson")
    assert 'class="diagnostics"' in markup
    assert "<script>alert('id')</script>" in page.text
    assert "<script>alert('id')</script>" not in markup
    broken = body_of(browser.get(lesson_path("broken")), 500)  # staff see why it fails
    broken_page = assert_inert(broken, "broken lesson")
    assert "03-broken.md" in broken_page.text
    payloads = body_of(browser.get(lesson_path(PAYLOADS_LESSON)))
    page = assert_inert(payloads, "staff payloads")
    assert "gone<svg/onload=alert(1)>.md" in page.text  # the broken link, named for the author
    assert "<svg/onload" not in payloads


# ---------- display names ----------

NAMES = (
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "{{ config.SECRET_KEY }} ' onmouseover='x",
)


def assert_name_shown(browser: Browser, name: str, paths: tuple[str, ...]) -> None:
    for path in paths:
        markup = body_of(browser.get(path))
        page = assert_inert(markup, path)
        assert_shown_as_text(page, markup, name, path)
        header = markup.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]
        assert name in Page(header).text, path
        assert browser.app.config["SECRET_KEY"] not in markup


def test_display_names_are_escaped_on_every_page_that_shows_them(site: Flask) -> None:
    learner = Browser(site)
    response = learner.register("learner@example.org", display_name=NAMES[0])
    assert response.status_code == 303
    welcome = body_of(learner.get(response.location))  # the flash names the learner
    assert_shown_as_text(assert_inert(welcome, "welcome"), welcome, f"Welcome, {NAMES[0]}!")
    pages = ("/dashboard", "/account", "/", lesson_path(PAYLOADS_LESSON))
    assert_name_shown(learner, NAMES[0], pages)

    for name in NAMES[1:]:
        renamed = learner.submit(
            "/account",
            {"profile-display_name": name},
            action="/account/profile",
            csrf_field="profile-csrf_token",
        )
        assert renamed.status_code == 303
        assert_name_shown(learner, name, pages)
        settings = Page(body_of(learner.get("/account")))
        (field,) = [a for a in settings.named("input") if a.get("name") == "profile-display_name"]
        assert field["value"] == name

    export = learner.get("/account/export")
    assert export.status_code == 200
    assert export.content_type == "application/json; charset=utf-8"
    assert export.headers["X-Content-Type-Options"] == "nosniff"
    assert export.headers["Content-Disposition"].startswith("attachment;")
    assert export.get_json()["account"]["display_name"] == NAMES[-1]

    admin = staff_browser(site, role="admin", display_name=NAMES[0])
    users = body_of(admin.get("/admin/users"))
    users_page = assert_inert(users, "admin users")
    for name in (NAMES[0], NAMES[-1]):  # the admin's own name and the learner's
        assert_shown_as_text(users_page, users, name, "admin users")
    assert_name_shown(admin, NAMES[0], ("/instructor/", f"/instructor/{COURSE}/"))


# ---------- typed answers, as instructors see them ----------

TYPED_ANSWERS = (
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "{{ config.SECRET_KEY }}",
)


@pytest.mark.parametrize("typed", TYPED_ANSWERS)
def test_free_text_answers_are_escaped_for_instructors(site: Flask, typed: str) -> None:
    learner = Learner(site, course=COURSE)
    spec = learner.lesson(CHECKS_LESSON).question("typed")
    pick = learner.lesson(CHECKS_LESSON).question("pick")
    assert spec is not None and pick is not None
    assert learner.post_form(CHECKS_LESSON, spec, typed).status_code == 303
    wrong = next(option.id for option in pick.options if not option.correct)
    assert learner.post_json(CHECKS_LESSON, pick, wrong).status_code == 200
    with site.app_context():
        stored = db.session.scalars(
            db.select(QuizAttempt.answer).where(QuizAttempt.question_id == "typed")
        ).all()
    assert stored == [typed]

    # The learner's own page shows the answer back in the field.
    markup = learner.page(CHECKS_LESSON)
    page = assert_inert(markup, "learner")
    (field,) = [a for a in page.named("input") if a.get("id") == "q-typed-answer"]
    assert field["value"] == typed

    staff = staff_browser(site)
    markup = body_of(staff.get(f"/instructor/{COURSE}/"))
    page = assert_inert(markup, "instructor course")
    typed_row = section_between(markup, 'id="question-typed"', "</tr>")
    assert typed in Page(typed_row).text
    if "<" in typed:
        assert typed not in markup
    assert site.config["SECRET_KEY"] not in markup
    pick_row = Page(section_between(markup, 'id="question-pick"', "</tr>")).text
    for payload in ("Prompt <script>alert('prompt')</script>", WRONG, MISCONCEPTION):
        assert payload in pick_row, payload
    assert_shown_as_text(page, markup, TYPED_PROMPT, "instructor course")
    index = body_of(staff.get("/instructor/"))
    assert_shown_as_text(assert_inert(index, "instructor index"), index, COURSE_TITLE)


def section_between(markup: str, start: str, end: str) -> str:
    begin = markup.index(start)
    return markup[begin : markup.index(end, begin)]


# ---------- error pages, reflected queries and re-rendered forms ----------

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><script>alert(1)</script>'


@pytest.mark.parametrize(
    "path",
    [
        "/courses/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/courses/%3Cscript%3Ealert(1)%3C%2Fscript%3E/",
        f"/courses/{COURSE}/%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E/",
        "/%3Cimg%20src=x%20onerror=alert(1)%3E",
        f"/courses/{COURSE}/{CHECKS_LESSON}/quiz/%3Cscript%3E/answer",
        "/static/%3Cscript%3Ealert(1)%3C%2Fscript%3E.js",
    ],
)
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_not_found_pages_never_reflect_the_path(site: Flask, path: str, accept: str) -> None:
    browser = Browser(site)
    headers = {"Accept": accept}
    if path.endswith("/answer"):  # a valid token, so the missing question is what fails
        headers["X-CSRFToken"] = browser.token(lesson_path(CHECKS_LESSON))
        response = browser.client.post(path, headers=headers)
    else:
        response = browser.get(path, headers=headers)
    assert response.status_code == 404
    markup = response.get_data(as_text=True)
    for raw in (SCRIPT, "<script>", "<img src=x onerror=alert(1)>"):
        assert raw not in markup
    if response.content_type.startswith("text/html"):
        assert_inert(markup, path)
    else:
        assert response.content_type == "application/json"
        assert "script" not in markup.lower()


QUERY = {
    "next": "\"><script>alert('next')</script>",
    "q": "<img src=x onerror=alert('q')>",
    "page": "javascript:alert('page')",
}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        f"/courses/{COURSE}/",
        lesson_path(PAYLOADS_LESSON),
        "/auth/login",
        "/auth/register",
        "/auth/forgot",
        "/no-such-page",
    ],
)
def test_query_strings_are_never_reflected_as_markup(site: Flask, path: str) -> None:
    response = site.test_client().get(path, query_string=QUERY)
    markup = response.get_data(as_text=True)
    page = assert_inert(markup, path)
    for value in QUERY.values():
        assert value not in markup
    for _, attrs in page.tags:
        for name in ("href", "action", "content"):
            assert not normalised_url(attrs.get(name, "")).startswith(DANGEROUS_SCHEMES)
    if path == "/auth/login":
        (form,) = [a for a in page.named("form") if a.get("method") == "post"]
        action = urlsplit(form["action"])
        assert action.path == "/auth/login" and not set('"<> ') & set(form["action"])
        assert parse_qs(action.query) == {"next": [QUERY["next"]]}


def test_admin_pages_ignore_hostile_query_strings(site: Flask) -> None:
    admin = staff_browser(site, role="admin")
    for path in ("/admin/users", "/instructor/", f"/instructor/{COURSE}/"):
        markup = body_of(admin.get(path, query_string=QUERY))
        assert_inert(markup, path)
        for value in QUERY.values():
            assert value not in markup


def field_value(page: Page, name: str) -> str:
    (field,) = [a for a in page.named("input") if a.get("name") == name]
    return field.get("value", "")


def test_forms_re_render_what_was_typed_escaped(site: Flask) -> None:
    email = f"{BREAKOUT}@example.org"
    browser = Browser(site)
    cases = [
        (
            "/auth/register",
            {"email": email, "display_name": BREAKOUT, "password": "short"},
            {"email": email, "display_name": BREAKOUT},
        ),
        ("/auth/login", {"email": BREAKOUT, "password": "x"}, {"email": BREAKOUT}),
        ("/auth/forgot", {"email": email}, {"email": email}),
    ]
    for path, data, echoed in cases:
        markup = body_of(browser.submit(path, data), 400)
        page = assert_inert(markup, path)
        assert 'class="form-error"' in markup or 'class="form-alert"' in markup, path
        for name, value in echoed.items():
            assert field_value(page, name) == value, (path, name)
        assert SCRIPT not in markup, path
        if "password" in data:  # a password is never sent back
            assert field_value(page, "password") == "", path

    assert browser.register("renamer@example.org").status_code == 303
    too_long = BREAKOUT + "x" * 80
    markup = body_of(
        browser.submit(
            "/account",
            {"profile-display_name": too_long},
            action="/account/profile",
            csrf_field="profile-csrf_token",
        ),
        400,
    )
    page = assert_inert(markup, "profile")
    assert field_value(page, "profile-display_name") == too_long
    assert SCRIPT not in markup


def test_the_csrf_error_page_is_inert(site: Flask) -> None:
    client = site.test_client()
    client.get("/auth/login")  # a session, so the token check is what fails
    data = {"email": BREAKOUT, "password": SCRIPT, "csrf_token": BREAKOUT}
    for headers in ({}, {"Accept": "application/json"}):
        response = client.post(
            "/auth/login", data=data, query_string={"next": BREAKOUT}, headers=headers
        )
        assert response.status_code == 400
        markup = response.get_data(as_text=True)
        assert SCRIPT not in markup and "alert" not in markup
        if headers:
            assert response.get_json()["status"] == 400
        else:
            page = assert_inert(markup, "csrf")
            assert "security token" in page.text
    quiz = client.post(
        f"/courses/{COURSE}/{CHECKS_LESSON}/quiz/typed/answer",
        data={"answer": SCRIPT, "revision": BREAKOUT},
    )
    assert quiz.status_code == 400
    assert SCRIPT not in quiz.get_data(as_text=True)
    assert_inert(quiz.get_data(as_text=True), "quiz csrf")


# ---------- where the code marks text as safe ----------

TEMPLATES = PROJECT_ROOT / "app" / "templates"
SAFE_RE = re.compile(r"\|\s*safe\b|\bfilter\s+safe\b")
RENDERED = "HTML from app.content.markdown: raw HTML off, link schemes checked (tested above)"
# (template, the expression marked safe) -> (how many times, why it is safe)
SAFE_ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("lessons/course.html", "course.description_html"): (1, RENDERED),
    ("lessons/course.html", "lesson.summary_html"): (1, RENDERED),
    ("lessons/lesson.html", "objective"): (1, RENDERED + " (lesson.objectives_html)"),
    ("lessons/lesson.html", "part"): (1, RENDERED + " (lesson.body_parts, strings only)"),
    ("_macros/quiz.html", "spec.prompt_html"): (1, RENDERED),
    ("_macros/quiz.html", "html"): (4, RENDERED + " (option texts and answer keys)"),
    ("_macros/quiz.html", "feedback"): (1, RENDERED + " (result.feedback_html)"),
    ("_macros/quiz.html", "view.key_html[0]"): (1, RENDERED),
    ("_macros/quiz.html", "spec.explain_html"): (1, RENDERED),
    ("_macros/quiz.html", "hint"): (1, RENDERED + " (view.hints, from spec.hints_html)"),
}
MARKUP_ALLOWED: dict[tuple[str, str], str] = {
    (
        "app/instructor/stats.py",
        "return Markup(html).striptags()",
    ): "striptags() turns our rendered prompt into plain text, which the template escapes",
    (
        "app/content/loader.py",
        '"summary": Markup(summary_html).striptags(),',
    ): "striptags() turns the rendered summary into plain text, which templates escape",
    (
        "app/lessons/fragments.py",
        "return Markup(html)",
    ): "the kept macro output (escaped), with our constant attributes and an int put in",
    (
        "app/fragments.py",
        "return Markup(VARIANTS_SLOT.format(len(variants) - 1))",
    ): "our own slot marker: NUL characters, a constant text and a number",
}
# Ways to put text into a page unescaped, or to run text as a template.
UNSAFE_PYTHON = re.compile(
    r"render_template_string|from_string\(|autoescape\s*=\s*False|Markup\.unescape|\|\s*safe\b"
)


def safe_uses() -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for path in sorted(TEMPLATES.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES).as_posix()
        for match in SAFE_RE.finditer(text):
            start = max(text.rfind("{{", 0, match.start()), text.rfind("{%", 0, match.start()))
            found[(name, text[start + 2 : match.start()].strip())] += 1
    return found


def test_only_allow_listed_template_expressions_are_marked_safe() -> None:
    found = safe_uses()
    allowed = {key: count for key, (count, _) in SAFE_ALLOWED.items()}
    assert dict(found) == allowed, "a |safe was added or removed: review it, then this list"
    assert all(len(reason) > 20 for _, reason in SAFE_ALLOWED.values())
    assert SAFE_RE.search("{{ user.display_name|safe }}")  # the scanner sees new ones
    for template in TEMPLATES.rglob("*"):
        if template.is_file():
            text = template.read_text(encoding="utf-8")
            assert not re.search(r"autoescape\s+false", text, re.IGNORECASE), template


def test_only_allow_listed_code_builds_markup_and_nothing_renders_text_as_a_template() -> None:
    found: dict[tuple[str, str], int] = Counter()
    unsafe: list[str] = []
    for path in sorted((PROJECT_ROOT / "app").rglob("*.py")):
        name = path.relative_to(PROJECT_ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("  # ", 1)[0].strip()
            if "Markup(" in code:
                found[(name, code)] += 1
            if UNSAFE_PYTHON.search(code):
                unsafe.append(f"{name}:{number}: {code}")
    assert set(found) == set(MARKUP_ALLOWED), "a Markup(...) was added or removed"
    assert all(count == 1 for count in found.values())
    assert unsafe == []
    assert all(len(reason) > 20 for reason in MARKUP_ALLOWED.values())
