"""A lesson's first visit in Chromium: what it requests, from where, and how many bytes.

The server-side budget (bytes per lesson, caching, compression) is in tests/test_page_budget.py;
this checks what a real browser does with the page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Request

COURSE, LESSON = "flask-fundamentals", "testing-flask-apps"  # among the largest lesson pages
LESSON_PATH = f"/courses/{COURSE}/{LESSON}/"
MAX_ASSET_REQUESTS = 4  # besides the document (today three: stylesheet, script, favicon)
MAX_TRANSFER_BYTES = 60 * 1024  # the document and its files as sent (gzipped), headers included
ASSET_TYPES = {"stylesheet", "script", "image", "font", "media", "manifest", "other"}
TIMEOUT_MS = 10_000


def first_visit(page: Page) -> list[Request]:
    """Every request of a cold load of the lesson, once the network is quiet."""
    page.set_default_timeout(TIMEOUT_MS)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(LESSON_PATH, wait_until="networkidle")
    return requests


def assets(requests: list[Request]) -> list[Request]:
    return [request for request in requests if request.resource_type in ASSET_TYPES]


def test_first_visit_stays_on_this_host_and_is_sent_gzipped(page: Page, live_server: str) -> None:
    requests = first_visit(page)
    hosts = {urlsplit(request.url).hostname for request in requests}
    assert hosts == {"127.0.0.1"}, [request.url for request in requests]

    document = requests[0]
    assert document.resource_type == "document" and urlsplit(document.url).path == LESSON_PATH
    for request in [document, *assets(requests)]:
        response = request.response()
        assert response is not None and response.ok, request.url
        if request.resource_type in ("document", "stylesheet", "script"):
            assert response.header_value("content-encoding") == "gzip", request.url

    transferred = sum(
        sizes["responseBodySize"] + sizes["responseHeadersSize"]
        for sizes in (request.sizes() for request in [document, *assets(requests)])
    )
    assert transferred <= MAX_TRANSFER_BYTES, transferred


def test_no_script_blocks_rendering(page: Page) -> None:
    first_visit(page)
    scripts = page.eval_on_selector_all(
        "head script",
        "scripts => scripts.map(s => ({src: s.getAttribute('src'), defer: s.defer,"
        " async: s.async, type: s.type}))",
    )
    assert len(scripts) == 1, scripts  # one bundle for every page
    for script in scripts:
        assert script["src"], script  # nothing inline (the CSP forbids it anyway)
        assert script["defer"] or script["async"] or script["type"] == "module", script
    stylesheets = page.eval_on_selector_all("link[rel~='stylesheet']", "links => links.length")
    assert stylesheets == 1


def test_at_most_four_requests_besides_the_document(page: Page) -> None:
    loaded = assets(first_visit(page))
    requested = [urlsplit(request.url).path for request in loaded]
    assert len(requested) <= MAX_ASSET_REQUESTS, requested
    types = [request.resource_type for request in loaded]
    assert types.count("stylesheet") == types.count("script") == 1, requested
