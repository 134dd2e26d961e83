"""Security defaults: headers and CSP, the HTTPS switch, CSRF on every write, request ids.

The headers are the same on every response, so they are built once, when the app is
made, and each response only appends them: a page pays for a list copy instead of for
composing its Content-Security-Policy again. A view with a policy of its own (course
images) is marked with ``@content_security_policy(...)``; its headers are built the
first time it answers and kept per endpoint.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, redirect, request

from app import fragments
from app.extensions import csrf

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
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS = "max-age=31536000; includeSubDomains"
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")
View = TypeVar("View", bound=Callable[..., Any])


def csp_header(policy: Mapping[str, str]) -> str:
    """``{"default-src": "'self'", "sandbox": ""}`` -> ``default-src 'self'; sandbox``."""
    return "; ".join(f"{name} {value}".rstrip() for name, value in policy.items())


def content_security_policy(policy: Mapping[str, str]) -> Callable[[View], View]:
    """Give one view its own Content-Security-Policy instead of the site's."""
    header = csp_header(policy)

    def mark(view: View) -> View:
        view.content_security_policy = header  # type: ignore[attr-defined]
        return view

    return mark


class SecurityHeaders:
    """The headers every response carries, built once per app and per special view."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.force_https = bool(app.config["FORCE_HTTPS"])
        self.site_csp = csp_header(CONTENT_SECURITY_POLICY)
        self._by_endpoint: dict[str | None, tuple[tuple[str, str], ...]] = {}

    def for_endpoint(self, endpoint: str | None) -> tuple[tuple[str, str], ...]:
        headers = self._by_endpoint.get(endpoint)
        if headers is None:
            view = self.app.view_functions.get(endpoint) if endpoint else None
            csp = getattr(view, "content_security_policy", self.site_csp)
            headers = (
                ("Permissions-Policy", "browsing-topics=()"),
                ("X-Frame-Options", "DENY"),
                ("X-Content-Type-Options", "nosniff"),
                ("Content-Security-Policy", csp),
            )
            self._by_endpoint[endpoint] = headers
        return headers


def init_app(app: Flask) -> None:
    headers = SecurityHeaders(app)
    app.extensions["security_headers"] = headers
    processors = list(app.template_context_processors[None])
    csrf.init_app(app)
    # Templates get the token from ``app.fragments.csrf_token``, which kept pages render
    # as a slot; Flask-WTF's context processor would hide that global on every render.
    app.template_context_processors[None] = processors
    app.jinja_env.globals["csrf_token"] = fragments.csrf_token
    app.before_request(_before_request)
    app.after_request(_after_request)


def no_store(response: Response) -> Response:
    """An ``after_request`` hook for one person's pages: no shared cache or browser keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def private_referrer() -> None:
    """Send no Referer from this page: its address holds a secret (a reset token)."""
    g.referrer_policy = "no-referrer"


def _arrived_over_https() -> bool:
    # A TLS-terminating proxy says so in X-Forwarded-Proto (ProxyFix, with PROXY_COUNT,
    # also makes request.is_secure true); trusting the header here can only spare a
    # redirect, never weaken a response.
    return request.is_secure or request.headers.get("X-Forwarded-Proto") == "https"


def _before_request() -> Response | None:
    """Reuse a proxy's X-Request-ID when it looks sane, so logs line up across hops."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
    if (
        current_app.extensions["security_headers"].force_https
        and not current_app.debug
        and not _arrived_over_https()
        and request.url.startswith("http://")
    ):
        return redirect("https://" + request.url[len("http://") :], code=302)
    return None


def _after_request(response: Response) -> Response:
    security = current_app.extensions["security_headers"]
    headers = response.headers
    for name, value in security.for_endpoint(request.endpoint):
        headers[name] = value
    if security.force_https and _arrived_over_https():
        headers["Strict-Transport-Security"] = HSTS
    headers["Referrer-Policy"] = g.get("referrer_policy") or REFERRER_POLICY
    request_id = g.get("request_id")
    if request_id:
        headers["X-Request-ID"] = request_id
    return response
