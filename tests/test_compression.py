"""Gzip for clients that accept it: pages, JSON and files, with caching and ranges intact."""

from __future__ import annotations

import gzip
import random
import zlib

from flask import Flask, Response
from flask.testing import FlaskClient

from app.assets import asset_url
from app.gzip_parts import gzip_page
from app.lessons.store import catalog
from tests.conftest import SAMPLE_COURSE, MakeApp, WriteContent

GZIP = {"Accept-Encoding": "gzip"}
LESSON = "/courses/flask-fundamentals/what-is-flask/"
ONE_YEAR = 365 * 24 * 3600


def versioned(app: Flask, filename: str) -> str:
    with app.test_request_context():
        return asset_url(filename)


def test_gzip_only_when_the_client_accepts_it(client: FlaskClient) -> None:
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0, br"}):
        response = client.get(LESSON, headers=headers)
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers, headers
        assert "accept-encoding" in response.vary
    response = client.get(LESSON, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] == "gzip"  # gzip is the one coding we send
    assert b"<!doctype html>" in gzip.decompress(response.data)


def test_json_is_gzipped(client: FlaskClient) -> None:
    client.get(LESSON)  # a guest with progress, so the answer is the same twice
    plain = client.get("/api/v1/progress/flask-fundamentals")
    sent = client.get("/api/v1/progress/flask-fundamentals", headers=GZIP)
    assert plain.is_json and len(plain.data) >= 500
    assert sent.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(sent.data) == plain.data
    assert sent.headers["Cache-Control"] == "no-store"


def test_small_responses_are_sent_as_they_are(app: Flask) -> None:
    client = app.test_client()
    with client.get(versioned(app, "favicon.svg"), headers=GZIP) as icon:  # under 500 bytes
        assert icon.status_code == 200
        assert "Content-Encoding" not in icon.headers
        assert "accept-encoding" in icon.vary


def test_static_files_are_gzipped_whole_with_a_content_length(app: Flask) -> None:
    client = app.test_client()
    for filename in ("css/site.css", "js/app.js"):
        url = versioned(app, filename)
        with client.get(url) as plain, client.get(url, headers=GZIP) as sent:
            assert sent.headers["Content-Encoding"] == "gzip", filename
            assert int(sent.headers["Content-Length"]) == len(sent.data) < len(plain.data)
            assert gzip.decompress(sent.data) == plain.data
            assert sent.headers["Cache-Control"] == plain.headers["Cache-Control"]
            assert sent.cache_control.immutable and sent.cache_control.max_age >= ONE_YEAR


def test_static_files_get_the_smallest_gzip_and_pages_the_quick_one(app: Flask) -> None:
    """Files are compressed once at level 9 and kept; pages at COMPRESS_LEVEL, per response."""
    client = app.test_client()
    url = versioned(app, "css/site.css")
    with client.get(url) as plain, client.get(url, headers=GZIP) as first:
        assert len(first.data) == len(gzip.compress(plain.data, 9))
    with client.get(url, headers=GZIP) as again:
        assert again.data == first.data
        assert again.headers["ETag"] == first.headers["ETag"]
    assert app.config["COMPRESS_LEVEL"] == 1
    page = client.get("/courses/flask-fundamentals/", headers=GZIP)
    html = gzip.decompress(page.data)
    assert len(page.data) == len(gzip.compress(html, 1))
    assert len(page.data) > len(gzip.compress(html, 9))


def test_course_svg_images_are_gzipped(make_app: MakeApp, write_content: WriteContent) -> None:
    svg = "<svg xmlns='http://www.w3.org/2000/svg'>" + "<rect width='1' height='1'/>" * 40
    content = write_content({**SAMPLE_COURSE, "demo/images/logo.svg": svg + "</svg>"})
    client = make_app(content).test_client()
    with client.get("/courses/demo/images/logo.svg", headers=GZIP) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.data).decode() == svg + "</svg>"
        assert "sandbox" in response.headers["Content-Security-Policy"]


def test_each_encoding_has_its_own_etag_and_revalidates(app: Flask) -> None:
    client = app.test_client()
    url = versioned(app, "css/site.css")
    with client.get(url) as plain, client.get(url, headers=GZIP) as sent:
        plain_etag, sent_etag = plain.headers["ETag"], sent.headers["ETag"]
    assert sent_etag == plain_etag[:-1] + ':gzip"'
    for headers, etag in ((GZIP, sent_etag), ({}, plain_etag)):
        with client.get(url, headers={**headers, "If-None-Match": etag}) as response:
            assert response.status_code == 304, headers
            assert response.data == b""
            assert response.cache_control.immutable
    # a copy kept as stored is still good for a client that now accepts gzip ...
    with client.get(url, headers={**GZIP, "If-None-Match": plain_etag}) as response:
        assert response.status_code == 304
    # ... but a gzipped copy is no good to one that does not: it gets the file
    with client.get(url, headers={"If-None-Match": sent_etag}) as response:
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers


