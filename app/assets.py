"""Static assets: cache-busting URLs (``?v=<hash>``), long caching, compression, the stylesheet.

Responses are gzipped (Flask-Compress) for clients that send ``Accept-Encoding: gzip``:
HTML, JSON, CSS, JavaScript and SVG of at least ``COMPRESS_MIN_SIZE`` bytes, always with
``Vary: Accept-Encoding``. A compressed file keeps a strong ETag of its own (``"<etag>:gzip"``),
so conditional requests still end in 304. Static files never touch the session cookie, so
shared caches may keep them.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache, partial
from pathlib import Path

import click
from flask import Flask, Response, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_compress import Compress

from app.content.highlight import pygments_css

STYLE_SOURCE = Path(__file__).parent / "styles" / "site.css"
STYLE_OUTPUT = Path(__file__).parent / "static" / "css" / "site.css"


def init_app(app: Flask) -> None:
    app.add_template_global(asset_url)
    app.add_template_global(canonical_url)
    app.after_request(_cache_versioned_static)
    # Registered after the hook above, so it runs first: a 304 that compression's conditional
    # check makes still gets the versioned file's Cache-Control.
    app.after_request(partial(_compress, Compress(app)))
    app.session_interface = StaticFilesSkipSessionInterface()
    app.cli.add_command(assets_cli)


def asset_url(filename: str) -> str:
    """URL of a static file with a content hash, so a changed file gets a new URL."""
    path = Path(current_app.static_folder or "") / filename
    return url_for("static", filename=filename, v=_file_hash(str(path), os.stat(path).st_mtime_ns))


@lru_cache(maxsize=256)
def _file_hash(path: str, _mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def canonical_url() -> str:
    """This page's address without query string, on ``SITE_URL`` when it is configured."""
    site_url = current_app.config["SITE_URL"].rstrip("/")
    if site_url:
        return site_url + request.path
    return request.base_url


def _cache_versioned_static(response: Response) -> Response:
    # A 304 carries the same Cache-Control, so the browser keeps the file for another year.
    if (
        request.endpoint == "static"
        and request.args.get("v")
        and response.status_code in (200, 304)
    ):
        max_age = current_app.config["STATIC_IMMUTABLE_MAX_AGE"]
        response.headers["Cache-Control"] = f"public, max-age={max_age}, immutable"
    return response


def _compress(compress: Compress, response: Response) -> Response:
    """Flask-Compress's hook, for whole files too and never for a byte range."""
    # Content-Range counts the stored bytes: a range is sent as stored, never gzipped. And
    # "gzip;q=0" refuses gzip, which Flask-Compress 1.25 would still choose.
    if response.status_code == 206 or not request.accept_encodings["gzip"]:
        response.vary.add("Accept-Encoding")
        return response
    if (
        response.direct_passthrough
        and response.status_code == 200
        and response.mimetype in compress.compress_mimetypes_set
        and (response.content_length or 0) >= current_app.config["COMPRESS_MIN_SIZE"]
    ):
        # send_file hands the server a file wrapper, a stream that Flask-Compress leaves
        # alone (COMPRESS_STREAMS is off); read into memory, the file is compressed, gets a
        # Content-Length and its ETag and conditional headers are checked again.
        file = response.response
        try:
            body = b"".join(response.iter_encoded())
        finally:
            if hasattr(file, "close"):
                file.close()
        response.direct_passthrough = False
        response.set_data(body)
    return compress.after_request(response)


class StaticFilesSkipSessionInterface(SecureCookieSessionInterface):
    """The signed cookie session, never saved on static file responses.

    Flask-Login's after-request hook looks into the session on every request, which made
    Flask add ``Vary: Cookie`` to every response and re-send a permanent (guest) session's
    cookie with each stylesheet and script: no shared cache could keep them. A static file
    is the same for everyone, so its response neither varies on nor sets the cookie.
    """

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.endpoint == "static":
            return
        super().save_session(app, session, response)


def build_stylesheet() -> str:
    """The one site stylesheet: our rules followed by the Pygments token colours."""
    return STYLE_SOURCE.read_text(encoding="utf-8") + "\n" + pygments_css()


@click.group("assets")
def assets_cli() -> None:
    """Build static assets."""


@assets_cli.command("build-css")
def build_css() -> None:
    """Write app/static/css/site.css from app/styles/site.css and the Pygments styles."""
    STYLE_OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    STYLE_OUTPUT.write_text(build_stylesheet(), encoding="utf-8")
    click.echo(f"wrote {STYLE_OUTPUT}")
