"""App-wide error pages: JSON under /api/ (or for JSON clients), friendly HTML elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_server_error)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
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
    response.set_data(render_template("errors/error.html", error=error, code=code))
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
