"""Health and readiness checks, favicon and robots.txt."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect
from flask.typing import ResponseReturnValue

from app.assets import asset_url
from app.database import database_answers
from app.lessons.store import content_store

bp = Blueprint("site", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers, 503 otherwise (for load balancers and Docker)."""
    if database_answers():
        return jsonify(status="ok")
    return jsonify(status="unavailable", error="database unreachable"), 503


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """200 once this process can serve learners: the database answers and the content is loaded.

    ``lessons`` counts the lessons being served and ``errors`` the content problems that
    keep a lesson file from loading (the other lessons still serve). When not ready,
    ``reasons`` says why, and the answer is 503 so a load balancer holds traffic back.
    """
    store = content_store()
    reasons = []
    if not database_answers():
        reasons.append("database unreachable")
    lessons = errors = 0
    if not store.content_dir.is_dir():
        reasons.append("content directory not found")
    else:
        catalog = store.catalog()
        lessons = sum(len(course.lessons) for course in catalog.courses)
        errors = len(catalog.errors)
    if reasons:
        body = {"status": "unavailable", "lessons": lessons, "errors": errors, "reasons": reasons}
        return jsonify(body), 503
    return jsonify(status="ready", lessons=lessons, errors=errors)


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    return redirect(asset_url("favicon.svg"), code=301)


@bp.get("/robots.txt")
def robots() -> ResponseReturnValue:
    return Response("User-agent: *\nAllow: /\n", content_type="text/plain; charset=utf-8")
