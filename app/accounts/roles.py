"""Who may see what: instructors and admins see course statistics and authoring errors;
only admins manage accounts."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app
from flask_login import current_user

from app.extensions import login_manager

STAFF_ROLES = ("instructor", "admin")
ADMIN_ROLES = ("admin",)


def has_role(*roles: str) -> bool:
    return bool(current_user.is_authenticated and current_user.role in roles)


def sees_authoring_errors() -> bool:
    """Content errors are shown in debug mode, and to instructors and admins always."""
    return bool(current_app.debug) or has_role(*STAFF_ROLES)


def require_role(*roles: str) -> Callable[[], object]:
    """A ``before_request`` guard: anonymous visitors sign in first, others get 403."""

    def guard() -> object:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            who = "admins" if set(roles) <= set(ADMIN_ROLES) else "course staff"
            abort(403, description=f"This page is for {who} only.")
        return None

    return guard
