"""Pages through the real app: catalog, course, lesson, assets, errors and health."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from markupsafe import escape
from werkzeug.exceptions import NotFound

from tests.conftest import POSTGRES, SAMPLE_COURSE, MakeApp, WriteContent
from tests.test_renderer import Elements

LESSON = "/courses/flask-fundamentals/what-micro-means/"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def sample_app(make_app: MakeApp, sample_content: Path) -> Flask:
    return make_app(sample_content)


def test_catalog_lists_each_course_with_its_facts(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = text_of(response.get_data(as_text=True))
    app = client.application
    course = app.extensions["content"].catalog().course("flask-fundamentals")
    assert "Flask Fundamentals" in page
    assert course.summary in page
    assert "Beginner" in page
    assert f"{len(course.lessons)} lessons" in page
    assert f"{course.minutes} min" in page
    assert 'href="/courses/flask-fundamentals/"' in response.get_data(as_text=True)


def test_course_page_lists_lessons_in_order(sample_app: Flask) -> None:
    response = sample_app.test_client().get("/courses/demo/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Learn <strong>things</strong>." in html
    assert 'href="first/"' in html  # link in the description, relative to the course page
    links = re.findall(r'href="/courses/demo/([a-z]+)/"', html)
    assert links[:4] == ["first", "first", "second", "third"]  # "Start" button, then the list
    page = text_of(html)
    assert "First lesson" in page and "The first one." in page
    for lesson in sample_app.extensions["content"].catalog().course("demo").lessons:
        assert f"{lesson.minutes} min" in page


def test_lesson_summaries_show_inline_code_and_describe_pages_in_plain_text(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/03-third.md"] = (
        "---\ntitle: Third\nsummary: Meet `request` and *g*, never <script>alert(1)</script>.\n"
        "---\n# Third\n\nBody.\n"
    )
    client = make_app(write_content(files)).test_client()
    course = client.get("/courses/demo/").get_data(as_text=True)
    assert (
        "Meet <code>request</code> and <em>g</em>, never &lt;script&gt;alert(1)&lt;/script&gt;."
        in course
    )
    assert "<script>alert" not in course
    lesson = client.get("/courses/demo/third/").get_data(as_text=True)
    plain = "Meet request and g, never &lt;script&gt;alert(1)&lt;/script&gt;."
    assert f'<meta name="description" content="{plain}">' in lesson
    assert f'<meta property="og:description" content="{plain}">' in lesson


def test_lesson_page_has_everything_a_reader_needs(client) -> None:
    response = client.get(LESSON)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    lesson = (
        client.application.extensions["content"]
        .catalog()
        .course("flask-fundamentals")
        .lesson("what-micro-means")
    )
    elements = Elements(html)

    title = str(escape(lesson.title))
    assert f"<title>{title} | Flask Fundamentals | Learn Flask</title>" in html
    (description,) = [m for m in elements.named("meta") if m.get("name") == "description"]
    assert description["content"] == lesson.summary
    (canonical,) = [link for link in elements.named("link") if link.get("rel") == "canonical"]
    assert canonical["href"] == "http://localhost" + LESSON
    assert [link for link in elements.named("link") if link.get("rel") == "icon"]
    assert f"{lesson.minutes} min read" in html
    for objective in lesson.objectives_html:
        assert objective in html

    breadcrumb = html.split('aria-label="Breadcrumb">')[1].split("</nav>")[0]
    assert text_of(breadcrumb).split() == ["Catalog", "Flask", "Fundamentals", *title.split()]

    toc = html.split('class="toc-list"')[1].split("</ol>")[0]
    toc_targets = re.findall(r'href="#([^"]+)"', toc)
    assert toc_targets == [entry.id for entry in lesson.toc]
    ids = {attrs.get("id") for _, attrs in elements.tags}
    assert set(toc_targets) <= ids

    current = [a for a in elements.named("a") if a.get("aria-current") == "page"]
    assert {a["href"] for a in current} == {LESSON}

    (prev_link,) = [a for a in elements.named("a") if a.get("rel") == "prev"]
    (next_link,) = [a for a in elements.named("a") if a.get("rel") == "next"]
    assert prev_link["href"] == "/courses/flask-fundamentals/what-is-flask/"
    assert next_link["href"] == "/courses/flask-fundamentals/wsgi/"


def test_first_and_last_lessons_have_one_neighbour(sample_app: Flask) -> None:
    client = sample_app.test_client()
    first = Elements(client.get("/courses/demo/first/").get_data(as_text=True))
    last = Elements(client.get("/courses/demo/third/").get_data(as_text=True))
    assert [a["href"] for a in first.named("a") if a.get("rel") == "next"] == [
        "/courses/demo/second/"
    ]
    assert [a for a in first.named("a") if a.get("rel") == "prev"] == []
    assert [a["href"] for a in last.named("a") if a.get("rel") == "prev"] == [
        "/courses/demo/second/"
    ]
    assert [a for a in last.named("a") if a.get("rel") == "next"] == []


def test_lesson_url_without_trailing_slash_redirects(client) -> None:
    response = client.get(LESSON.rstrip("/"))
    assert response.status_code == 308
    assert response.headers["Location"].endswith(LESSON)


@pytest.mark.parametrize(
    "path",
    [
        "/courses/nope/",
        "/courses/flask-fundamentals/nope/",
        "/courses/flask-fundamentals/course.yml",
        "/courses/flask-fundamentals/01-what-is-flask.md",
        "/courses/flask-fundamentals/../../app/config.py",
        "/courses/flask-fundamentals/..%2f..%2fapp%2fconfig.py",
        "/courses/flask-fundamentals/images/../../../app/config.png",
        "/static/../content/flask-fundamentals/course.yml",
        "/.git/HEAD",
    ],
)
def test_unknown_and_forbidden_paths_are_404(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "We couldn&#39;t find that page" in response.get_data(as_text=True)


def test_course_images_are_served_with_a_sandbox(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    files = dict(SAMPLE_COURSE)
    files.update(
        {
            "demo/images/diagram.png": png,
            "demo/images/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'><script>x</script></svg>",
            "demo/notes.txt": "not an image",
        }
    )
    client = make_app(write_content(files)).test_client()
    with client.get("/courses/demo/images/diagram.png") as response:
        assert response.status_code == 200
        assert response.data == png
        assert response.content_type == "image/png"
    with client.get("/courses/demo/images/logo.svg") as svg:
        assert svg.status_code == 200
        assert "sandbox" in svg.headers["Content-Security-Policy"]
        assert "default-src 'none'" in svg.headers["Content-Security-Policy"]
    assert client.get("/courses/demo/notes.txt").status_code == 404
    assert client.get("/courses/demo/images/missing.png").status_code == 404


def test_broken_lesson_is_404_for_learners_and_explained_in_debug(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/02-second.md"] = "---\ntitle: [oops\n---\nBody\n"
    root = write_content(files)
    learner = make_app(root).test_client()
    assert learner.get("/courses/demo/second/").status_code == 404
    assert learner.get("/courses/demo/first/").status_code == 200
    # the course skips the broken lesson: first → third
    first = Elements(learner.get("/courses/demo/first/").get_data(as_text=True))
    assert [a["href"] for a in first.named("a") if a.get("rel") == "next"] == [
        "/courses/demo/third/"
    ]

    author = make_app(root, DEBUG=True).test_client()
    response = author.get("/courses/demo/second/")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "02-second.md:3:1: error: invalid YAML in front matter" in html


def test_debug_pages_show_content_warnings(make_app: MakeApp, write_content: WriteContent) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/03-third.md"] = "---\ncolour: blue\n---\n# Third\n"
    root = write_content(files)
    warning_text = "unknown key &#39;colour&#39;"
    assert warning_text not in make_app(root).test_client().get("/courses/demo/third/").get_data(
        as_text=True
    )
    author = make_app(root, DEBUG=True).test_client()
    assert warning_text in author.get("/courses/demo/third/").get_data(as_text=True)
    assert warning_text in author.get("/").get_data(as_text=True)


def test_lesson_markdown_is_never_passed_through_jinja(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/03-third.md"] = (
        "# Templates\n\nShow {{ config.SECRET_KEY }} and {% for x in range(10**9) %}.\n\n"
        "```html+jinja\n<p>{{ name }}</p>\n```\n"
    )
    app = make_app(write_content(files), SECRET_KEY="s3cr3t-value-for-the-test")
    html = app.test_client().get("/courses/demo/third/").get_data(as_text=True)
    assert "{{ config.SECRET_KEY }}" in html
    assert "{% for x in range(10**9) %}" in html
    assert "s3cr3t-value-for-the-test" not in html


def test_json_errors_under_api(client) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "Not Found",
        "status": 404,
        "message": NotFound.description,
    }
    assert response.content_type == "application/json"


def test_json_errors_for_json_clients(client) -> None:
    response = client.get("/nothing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"] == "Not Found"


def test_method_not_allowed_keeps_allow_header(client) -> None:
    response = client.delete(LESSON)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_unexpected_error_shows_a_friendly_500_with_a_reference(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(TESTING=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom in a view")

    with caplog.at_level("ERROR"):
        response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "kaboom" not in html and "Traceback" not in html
    request_id = response.headers["X-Request-ID"]
    assert request_id in html
    assert any(request_id in record.getMessage() for record in caplog.records)


def test_healthz_reports_database_up(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def unreachable_database(tmp_path: Path) -> str:
    """A database URL that cannot be opened, of the kind the suite runs on."""
    if POSTGRES is not None:
        return "postgresql+psycopg://u:p@127.0.0.1:9/db"  # nothing listens on port 9
    return f"sqlite:///{tmp_path}/no-such-dir/sub/app.db"


def test_healthz_reports_database_down(make_app: MakeApp, tmp_path: Path) -> None:
    response = make_app(DATABASE_URL=unreachable_database(tmp_path)).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_readyz_counts_the_lessons_served_and_the_content_errors(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/04-broken.md"] = "---\ntitle: [unclosed\n---\nBody\n"
    response = make_app(write_content(files)).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "lessons": 3, "errors": 1}


def test_readyz_is_503_without_a_database_or_without_content(
    make_app: MakeApp, sample_content: Path, tmp_path: Path
) -> None:
    unreachable = unreachable_database(tmp_path)
    no_database = make_app(sample_content, DATABASE_URL=unreachable).test_client()
    response = no_database.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "lessons": 3,
        "errors": 0,
        "reasons": ["database unreachable"],
    }
    no_content = make_app(tmp_path / "no-content-here").test_client().get("/readyz")
    assert no_content.status_code == 503
    assert no_content.get_json()["reasons"] == ["content directory not found"]


def test_missing_content_dir_serves_an_empty_catalog(
    make_app: MakeApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path / "no-content-here")
    with caplog.at_level("INFO", logger="app"):
        response = app.test_client().get("/")
    assert response.status_code == 200
    assert "No courses are published yet" in response.get_data(as_text=True)
    messages = [record.getMessage() for record in caplog.records]
    assert any("content directory does not exist" in message for message in messages)


def rendered_pages(client) -> dict[str, str]:
    catalog = client.application.extensions["content"].catalog()
    paths = ["/", "/does-not-exist"]
    for course in catalog.courses:
        paths.append(f"/courses/{course.slug}/")
        paths += [f"/courses/{course.slug}/{lesson.slug}/" for lesson in course.lessons]
    return {path: client.get(path).get_data(as_text=True) for path in paths}


def test_every_page_is_csp_ready(client) -> None:
    """No inline script, no on* handler, no style attribute, on any page."""
    pages = rendered_pages(client)
    assert len(pages) >= 6
    for path, html in pages.items():
        elements = Elements(html)
        scripts = elements.named("script")
        assert scripts and all(attrs.get("src") for attrs in scripts), path
        assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None, path
        attributes = [name for name, _ in elements.all_attrs()]
        assert not [name for name in attributes if name.startswith("on")], path
        assert "style" not in attributes, path
        assert "<style" not in html, path


def test_static_assets_are_versioned_and_cached(client) -> None:
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', html)
    js = re.search(r'src="(/static/js/app\.js\?v=[0-9a-f]{12})"', html)
    assert css and js
    with client.get(css.group(1)) as versioned:
        assert versioned.status_code == 200
        assert "immutable" in versioned.headers["Cache-Control"]
    with client.get("/static/css/site.css") as plain:
        assert "immutable" not in plain.headers.get("Cache-Control", "")


def test_favicon_and_robots(client) -> None:
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 301
    with client.get(favicon.headers["Location"]) as icon:
        assert icon.content_type.startswith("image/svg+xml")
    assert client.get("/robots.txt").get_data(as_text=True).startswith("User-agent: *")


def test_canonical_link_uses_site_url(make_app: MakeApp) -> None:
    app = make_app(SITE_URL="https://learn.example.org/")
    html = app.test_client().get(LESSON + "?utm=x").get_data(as_text=True)
    assert f'<link rel="canonical" href="https://learn.example.org{LESSON}">' in html
