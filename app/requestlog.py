"""One structured log line per request: id, who, method, path, status and duration.

The line is JSON on the ``app.request`` logger, so log tools can filter on its fields::

    {"event": "request", "request_id": "…", "user": "42", "method": "GET",
     "path": "/courses/flask-fundamentals/", "status": 200, "ms": 3.1}

``user`` is the account id, ``guest`` for a visitor without one, or ``-`` when the request
never looked at who was asking (static files): the log line never costs a user lookup
of its own. Paths that hold a secret, such as a password-reset token, are logged as
their URL rule instead.
"""

from __future__ import annotations

import json
import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger("app.request")
SECRET_VIEW_ARGS = frozenset({"token"})


def init_app(app: Flask) -> None:
    # Registered first, so its after_request runs last and sees the final status.
    app.before_request(_start_clock)
    app.after_request(_log_request)


def _start_clock() -> None:
    g.request_started = time.perf_counter()


def _who() -> str:
    user = g.get("_login_user")  # set by Flask-Login once something asked for current_user
    if user is None:
        return "-"
    # the account's id, never get_id(): that is the session token, a secret
    return str(user.id) if user.is_authenticated else "guest"


def _logged_path() -> str:
    if request.url_rule is not None and SECRET_VIEW_ARGS & set(request.view_args or ()):
        return request.url_rule.rule
    return request.path


def _log_request(response: Response) -> Response:
    started = g.get("request_started")
    milliseconds = (time.perf_counter() - started) * 1000 if started is not None else None
    line = {
        "event": "request",
        "request_id": g.get("request_id", "-"),
        "user": _who(),
        "method": request.method,
        "path": _logged_path(),
        "status": response.status_code,
        "ms": round(milliseconds, 1) if milliseconds is not None else None,
    }
    log.info("%s", json.dumps(line))
    return response
