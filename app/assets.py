"""Static assets: cache-busting URLs (``?v=<hash>``), long caching, compression, the built
stylesheet and script.

Responses are gzipped (Flask-Compress) for clients that send ``Accept-Encoding: gzip``:
HTML, JSON, CSS, JavaScript and SVG of at least ``COMPRESS_MIN_SIZE`` bytes, always with
``Vary: Accept-Encoding``. Pages at the quick ``COMPRESS_LEVEL``; static files once per
version at the highest level, kept in memory. A compressed file keeps a strong ETag of its
own (``"<etag>:gzip"``), so conditional requests still end in 304. Static files never touch
the session cookie, so shared caches may keep them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache, partial
from pathlib import Path

import click
import rcssmin
import rjsmin
from flask import Flask, Response, current_app, request, url_for
from flask_compress import Compress

from app.content.highlight import pygments_css
from app.gzip_parts import gzip_page, kept_parts

STYLE_SOURCE = Path(__file__).parent / "styles" / "site.css"
STYLE_OUTPUT = Path(__file__).parent / "static" / "css" / "site.css"
# The one script of every page, in this order; each part starts only where its elements are.
SCRIPT_SOURCES = tuple(
    Path(__file__).parent / "scripts" / name for name in ("site.js", "progress.js", "quiz.js")
)
SCRIPT_OUTPUT = Path(__file__).parent / "static" / "js" / "app.js"


def init_app(app: Flask) -> None:
    app.add_template_global(asset_url)
    app.add_template_global(canonical_url)
    app.after_request(_cache_versioned_static)
    # Registered after the hook above, so it runs first: a 304 that compression's conditional
    # check makes still gets the versioned file's Cache-Control.
    app.after_request(partial(_compress, Compress(app)))
    app.cli.add_command(assets_cli)


def asset_url(filename: str) -> str:
    """URL of a static file with a content hash, so a changed file gets a new URL."""
    path = os.path.join(current_app.static_folder or "", filename)
    return _versioned_url(filename, path, os.stat(path).st_mtime_ns, request.script_root)


@lru_cache(maxsize=256)
def _versioned_url(filename: str, path: str, _mtime_ns: int, _script_root: str) -> str:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return url_for("static", filename=filename, v=digest)


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
        if request.endpoint == "static":
            return _gzip_static_file(response)
    parts = kept_parts()
    if parts and response.status_code == 200 and not response.is_streamed:
        return _gzip_with_kept_parts(response, parts)
    return compress.after_request(response)


def _gzip_with_kept_parts(response: Response, parts: Sequence[str]) -> Response:
    """A page whose unchanging parts were compressed once (``app.gzip_parts``)."""
    response.set_data(gzip_page(response.get_data(), parts, current_app.config["COMPRESS_LEVEL"]))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def _gzip_static_file(response: Response) -> Response:
    """A static file, gzipped once per worker and version at the highest level.

    Pages are compressed per response at the quick ``COMPRESS_LEVEL``; a static file is the
    same bytes for everyone until it changes (its ETag changes with it), so the smallest
    encoding is worth computing once and keeping.
    """
    etag, _ = response.get_etag()
    key = (request.path, etag or "")
    body = _static_gzip.get(key)
    if body is None:
        if len(_static_gzip) >= STATIC_GZIP_ENTRIES:
            _static_gzip.clear()
        body = _static_gzip[key] = gzip.compress(response.get_data(), 9, mtime=0)
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    if etag:
        response.set_etag(f"{etag}:gzip")
    return response.make_conditional(request)


STATIC_GZIP_ENTRIES = 256
_static_gzip: dict[tuple[str, str], bytes] = {}


def build_stylesheet() -> str:
    """The one site stylesheet, minified: our rules followed by the Pygments token colours."""
    source = STYLE_SOURCE.read_text(encoding="utf-8") + "\n" + pygments_css()
    header = "/* Generated by `flask assets build` from app/styles/site.css and Pygments. */\n"
    return header + rcssmin.cssmin(source) + "\n"


def build_script() -> str:
    """The one site script, minified: app/scripts/*.js, each part in its own function scope."""
    names = ", ".join(path.name for path in SCRIPT_SOURCES)
    parts = [rjsmin.jsmin(path.read_text(encoding="utf-8")) for path in SCRIPT_SOURCES]
    header = f"/* Generated by `flask assets build` from app/scripts/ ({names}). */\n"
    return header + ";\n".join(parts) + "\n"


@click.group("assets")
def assets_cli() -> None:
    """Build static assets."""


@assets_cli.command("build")
@click.pass_context
def build_all(ctx: click.Context) -> None:
    """Write the stylesheet and the script (build-css and build-js)."""
    ctx.invoke(build_css)
    ctx.invoke(build_js)


@assets_cli.command("build-css")
def build_css() -> None:
    """Write app/static/css/site.css from app/styles/site.css and the Pygments styles."""
    _write(STYLE_OUTPUT, build_stylesheet())


@assets_cli.command("build-js")
def build_js() -> None:
    """Write app/static/js/app.js from the scripts in app/scripts/."""
    _write(SCRIPT_OUTPUT, build_script())


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"wrote {path}")
