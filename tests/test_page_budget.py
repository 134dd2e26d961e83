"""The lesson page's budget: what a first visit downloads, how it is cached and compressed.

Every lesson of the bundled course is measured: the HTML and the stylesheet and scripts it
references (images excluded), as stored and as sent gzipped. The figures are in README's
Performance section.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.lessons.store import catalog
from tests.conftest import migrated_app

COURSE = "flask-fundamentals"
BUDGET_BYTES = 60 * 1024  # HTML + CSS + JS of one lesson page, images excluded
STYLESHEETS = 1
SCRIPT = "/static/js/app.js"  # the one script of every page (app/scripts/, bundled)
ONE_YEAR = 365 * 24 * 3600
GZIP = {"Accept-Encoding": "gzip"}
# <link rel> values that name another page, not a file the browser downloads with this one.
PAGE_LINK_RELS = {"canonical", "alternate", "prev", "next"}
IMAGE_ELEMENTS = {"img", "picture", "source"}  # course images: outside the budget
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input",
    "link", "meta", "source", "track", "wbr",
}  # fmt: skip


class PageRefs(HTMLParser):
    """The URLs a page names: what the browser loads with it and every src and href."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.loaded: list[str] = []  # fetched with the page (stylesheet, icon, scripts), not images
        self.urls: list[tuple[str, str, bool]] = []  # (tag, url, inside the lesson prose)
        self._prose_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._record(tag, dict(attrs))
        if self._prose_depth and tag not in VOID_ELEMENTS:
            self._prose_depth += 1
        elif "prose" in (dict(attrs).get("class") or "").split():
            self._prose_depth = 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._record(tag, dict(attrs))  # <x/>: no end tag to wait for

    def handle_endtag(self, tag: str) -> None:
        if self._prose_depth and tag not in VOID_ELEMENTS:
            self._prose_depth -= 1

    def _record(self, tag: str, attrs: dict[str, str | None]) -> None:
        for name in ("src", "href"):
            if attrs.get(name):
                self.urls.append((tag, attrs[name] or "", bool(self._prose_depth)))
        rels = set((attrs.get("rel") or "").lower().split())
        if tag == "link" and attrs.get("href") and not rels & PAGE_LINK_RELS:
            self.loaded.append(attrs["href"] or "")
            if "stylesheet" in rels:
                self.stylesheets.append(attrs["href"] or "")
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"] or "")
        if attrs.get("src") and tag not in IMAGE_ELEMENTS:
            self.loaded.append(attrs["src"] or "")


@dataclass
class LessonPage:
    slug: str
    has_questions: bool
    html: bytes
    refs: PageRefs
    assets: dict[str, bytes] = field(default_factory=dict)  # CSS and JS by URL, as stored
    gzipped: dict[str, int] = field(default_factory=dict)  # page and asset URL: bytes sent

    def bytes_of(self, suffix: str) -> int:
        return sum(len(body) for url, body in self.assets.items() if _path(url).endswith(suffix))

    @property
    def total(self) -> int:
        return len(self.html) + self.bytes_of(".css") + self.bytes_of(".js")

    @property
    def total_gzipped(self) -> int:
        return sum(self.gzipped.values())

    def figures(self) -> str:
        return (
            f"{self.slug}: HTML {len(self.html)} + CSS {self.bytes_of('.css')} + "
            f"JS {self.bytes_of('.js')} = {self.total} bytes, gzipped {self.total_gzipped}"
        )


def _path(url: str) -> str:
    return urlsplit(url).path


