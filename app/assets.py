"""Static assets: cache-busting URLs (``?v=<hash>``), long caching, the generated stylesheet."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import click
from flask import Flask, Response, current_app, request, url_for

from app.content.highlight import pygments_css

STYLE_SOURCE = Path(__file__).parent / "styles" / "site.css"
STYLE_OUTPUT = Path(__file__).parent / "static" / "css" / "site.css"


def init_app(app: Flask) -> None:
    app.add_template_global(asset_url)
    app.add_template_global(canonical_url)
    app.after_request(_cache_versioned_static)
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
    if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
        max_age = current_app.config["STATIC_IMMUTABLE_MAX_AGE"]
        response.headers["Cache-Control"] = f"public, max-age={max_age}, immutable"
    return response


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
