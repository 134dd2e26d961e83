"""Per-address limits on the account forms (Flask-Limiter), one limiter per app.

``RATELIMIT_STORAGE_URI`` picks the storage: ``memory://`` (the default) counts per
process, so with several gunicorn workers use a shared one such as ``redis://``.
The per-account throttle in ``throttle.py`` needs no extra service.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# endpoint -> the config key holding its limit (applied to POSTs only)
LIMITED_ENDPOINTS = {
    "auth.login": "LOGIN_RATE_LIMIT",
    "auth.register": "ACCOUNT_RATE_LIMIT",
    "auth.forgot_password": "ACCOUNT_RATE_LIMIT",
    "auth.reset_password": "ACCOUNT_RATE_LIMIT",
}
MESSAGE = "Too many attempts from your network in a short time. Wait a minute, then try again."


def init_app(app: Flask) -> None:
    """Wrap the account views in per-address limits; call after the blueprints are added."""
    limiter = Limiter(key_func=get_remote_address, app=app)
    # Every other request skips the limiter's bookkeeping (about 0.2 ms each).
    limiter.request_filter(lambda: request.endpoint not in LIMITED_ENDPOINTS)
    for endpoint, key in LIMITED_ENDPOINTS.items():
        view = app.view_functions[endpoint]
        limit = limiter.limit(_setting(key), methods=["POST"], error_message=MESSAGE)
        app.view_functions[endpoint] = limit(view)


def _setting(key: str) -> Callable[[], str]:
    """The limit as Flask-Limiter reads it on each request: from the app's config."""
    return lambda: current_app.config[key]
