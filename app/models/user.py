"""Accounts: an email, a display name, a scrypt password hash, a role.

``session_token`` is part of the id stored in the login session and the remember cookie
and is checked on every request; changing it (logout, password change, reset) ends every
session that carried the old one.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

ROLES = ("learner", "instructor", "admin")
EMAIL_LENGTH = 254  # the longest address SMTP allows
DISPLAY_NAME_LENGTH = 80
SESSION_TOKEN_BYTES = 32


def _now() -> datetime:
    return datetime.now(UTC)


def new_session_token() -> str:
    return secrets.token_urlsafe(SESSION_TOKEN_BYTES)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"  # "user" is a reserved word in PostgreSQL
    __table_args__ = (
        CheckConstraint("role IN ('learner', 'instructor', 'admin')", name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)  # lower-cased
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="learner")
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # Failed sign-ins in the window that started at ``failed_logins_since``.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_logins_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def get_id(self) -> str:
        """The login id: ``<id>:<session token>:<sign-in time>``.

        Flask-Login calls this once, at sign-in, and keeps the value in the session and
        the remember cookie; the user loader refuses it once the token has changed or the
        sign-in is older than the session lifetime.
        """
        return f"{self.id}:{self.session_token}:{int(time.time())}"

    def rotate_session_token(self) -> None:
        """End every session of this user (logout, password change, reset)."""
        self.session_token = new_session_token()
