"""Signed-in sessions: Flask-Login wiring, signing in and out, and safe ``next`` targets.

The login id kept in the session and in the remember cookie is ``<id>:<token>:<time>``
(see ``User.get_id``). The loader refuses it when the account's session token changed
(logout, password change, reset) or when the sign-in is older than the session lifetime,
so a copied cookie stops working on the server, not only in the browser.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user
from sqlalchemy import bindparam, select
from werkzeug.middleware.proxy_fix import ProxyFix

from app.accounts.claim import claim_guest_work
from app.extensions import db, login_manager
from app.models import User
from app.quizzes.learner import GUEST_SESSION_KEY

DEFAULT_NEXT = "/dashboard"


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.needs_refresh_message = "For your security, enter your password again."
    login_manager.needs_refresh_message_category = "info"
    login_manager.user_loader(load_user)
    login_manager.needs_refresh_handler(_needs_refresh)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]


# Built once: every signed-in request loads its account (Session.get builds its query anew).
_USER_BY_ID = select(User).where(User.id == bindparam("id"))


def load_user(login_id: str) -> User | None:
    """The account for a login id, or None when it was signed out, reset or is too old."""
    user_id, _, rest = login_id.partition(":")
    token, _, signed_in_at = rest.partition(":")
    if not (user_id.isdigit() and signed_in_at.isdigit() and token):
        return None
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    if time.time() - int(signed_in_at) > lifetime:
        return None
    user = db.session.execute(_USER_BY_ID, {"id": int(user_id)}).scalar_one_or_none()
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def sign_in(user: User, remember: bool = False) -> None:
    """Start a fresh session for ``user`` and move the visitor's guest work to the account.

    The old session is cleared first, so nothing set before signing in (including the
    guest id, now retired) survives into the signed-in session. The caller commits.
    """
    guest_id = session.get(GUEST_SESSION_KEY)
    session.clear()
    login_user(user, remember=remember, fresh=True)
    if isinstance(guest_id, str):
        claim_guest_work(guest_id, user.id)


def sign_out(user: User | None) -> None:
    """End every session of ``user``: the token that all its cookies carry is replaced."""
    if user is not None:
        user.rotate_session_token()
    session.clear()
    logout_user()  # after clear(): it asks for the remember cookie to be deleted


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the dashboard.

    Refused: absolute and scheme-relative URLs (``https://x``, ``//x``), backslashes
    (browsers read ``/\\x`` as ``//x``), control or space characters (``/%09/x``), and
    anything that decodes into one of those.
    """
    if not target:
        return DEFAULT_NEXT
    for candidate in (target, unquote(target)):
        if not candidate.startswith("/") or candidate.startswith("//"):
            return DEFAULT_NEXT
        if "\\" in candidate or any(_unsafe(char) for char in candidate):
            return DEFAULT_NEXT
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return DEFAULT_NEXT
    return target


def _unsafe(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs")


def _needs_refresh() -> ResponseReturnValue:
    """Send a stale session to sign in again, then back to the page (never to a POST URL)."""
    flash(login_manager.needs_refresh_message, login_manager.needs_refresh_message_category)
    back = request.full_path.rstrip("?") if request.method == "GET" else url_for("account.settings")
    return redirect(url_for("auth.login", next=back))
