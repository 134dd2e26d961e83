"""What search engines and link previews see: robots.txt, the sitemap, the Open Graph tags in
every page's head and the robots meta tag of private pages."""

from __future__ import annotations

from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.site.views import DISALLOWED_PATHS
from tests.account_client import Browser, add_user
from tests.conftest import SAMPLE_COURSE, MakeApp, WriteContent
from tests.test_renderer import Elements

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SITE_URL = "https://learn.example.org"
LESSON = "/courses/flask-fundamentals/what-is-flask/"
PUBLIC_PAGES = ("/", "/courses/flask-fundamentals/", LESSON, "/auth/login", "/auth/register")
OPEN_GRAPH = ("og:type", "og:site_name", "og:title", "og:url", "og:description")
# A title and summary that are markup if not escaped, in an attribute or in the page.
TRICKY_TITLE = 'Say "hi" & <b>bye</b>'
TRICKY_SUMMARY = "Quotes \" and ' and <script>alert(1)</script> & more."


def head_tags(client: FlaskClient, path: str, status: int = 200) -> Elements:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return Elements(response.get_data(as_text=True))


def metas(page: Elements, key: str, value: str) -> list[str]:
    """The content of every <meta> whose ``key`` attribute ("name", "property") is ``value``."""
    return [meta.get("content") or "" for meta in page.named("meta") if meta.get(key) == value]


def sitemap_locations(client: FlaskClient) -> list[str]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ElementTree.fromstring(response.get_data())  # noqa: S314 - ours; must be well-formed
    assert root.tag == f"{SITEMAP_NS}urlset"
    urls = root.findall(f"{SITEMAP_NS}url")
    locations = [url.findtext(f"{SITEMAP_NS}loc") or "" for url in urls]
    assert len(locations) == len(urls) == len(set(locations))
    return locations


# ---------- robots.txt ----------


def test_robots_txt_allows_the_public_pages_and_names_the_sitemap(client: FlaskClient) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.content_type == "text/plain; charset=utf-8"
    text = response.get_data(as_text=True)
    assert text.startswith("User-agent: *\n")
    assert "Sitemap: http://localhost/sitemap.xml\n" in text
    robots = RobotFileParser()
    robots.parse(text.splitlines())
    for path in (*PUBLIC_PAGES, "/sitemap.xml", "/favicon.ico"):
        assert robots.can_fetch("AnyBot", f"http://localhost{path}"), path
    for path in ("/dashboard", "/account", "/account/export", "/instructor/", "/admin/users"):
        assert not robots.can_fetch("AnyBot", f"http://localhost{path}"), path
    assert not robots.can_fetch("AnyBot", "http://localhost/auth/reset/some-token")


def test_robots_txt_keeps_crawlers_out_of_private_areas_only(client: FlaskClient) -> None:
    """Each disallowed area holds no public page: anonymous visitors are sent to sign in."""
    samples = {
        "/account": "/account",
        "/admin/": "/admin/users",
        "/dashboard": "/dashboard",
        "/instructor/": "/instructor/",
    }
    for area, path in samples.items():
        assert area in DISALLOWED_PATHS
        response = client.get(path)
        assert response.status_code == 302, path
        assert urlsplit(response.location).path == "/auth/login", path
    # The rest: the progress API (for the lesson page's scripts) and secret reset links.
    assert set(DISALLOWED_PATHS) - set(samples) == {"/api/", "/auth/reset/"}


def test_robots_txt_and_sitemap_use_the_configured_site_url(make_app: MakeApp) -> None:
    client = make_app(SITE_URL=SITE_URL + "/").test_client()
    text = client.get("/robots.txt").get_data(as_text=True)
    assert f"Sitemap: {SITE_URL}/sitemap.xml\n" in text
    locations = sitemap_locations(client)
    assert locations[0] == f"{SITE_URL}/"
    assert all(location.startswith(f"{SITE_URL}/courses/") for location in locations[1:])


# ---------- the sitemap ----------


def test_sitemap_lists_the_catalog_and_every_course_and_lesson(client: FlaskClient) -> None:
    catalog = client.application.extensions["content"].catalog()
    expected = ["http://localhost/"]
    for course in catalog.courses:
        expected.append(f"http://localhost/courses/{course.slug}/")
        expected += [f"http://localhost/courses/{course.slug}/{le.slug}/" for le in course.lessons]
    assert len(expected) > 10
    assert sitemap_locations(client) == expected


