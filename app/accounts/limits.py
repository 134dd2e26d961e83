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
    """Wrap the account views in per-address limits; call after the blueprints are added.

    Flask-Limiter hooks itself into every request of the app, which costs a page that
    has no limit about 0.17 ms. Every limited view lives in one blueprint, so its hooks
    are moved there: other requests never run them, and the limited views keep their
    checks, headers and clean-up unchanged.
    """
    (blueprint,) = {endpoint.partition(".")[0] for endpoint in LIMITED_ENDPOINTS}
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    before = [list(registry.get(None, ())) for registry in hooks]
    limiter = Limiter(key_func=get_remote_address, app=app)
    for registry, kept in zip(hooks, before, strict=True):
        added = [hook for hook in registry.get(None, ()) if hook not in kept]
        registry[None] = kept
        registry.setdefault(blueprint, []).extend(added)
    # Requests of that blueprint that have no limit (its GET pages) skip the bookkeeping.
    limiter.request_filter(lambda: request.endpoint not in LIMITED_ENDPOINTS)
    for endpoint, key in LIMITED_ENDPOINTS.items():
        view = app.view_functions[endpoint]
        limit = limiter.limit(_setting(key), methods=["POST"], error_message=MESSAGE)
        app.view_functions[endpoint] = limit(view)


def _setting(key: str) -> Callable[[], str]:
    """The limit as Flask-Limiter reads it on each request: from the app's config."""
    return lambda: current_app.config[key]
