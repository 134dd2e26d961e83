"""Security defaults: headers (Talisman), CSRF on every write, and request ids."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from app.extensions import csrf, talisman

# Scripts, styles, images and fonts come only from our own origin; nothing inline.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Course images may be SVG: served as documents they must not run anything.
ASSET_CONTENT_SECURITY_POLICY = {
    "default-src": "'none'",
    "style-src": "'unsafe-inline'",
    "frame-ancestors": "'none'",
    "sandbox": "",
}
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def init_app(app: Flask) -> None:
    # Registered before Talisman's hook, so it runs after it (Flask runs them in reverse).
    app.after_request(_view_referrer_policy)
    force_https = app.config["FORCE_HTTPS"]
    talisman.init_app(
        app,
        force_https=force_https,
        strict_transport_security=force_https,
        # Talisman would otherwise force SESSION_COOKIE_SECURE on; the mode decides.
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )
    csrf.init_app(app)
    app.before_request(_assign_request_id)
    app.after_request(_send_request_id)


def no_store(response: Response) -> Response:
    """An ``after_request`` hook for one person's pages: no shared cache or browser keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def private_referrer() -> None:
    """Send no Referer from this page: its address holds a secret (a reset token)."""
    g.referrer_policy = "no-referrer"


def _view_referrer_policy(response: Response) -> Response:
    policy = g.get("referrer_policy")
    if policy:
        response.headers["Referrer-Policy"] = policy
    return response


def _assign_request_id() -> None:
    """Reuse a proxy's X-Request-ID when it looks sane, so logs line up across hops."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex


def _send_request_id(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    return response
