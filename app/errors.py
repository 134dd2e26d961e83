"""App-wide error pages: JSON under /api/ (or for JSON clients), friendly HTML elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from app.extensions import db

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 2  # a busy database usually frees up within a second or two
CSRF_MESSAGE = (
    "The page you sent this from has expired or is missing its security token. "
    "Reload the page and try again; nothing was saved."
)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(OperationalError, handle_database_busy)


def wants_json() -> bool:
    """JSON for the API, for JSON request bodies and when ``Accept`` prefers JSON to HTML."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def handle_http_error(error: HTTPException) -> Response:
    response = error.get_response()  # keeps headers such as Allow on 405
    code = error.code or 500
    if wants_json():
        body = jsonify(error=error.name, status=code, message=error.description)
        response.set_data(body.get_data())
        response.content_type = "application/json"
        return response
    response.set_data(
        render_template("errors/error.html", error=error, code=code, back_to=_lesson_url())
    )
    response.content_type = "text/html; charset=utf-8"
    return response


def handle_server_error(error: InternalServerError) -> Response:
    """Roll back, log with the request id, and show only that id to the visitor."""
    db.session.rollback()
    request_id = g.get("request_id", "-")
    original = error.original_exception or error
    log.error(
        "request %s failed: %s %s", request_id, request.method, request.path, exc_info=original
    )
    if wants_json():
        response = jsonify(error=error.name, status=500, request_id=request_id)
        response.status_code = 500
        return response
    html = render_template("errors/error.html", error=error, code=500, request_id=request_id)
    return Response(html, status=500, content_type="text/html; charset=utf-8")


def handle_csrf_error(error: CSRFError) -> Response:
    log.info("refused %s %s: %s", request.method, request.path, error.description)
    return handle_http_error(CSRFError(CSRF_MESSAGE))


def handle_database_busy(error: OperationalError) -> Response:
    """The database stayed locked (or unreachable) past its timeout: nothing was stored."""
    db.session.rollback()
    log.warning("database busy on %s %s: %s", request.method, request.path, error.orig)
    response = handle_http_error(
        ServiceUnavailable("The site is busy right now. Nothing was saved; try again in a moment.")
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _lesson_url() -> str | None:
    """For a request aimed at a lesson (or one of its questions), the lesson's address."""
    args = request.view_args or {}
    if "course_slug" in args and "lesson_slug" in args:
        return url_for(
            "lessons.lesson_page", course_slug=args["course_slug"], lesson_slug=args["lesson_slug"]
        )
    return None