def fetch(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> TestResponse:
    """The response, read and closed (a static file is sent from an open file)."""
    with client.get(url, headers=headers or {}) as response:
        response.get_data()
    return response


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    yield migrated_app(tmp_path_factory.mktemp("budget-instance"))


@pytest.fixture(scope="module")
def pages(app: Flask) -> list[LessonPage]:
    """Every lesson of the bundled course, largest HTML first."""
    with app.app_context():
        lessons = {
            lesson.slug: bool(lesson.questions) for lesson in catalog().course(COURSE).lessons
        }
    client = app.test_client()
    measured = []
    for slug, has_questions in lessons.items():
        path = f"/courses/{COURSE}/{slug}/"
        response = client.get(path)
        assert response.status_code == 200
        refs = PageRefs()
        refs.feed(response.get_data(as_text=True))
        page = LessonPage(slug, has_questions, response.data, refs)
        page.gzipped[path] = len(client.get(path, headers=GZIP).data)
        for url in refs.stylesheets + refs.scripts:
            page.assets[url] = fetch(client, url).data
            page.gzipped[url] = len(fetch(client, url, GZIP).data)
        measured.append(page)
    return sorted(measured, key=lambda page: len(page.html), reverse=True)


def test_every_lesson_is_measured(pages: list[LessonPage]) -> None:
    assert len(pages) >= 15
    largest = pages[0]
    assert largest.refs.stylesheets and largest.refs.scripts


@pytest.mark.xfail(
    strict=True,
    reason="over budget: lessons are 103-123 KB as stored, the HTML alone 53-73 KB, with CSS "
    "35 KB and JS 15 KB (README, Performance)",
)
def test_lesson_pages_within_the_uncompressed_budget(pages: list[LessonPage]) -> None:
    over = [page.figures() for page in pages if page.total > BUDGET_BYTES]
    assert not over, "\n".join(over)


def test_lesson_pages_within_the_budget_as_sent_gzipped(pages: list[LessonPage]) -> None:
    over = [page.figures() for page in pages if page.total_gzipped > BUDGET_BYTES]
    assert not over, "\n".join(over)


def test_one_stylesheet_and_one_script(pages: list[LessonPage]) -> None:
    for page in pages:
        assert len(page.refs.stylesheets) == STYLESHEETS, page.slug
        assert [_path(url) for url in page.refs.scripts] == [SCRIPT], page.slug


def test_static_urls_are_versioned_by_content_and_cached_for_a_year(
    app: Flask, pages: list[LessonPage]
) -> None:
    client = app.test_client()
    static = Path(app.static_folder or "")
    urls = {url for page in pages for url in page.refs.loaded if _path(url).startswith("/static/")}
    assert urls
    for url in urls:
        filename = _path(url).removeprefix("/static/")
        digest = hashlib.sha256((static / filename).read_bytes()).hexdigest()[:12]
        assert parse_qs(urlsplit(url).query).get("v") == [digest], url
        response = fetch(client, url)
        assert response.status_code == 200
        cache_control = response.cache_control
        assert cache_control.public and cache_control.immutable, url
        assert (cache_control.max_age or 0) >= ONE_YEAR, url


def test_pages_load_nothing_but_their_own_static_files(pages: list[LessonPage]) -> None:
    for page in pages:
        assert all(_path(url).startswith("/static/") for url in page.refs.loaded), page.slug


def foreign_urls(refs: PageRefs) -> list[tuple[str, str]]:
    """(tag, url) of every src and href that is neither relative nor this site's own address
    (the canonical link); plain outbound links are allowed in the lesson's prose only."""
    foreign = []
    for tag, url, in_prose in refs.urls:
        parts = urlsplit(url)
        if tag == "a" and in_prose and parts.scheme in ("http", "https"):
            continue
        same_site = parts.scheme in ("http", "https") and parts.netloc == "localhost"
        if not same_site and (parts.scheme or parts.netloc):
            foreign.append((tag, url))
    return foreign


def test_no_third_party_urls_outside_lesson_prose(pages: list[LessonPage]) -> None:
    for page in pages:
        assert not foreign_urls(page.refs), page.slug
    outbound = [url for page in pages for tag, url, prose in page.refs.urls if prose and tag == "a"]
    assert any("://" in url for url in outbound)  # the prose exception is in use


def test_foreign_urls_are_found_outside_prose() -> None:
    refs = PageRefs()
    refs.feed(
        '<head><link rel="canonical" href="http://localhost/x/">'
        '<script src="https://cdn.example/lib.js"></script>'
        '<link rel="stylesheet" href="//fonts.example/css"></head>'
        '<body><div class="prose"><p><a href="https://flask.palletsprojects.com/">docs</a>'
        '<br/><img src="https://img.example/a.png"></p></div>'
        '<a href="https://elsewhere.example/">footer</a></body>'
    )
    assert foreign_urls(refs) == [
        ("script", "https://cdn.example/lib.js"),
        ("link", "//fonts.example/css"),
        ("img", "https://img.example/a.png"),
        ("a", "https://elsewhere.example/"),
    ]


@pytest.mark.parametrize("accepted", [True, False], ids=["gzip", "identity"])
def test_page_and_assets_are_gzipped_only_when_accepted(
    app: Flask, pages: list[LessonPage], accepted: bool
) -> None:
    client = app.test_client()
    largest = pages[0]
    path = f"/courses/{COURSE}/{largest.slug}/"
    for url in [path, *largest.refs.stylesheets, *largest.refs.scripts]:
        plain = fetch(client, url)
        assert plain.status_code == 200
        assert "Content-Encoding" not in plain.headers
        if not accepted:
            assert "accept-encoding" in plain.vary
            continue
        sent = fetch(client, url, GZIP)
        assert sent.headers["Content-Encoding"] == "gzip", url
        assert "accept-encoding" in sent.vary
        assert int(sent.headers["Content-Length"]) == len(sent.data) < len(plain.data)
        if url == path:
            # Each render differs a little (CSRF token, submission ids, shuffled order
            # questions), never in its lines.
            page = gzip.decompress(sent.data)
            assert page.rstrip().endswith(b"</html>")
            assert len(page.splitlines()) == len(plain.data.splitlines())
        else:
            assert gzip.decompress(sent.data) == plain.data, url
