"""The per-account sign-in throttle, kept in the database so every worker shares it.

After ``LOGIN_FAILURE_LIMIT`` failed sign-ins in ``LOGIN_FAILURE_WINDOW`` the account
refuses every sign-in, the right password included, until the window has passed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import case, update

from app.extensions import db
from app.models import User


def seconds_locked(user: User) -> int:
    """How long sign-ins to ``user`` stay refused (0: not locked)."""
    since = user.failed_logins_since
    if since is None or user.failed_logins < current_app.config["LOGIN_FAILURE_LIMIT"]:
        return 0
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    ends = since + _window()
    remaining = (ends - datetime.now(UTC)).total_seconds()
    return max(0, math.ceil(remaining))


def record_failure(user: User) -> None:
    """Count one failed sign-in in a single UPDATE, so concurrent failures all count."""
    now = datetime.now(UTC)
    window_over = User.failed_logins_since.is_(None) | (User.failed_logins_since < now - _window())
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            failed_logins=case((window_over, 1), else_=User.failed_logins + 1),
            failed_logins_since=case((window_over, now), else_=User.failed_logins_since),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user, ["failed_logins", "failed_logins_since"])


def clear_failures(user: User) -> None:
    user.failed_logins = 0
    user.failed_logins_since = None


def _window() -> timedelta:
    return current_app.config["LOGIN_FAILURE_WINDOW"]