def test_head_has_the_get_headers_and_no_body(app: Flask) -> None:
    client = app.test_client()
    for url in (LESSON, versioned(app, "css/site.css")):
        get = client.get(url, headers=GZIP)
        head = client.head(url, headers=GZIP)
        assert head.status_code == 200 and head.data == b""
        assert head.headers["Content-Encoding"] == "gzip"
        if url != LESSON:  # a page's length changes with its CSRF token
            assert head.headers["Content-Length"] == get.headers["Content-Length"]
        get.close()


def test_a_byte_range_is_sent_as_stored(app: Flask) -> None:
    client = app.test_client()
    url = versioned(app, "css/site.css")
    with client.get(url) as whole:
        stored = whole.data
    with client.get(url, headers={**GZIP, "Range": "bytes=10-109"}) as part:
        assert part.status_code == 206
        assert "Content-Encoding" not in part.headers
        assert part.headers["Content-Range"] == f"bytes 10-109/{len(stored)}"
        assert part.data == stored[10:110]
        assert "accept-encoding" in part.vary


def test_streamed_responses_are_left_alone(app: Flask) -> None:
    @app.get("/test-stream")
    def stream() -> Response:
        return Response((f"<p>{n}</p>\n" for n in range(200)), mimetype="text/html")

    response = app.test_client().get("/test-stream", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert response.data.count(b"<p>") == 200


def test_static_files_never_touch_the_session_cookie(app: Flask) -> None:
    """Shared caches may keep static files: no Vary: Cookie, no Set-Cookie."""
    client = app.test_client()
    page = client.get(LESSON)
    assert "session=" in page.headers["Set-Cookie"]  # a guest, with a permanent session
    assert "cookie" in page.vary
    guest_cookie = client.get_cookie("session")
    assert guest_cookie is not None
    for filename in ("css/site.css", "js/app.js", "favicon.svg"):
        for headers in ({}, GZIP):
            with client.get(versioned(app, filename), headers=headers) as response:
                assert response.status_code == 200
                assert "Set-Cookie" not in response.headers, filename
                assert "cookie" not in response.vary, filename
    again = client.get(LESSON)
    assert "cookie" in again.vary
    assert client.get_cookie("session") is not None


def test_kept_parts_are_reused_and_the_stream_is_one_valid_gzip() -> None:
    rng = random.Random(7)  # noqa: S311 - sample text, not a secret
    words = [f"word{n}" for n in range(300)]
    parts = [" ".join(rng.choice(words) for _ in range(2000)) for _ in range(3)]
    body = f"<p>before</p>{parts[0]}<p>between</p>{parts[1]}<p>after</p>".encode()
    for wanted in (parts, parts[::-1], [parts[2]], []):  # out of order, absent, none
        stream = gzip_page(body, wanted, 1)
        assert gzip.decompress(stream) == body
        reader = zlib.decompressobj(31)
        assert reader.decompress(stream) == body and reader.eof and not reader.unused_data
    # The kept parts are compressed at level 9, once: smaller than the page at level 1.
    assert len(gzip_page(body, parts, 1)) < len(gzip.compress(body, 1))
    assert gzip.decompress(gzip_page(b"", parts, 1)) == b""


def test_a_lesson_page_reuses_its_compressed_text(app: Flask) -> None:
    client = app.test_client()
    client.get(LESSON)
    sent = client.get(LESSON, headers=GZIP)
    assert sent.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in sent.vary
    assert int(sent.headers["Content-Length"]) == len(sent.data)
    reader = zlib.decompressobj(31)
    page = reader.decompress(sent.data)
    assert reader.eof and not reader.unused_data
    with app.app_context():
        lesson = catalog().course("flask-fundamentals").lesson("what-is-flask")
        assert lesson is not None
        texts = [part for part in lesson.body_parts if isinstance(part, str)]
    position = 0
    for text in texts:  # every part of the lesson's text, in order, as it is stored
        position = page.index(text.encode(), position) + len(text.encode())
    # About the size of the page at level 1: the lesson's text at level 9, but no
    # references across the seams.
    assert len(sent.data) < 1.05 * len(gzip.compress(page, 1))
