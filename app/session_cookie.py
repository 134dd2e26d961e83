"""The signed cookie session: never saved on static files, re-sent at most once a day.

Flask re-signs and re-sends a permanent session's cookie with every response so that its
expiry slides forward. Guests keep a permanent session (their answers live as long as it
does), so that cost every page a signature, a compression attempt and a ``Set-Cookie``
header. Here an unchanged session is re-sent only when the cookie the browser holds was
signed more than ``SESSION_REFRESH_INTERVAL`` ago: the expiry still slides, by the day.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature
from werkzeug.wrappers import Response

VERIFIED_COOKIES = 4096  # cookies a worker remembers having verified; all go when full


class SignedSession(SecureCookieSession):
    """A session that remembers when the cookie it was read from was signed."""

    signed_at: float | None = None


class SessionCookieInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session with the two changes described above.

    A returning visitor sends the same cookie with every request until it changes: each
    worker keeps what the last ``VERIFIED_COOKIES`` cookies it verified hold, by their exact
    text, and checks only their age again. (A forged cookie is never kept: only a valid
    signature puts a cookie there, and another text is another entry.)
    """

    session_class = SignedSession

    def __init__(self) -> None:
        self._verified: dict[tuple[Any, str], tuple[dict[str, Any], float]] = {}

    def open_session(self, app: Flask, request: Request) -> SignedSession | None:
        if not app.secret_key:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        key = (app.secret_key, value)
        verified = self._verified.get(key)
        if verified is None:
            serializer = self.get_signing_serializer(app)
            assert serializer is not None  # noqa: S101 - there is a secret key
            try:
                data, signed = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
            except BadSignature:
                return self.session_class()
            if len(self._verified) >= VERIFIED_COOKIES:
                self._verified.clear()
            verified = self._verified[key] = (data, signed.timestamp())
        elif time.time() - verified[1] > max_age:  # expired since it was verified
            return self.session_class()
        data, signed_at = verified
        session = self.session_class(_fresh(data))  # the request may change what it holds
        session.signed_at = signed_at
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        if not session.permanent:
            return False
        signed_at: Any = getattr(session, "signed_at", None)
        interval = app.config["SESSION_REFRESH_INTERVAL"].total_seconds()
        return signed_at is None or time.time() - signed_at >= interval

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # Static files are the same for everyone: their responses neither vary on nor set
        # the cookie, so shared caches may keep them. (Flask-Login looks into the session
        # on every request, which would otherwise add ``Vary: Cookie`` to each.)
        if request.endpoint == "static":
            return
        super().save_session(app, session, response)


def _fresh(value: Any) -> Any:
    """A copy of a session value down to its lists and dicts (``flash`` appends in place)."""
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_fresh(item) for item in value)
    return value