def test_every_sitemap_address_is_a_public_page(client: FlaskClient) -> None:
    for location in sitemap_locations(client):
        url = urlsplit(location)
        assert (url.scheme, url.netloc) == ("http", "localhost")
        page = head_tags(client, url.path)
        assert metas(page, "name", "robots") == [], url.path
        (canonical,) = [link for link in page.named("link") if link.get("rel") == "canonical"]
        assert canonical["href"] == location


def test_sitemap_escapes_addresses_and_leaves_out_broken_lessons(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/02-second.md"] = "---\ntitle: [oops\n---\nBody\n"  # does not load: a 404
    client = make_app(write_content(files), SITE_URL="https://learn.example.org/a&b").test_client()
    body = client.get("/sitemap.xml").get_data(as_text=True)
    assert "/a&amp;b/courses/demo/" in body
    assert sitemap_locations(client) == [
        "https://learn.example.org/a&b/",
        "https://learn.example.org/a&b/courses/demo/",
        "https://learn.example.org/a&b/courses/demo/first/",
        "https://learn.example.org/a&b/courses/demo/third/",
    ]


# ---------- Open Graph and the description ----------


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_carry_one_of_each_sharing_tag(client: FlaskClient, path: str) -> None:
    page = head_tags(client, path)
    (description,) = metas(page, "name", "description")
    (title,) = metas(page, "property", "og:title")
    (url,) = metas(page, "property", "og:url")
    for name in OPEN_GRAPH:
        assert len(metas(page, "property", name)) == 1, name
        assert metas(page, "property", name)[0].strip(), name
    assert metas(page, "name", "twitter:card") == ["summary"]
    assert metas(page, "property", "og:description") == [description]
    assert metas(page, "property", "og:site_name") == ["Learn Flask"]
    assert title.endswith("| Learn Flask")
    (canonical,) = [link for link in page.named("link") if link.get("rel") == "canonical"]
    assert url == canonical["href"] == f"http://localhost{path}"
    assert len(description) > 20
    (html,) = page.named("html")
    assert html.get("lang") == "en"
    assert metas(page, "name", "viewport") == ["width=device-width, initial-scale=1"]


def test_sharing_tags_hold_titles_and_summaries_as_escaped_text(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/01-first.md"] = (
        f"---\ntitle: '{TRICKY_TITLE}'\nsummary: >-\n  {TRICKY_SUMMARY}\n---\nText.\n"
    )
    client = make_app(write_content(files)).test_client()
    response = client.get("/courses/demo/first/")
    markup = response.get_data(as_text=True)
    head = markup.split("</head>", 1)[0]
    assert "<script>alert" not in head and "<b>bye" not in head
    page = Elements(markup)
    assert metas(page, "property", "og:title") == [f"{TRICKY_TITLE} | Demo Course | Learn Flask"]
    assert metas(page, "property", "og:description") == [TRICKY_SUMMARY]
    assert metas(page, "name", "description") == [TRICKY_SUMMARY]
    assert 'content="Say &#34;hi&#34; &amp; &lt;b&gt;bye&lt;/b&gt; | Demo Course' in head


# ---------- noindex on private pages ----------


@pytest.fixture
def site(make_app: MakeApp) -> Flask:
    return make_app(LOGIN_RATE_LIMIT="1000 per minute")


def test_private_pages_ask_search_engines_not_to_index_them(site: Flask) -> None:
    add_user(site, "learner@example.org")
    add_user(site, "teacher@example.org", role="instructor")
    learner = Browser(site)
    assert learner.login("learner@example.org").status_code == 303
    teacher = Browser(site)
    assert teacher.login("teacher@example.org").status_code == 303
    anonymous = site.test_client()
    private = [
        (learner.client, "/dashboard", 200),
        (learner.client, "/account", 200),
        (teacher.client, "/instructor/", 200),
        (teacher.client, "/instructor/flask-fundamentals/", 200),
        (learner.client, "/instructor/", 403),
        (anonymous, "/auth/forgot", 200),
        (anonymous, "/auth/reset/not-a-token", 400),
        (anonymous, "/courses/flask-fundamentals/reset", 200),
    ]
    for client, path, status in private:
        page = head_tags(client, path, status)
        assert metas(page, "name", "robots") == ["noindex"], path
    for client in (anonymous, learner.client):
        for path in PUBLIC_PAGES:
            if client is learner.client and path.startswith("/auth/"):
                continue  # signed in, these send the visitor on
            assert metas(head_tags(client, path), "name", "robots") == [], path
