"""Helpers for account tests: a migrated app per module, and a browser-like client
that reads CSRF tokens from the pages it fills in, as a person's browser would."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.accounts.users import create_user
from app.extensions import db
from app.models import User
from tests.conftest import migrated_app
from tests.quiz_client import Learner

__all__ = ["PASSWORD", "Browser", "add_user", "csrf_tokens", "get_user", "migrated_app"]

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(
    r'name="([\w-]*csrf_token)" type="hidden" value="([^"]+)"|'
    r'name="([\w-]*csrf_token)" value="([^"]+)"'
)


def add_user(
    app: Flask, email: str, password: str = PASSWORD, display_name: str = "", role: str = "learner"
) -> int:
    """Create an account directly (one scrypt hash); returns its id."""
    with app.app_context():
        user = create_user(email, display_name or email.split("@")[0], password, role)
        db.session.commit()
        return user.id


def get_user(app: Flask, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email.lower()))
        if user is not None:
            db.session.expunge(user)
        return user


def csrf_tokens(page: str) -> dict[str, str]:
    """Every CSRF field on a page, by name (``csrf_token``, ``profile-csrf_token``...)."""
    tokens: dict[str, str] = {}
    for match in CSRF_RE.finditer(page):
        name = match.group(1) or match.group(3)
        tokens.setdefault(name, match.group(2) or match.group(4))
    return tokens


class Browser:
    """One cookie jar; ``submit`` loads the form's page first, like a person would."""

    def __init__(self, app: Flask, **client_kwargs: Any) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client(**client_kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, **kwargs)

    def token(self, page_path: str, field: str = "csrf_token") -> str:
        page = self.client.get(page_path).get_data(as_text=True)
        tokens = csrf_tokens(page)
        assert field in tokens, f"no {field} on {page_path}"
        return tokens[field]

    def submit(
        self,
        page_path: str,
        data: dict[str, Any],
        action: str | None = None,
        csrf_field: str = "csrf_token",
        **kwargs: Any,
    ) -> TestResponse:
        """POST ``data`` (plus the page's CSRF token) to ``action`` (default: the page)."""
        payload = {csrf_field: self.token(page_path, csrf_field), **data}
        return self.client.post(action or page_path, data=payload, **kwargs)

    def learner(self) -> Learner:
        """The quiz helper, answering with this browser's cookies (guest or account)."""
        learner = Learner(self.app)
        learner.client = self.client
        return learner

    def register(
        self, email: str, password: str = PASSWORD, display_name: str = "Learner", **extra: Any
    ) -> TestResponse:
        data = {"email": email, "display_name": display_name, "password": password, **extra}
        return self.submit("/auth/register", data)

    def login(
        self, email: str, password: str = PASSWORD, remember: bool = False, next: str | None = None
    ) -> TestResponse:
        data: dict[str, Any] = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        path = "/auth/login" + (f"?next={next}" if next is not None else "")
        return self.submit(path, data)

    def logout(self) -> TestResponse:
        return self.submit("/", {}, action="/auth/logout")

    def signed_in(self) -> bool:
        """Whether the dashboard opens (rather than redirecting to sign in)."""
        return self.client.get("/dashboard").status_code == 200
