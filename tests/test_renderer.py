"""The markdown renderer: policy (raw HTML, links, ids), features and reading time."""

from __future__ import annotations

import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.content.highlight import parse_info
from app.content.loader import load_catalog
from app.content.markdown import LinkContext, render_markdown
from app.content.reading import reading_minutes
from tests.conftest import WriteContent


class Elements(HTMLParser):
    """Every start tag with its attributes, for structural assertions."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def all_attrs(self) -> list[tuple[str, str]]:
        return [(k, v or "") for _, attrs in self.tags for k, v in attrs.items()]


def render(text: str, **context) -> str:
    return render_markdown(textwrap.dedent(text), LinkContext(**context)).html


def test_raw_html_is_inert() -> None:
    html = render(
        """
        <script>alert(1)</script>

        Inline <img src=x onerror=alert(1)> and <b onclick=x>bold</b>.

        <div style="color:red">block</div>
        """
    )
    elements = Elements(html)
    assert elements.named("script") == [] and elements.named("img") == []
    assert not [name for name, _ in elements.all_attrs() if name.startswith("on")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "style" not in [name for name, _ in elements.all_attrs()]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "&#106;avascript:alert(1)",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "data:text/html;base64,PHNjcmlwdD4=",
    ],
)
def test_dangerous_link_schemes_never_become_links(url: str) -> None:
    html = render(f"[click]({url}) and ![img]({url}) and [ref][r]\n\n[r]: {url}\n")
    urls = [v.lower() for k, v in Elements(html).all_attrs() if k in ("href", "src")]
    assert not [u for u in urls if u.startswith(("javascript:", "vbscript:", "file:", "data:"))]


def test_jinja_syntax_stays_literal() -> None:
    html = render(
        """
        Write `{{ name }}` in a template.

        ```html+jinja
        {% if user %}Hello {{ user.name }}{% endif %}
        {{ config.SECRET_KEY }}
        ```
        """
    )
    assert "{{ name }}" in html
    assert "{%" in html and "config" in html and "SECRET_KEY" in html


def test_tables_use_alignment_classes_not_style() -> None:
    html = render(
        """
        | Feature | Flask | Django |
        |:--------|:-----:|-------:|
        | ORM     | no    | yes    |
        """
    )
    elements = Elements(html)
    assert "style=" not in html
    assert [a.get("class") for a in elements.named("th")] == [
        "align-left",
        "align-center",
        "align-right",
    ]
    (wrapper,) = [a for a in elements.named("div") if a.get("class") == "table-wrap"]
    assert wrapper["tabindex"] == "0"
    assert wrapper["role"] == "region"
    assert wrapper["aria-label"] == "Table: Feature, Flask, Django"


def test_headings_get_prefixed_unique_ids_and_toc() -> None:
    result = render_markdown(
        textwrap.dedent(
            """
            ## Routing basics

            ### `url_for` and friends

            ## Routing basics

            ## csrf_token

            #### Deep
            """
        )
    )
    ids = result.heading_ids
    assert ids == (
        "h-routing-basics",
        "h-url_for-and-friends",
        "h-routing-basics-1",
        "h-csrf_token",
        "h-deep",
    )
    assert [(e.id, e.title, e.level) for e in result.toc] == [
        ("h-routing-basics", "Routing basics", 2),
        ("h-url_for-and-friends", "url_for and friends", 3),
        ("h-routing-basics-1", "Routing basics", 2),
        ("h-csrf_token", "csrf_token", 2),
    ]
    assert 'id="csrf_token"' not in result.html
    assert '<a class="heading-anchor" href="#h-routing-basics"' in result.html


def test_links_between_lessons_become_urls_with_prefixed_anchors() -> None:
    context = {
        "lesson_files": {"01-intro.md": "intro", "02-what-micro-means.md": "what-micro-means"},
        "self_file": "01-intro.md",
    }
    html = render(
        """
        [a](02-what-micro-means.md) [b](./02-what-micro-means.md#wsgi)
        [c](#setup) [d](01-intro.md#setup) [e](https://flask.palletsprojects.com/)
        ![f](images/diagram.png) [g](/courses/)
        """,
        **context,
    )
    hrefs = [a["href"] for a in Elements(html).named("a")]
    assert hrefs == [
        "../what-micro-means/",
        "../what-micro-means/#h-wsgi",
        "#h-setup",
        "#h-setup",
        "https://flask.palletsprojects.com/",
        "/courses/",
    ]
    (img,) = Elements(html).named("img")
    assert img["src"] == "../images/diagram.png"
    assert img["loading"] == "lazy"


def test_course_description_links_are_relative_to_the_course_page() -> None:
    html = render(
        "[first](01-intro.md) ![x](images/a.png)",
        lesson_files={"01-intro.md": "intro"},
        on_lesson_page=False,
    )
    assert 'href="intro/"' in html and 'src="images/a.png"' in html


def test_image_attributes_keep_only_numeric_sizes() -> None:
    html = render('![Diagram](images/a.png){width=640 height=abc onerror="x" .big #id}')
    (img,) = Elements(html).named("img")
    assert img["width"] == "640"
    assert set(img) == {"src", "alt", "width", "loading", "decoding"}


def test_code_is_highlighted_on_the_server_with_a_label() -> None:
    html = render(
        """
        ```python title="app.py"
        from flask import Flask
        ```
        """
    )
    assert '<figure class="code-block">' in html
    assert '<span class="code-lang">Python</span>' in html
    assert '<span class="code-title">app.py</span>' in html
    assert '<pre class="highlight" tabindex="0"><code class="language-python">' in html
    assert '<span class="kn">from</span>' in html


def test_a_runnable_app_lists_the_requests_it_is_sent() -> None:
    html = render(
        """
        ```python run request="GET /search?q=a&b=<i>; POST /login"
        app = None
        ```

        ```python run
        print(1)
        ```
        """
    )
    assert html.count('<span class="code-lang">Python · tested example</span>') == 2
    assert html.count('class="code-requests"') == 1
    assert (
        "Requests sent by the test client: <code>GET /search?q=a&amp;b=&lt;i&gt;</code>"
        ", then <code>POST /login</code></p></figure>"
    ) in html


@pytest.mark.parametrize(
    ("info", "lang", "highlighted"),
    [
        ("rust,ignore", "rust", True),
        ('python run request="GET /hello"', "python", True),
        ("mermaid", "mermaid", False),
        ('python" onmouseover="x', "", False),
        ("<script>", "", False),
        ("", "", False),
    ],
)
def test_odd_info_strings(info: str, lang: str, highlighted: bool) -> None:
    assert parse_info(info).lang == lang
    html = render(f"```{info}\nx = '<b>' # \"quoted\"\n```\n")
    elements = Elements(html)
    for attrs in elements.named("code") + elements.named("pre"):
        assert '"' not in (attrs.get("class") or "")
    assert not [name for name, _ in elements.all_attrs() if name.startswith("on")]
    assert elements.named("b") == []
    assert ('class="language-' in html) is highlighted


def test_info_string_attributes() -> None:
    info = parse_info('python run request="GET /hello; POST /x" title=app.py')
    assert info.lang == "python"
    assert info.flags == ("run",)
    assert dict(info.attrs) == {"request": "GET /hello; POST /x", "title": "app.py"}


def test_quiz_fences_are_left_out_entirely() -> None:
    result = render_markdown(
        textwrap.dedent(
            """
            Before.

            ```quiz id=q1
            Which engine?

            - [x] Jinja2 SECRET-ANSWER
            ```

            ````quiz id=q2
            Outer fence
            ````

            After.
            """
        )
    )
    assert "SECRET-ANSWER" not in result.html
    assert "quiz" not in result.html and "Outer fence" not in result.html
    assert result.code_blocks == 0
    assert "Before." in result.html and "After." in result.html


def test_callouts_name_their_kind() -> None:
    html = render(
        """
        ::: warning Never in production
        The debugger runs code.
        :::

        ::: note
        A note.
        :::

        ::: danger
        Generic.
        :::
        """
    )
    classes = [a["class"] for a in Elements(html).named("div")]
    assert classes == ["callout callout-warning", "callout callout-note", "callout callout-generic"]
    assert '<p class="callout-title">Never in production</p>' in html
    assert '<p class="callout-title">Note</p>' in html
    assert '<p class="callout-title">Danger</p>' in html


def test_task_list_checkboxes_have_accessible_names() -> None:
    html = render("- [x] Install Flask\n- [ ] Write a view\n")
    assert "<label>" in html
    inputs = Elements(html).named("input")
    assert len(inputs) == 2 and all("disabled" in attrs for attrs in inputs)
    assert "Install Flask</label>" in html


def test_footnotes_and_strikethrough() -> None:
    html = render("Flask ~~is big~~ is small.[^1]\n\n[^1]: A microframework.\n")
    assert "<s>is big</s>" in html
    assert 'class="footnotes"' in html and "A microframework." in html


def test_words_and_code_blocks_are_counted() -> None:
    result = render_markdown(
        "One two three.\n\n```python\nignored words here\n```\n\n    indented\n"
    )
    assert (result.words, result.code_blocks) == (3, 2)


@pytest.mark.parametrize(
    ("words", "code_blocks", "minutes"),
    [(0, 0, 1), (200, 0, 1), (201, 0, 2), (400, 0, 2), (100, 1, 1), (100, 2, 2), (1000, 3, 7)],
)
def test_reading_time_formula(words: int, code_blocks: int, minutes: int) -> None:
    assert reading_minutes(words, code_blocks) == minutes


def test_reading_time_fixture_lesson(write_content: WriteContent) -> None:
    """450 prose words and 3 code blocks: 450/200 min + 3 × 30 s = 3.75 min → 4 min read."""
    prose = " ".join(["word"] * 150)
    code = "```python\nprint('not counted as prose words at all')\n```\n"
    body = "\n\n".join([prose, code, prose, code, prose, code])
    root = write_content({"c/course.yml": "title: C\n", "c/01-a.md": "# A\n\n" + body})
    lesson = load_catalog(root).course("c").lessons[0]
    assert (lesson.words, lesson.code_blocks, lesson.minutes) == (450, 3, 4)


def test_bundled_lessons_render_without_problems() -> None:
    catalog = load_catalog(Path(__file__).resolve().parent.parent / "content")
    assert catalog.diagnostics == ()
    course = catalog.course("flask-fundamentals")
    slugs = [lesson.slug for lesson in course.lessons]
    assert slugs[:4] == ["what-is-flask", "what-micro-means", "wsgi", "werkzeug"]
    micro = course.lesson("what-micro-means")
    assert "<table>" in micro.html and "Django" in micro.html
