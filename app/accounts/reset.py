"""One-time password reset links, valid ``PASSWORD_RESET_MAX_AGE`` (30 minutes).

A token is signed with ``SECRET_KEY`` and carries the account id and a fingerprint of
the current password hash. Setting a password changes the hash, so a used link (and any
other link made before) stops working: no table of issued tokens is needed.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.extensions import db
from app.models import User

SALT = "password-reset"
LOCAL_SITE_URL = "http://127.0.0.1:5000"  # for links printed by the CLI with no SITE_URL


def reset_token(user: User) -> str:
    return _serializer().dumps([user.id, _fingerprint(user)])


def user_for_token(token: str) -> User | None:
    """The account a valid, unused, unexpired token belongs to."""
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"].total_seconds()
    try:
        user_id, fingerprint = _serializer().loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        return None
    user = db.session.get(User, user_id)
    if user is None or not secrets.compare_digest(_fingerprint(user), fingerprint):
        return None
    return user


def reset_url(user: User) -> str:
    """The absolute link, on ``SITE_URL`` when set (never on a Host header alone in mail)."""
    token = reset_token(user)
    site_url = current_app.config["SITE_URL"].rstrip("/")
    if site_url and has_request_context():
        return site_url + url_for("auth.reset_password", token=token)
    if has_request_context():
        return url_for("auth.reset_password", token=token, _external=True)
    with current_app.test_request_context(base_url=site_url or LOCAL_SITE_URL):
        return url_for("auth.reset_password", token=token, _external=True)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]
