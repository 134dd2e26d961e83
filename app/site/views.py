"""Health check, favicon and robots.txt."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect
from flask.typing import ResponseReturnValue

from app.assets import asset_url
from app.database import database_answers

bp = Blueprint("site", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers, 503 otherwise (for load balancers and Docker)."""
    if database_answers():
        return jsonify(status="ok")
    return jsonify(status="unavailable", error="database unreachable"), 503


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    return redirect(asset_url("favicon.svg"), code=301)


@bp.get("/robots.txt")
def robots() -> ResponseReturnValue:
    return Response("User-agent: *\nAllow: /\n", content_type="text/plain; charset=utf-8")
