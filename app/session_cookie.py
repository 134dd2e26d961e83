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


class SignedSession(SecureCookieSession):
    """A session that remembers when the cookie it was read from was signed."""

    signed_at: float | None = None


class SessionCookieInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session with the two changes described above."""

    session_class = SignedSession

    def open_session(self, app: Flask, request: Request) -> SignedSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = signed_at.timestamp()
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
