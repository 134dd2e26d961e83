"""Configuration: plain classes per mode, and the one function that reads the environment.

Order of precedence, lowest first: the mode's class, ``FLASK_*`` variables, the documented
names in ``ENV_NAMES`` (``SECRET_KEY``, ``DATABASE_URL``, ``MAIL_SERVER``, ...), then the
mapping passed to ``create_app`` (tests).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_NAMES = (
    "SECRET_KEY",
    "DATABASE_URL",
    "CONTENT_DIR",
    "FORCE_HTTPS",
    "SITE_URL",
    "RATELIMIT_STORAGE_URI",
    "MAIL_BACKEND",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "PROXY_COUNT",
)
TRUE_STRINGS = {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """The configuration cannot produce a safe, working application."""


class BaseConfig:
    SITE_NAME = "Learn Flask"
    SITE_TAGLINE = "Clear, practical lessons that teach Flask, from the first route to production."
    SITE_URL = ""  # e.g. https://learn.example.org; empty: canonical links use the request host
    CONTENT_DIR = str(PROJECT_ROOT / "content")
    CONTENT_AUTO_RELOAD: bool | None = None  # None: follow app.debug
    QUIZ_TYPES: tuple[type, ...] = ()  # question types added to the six built-in ones
    DATABASE_URL = ""  # empty: SQLite file in the instance folder
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    MAX_CONTENT_LENGTH = 1024 * 1024
    # A CSRF token lives as long as the session: a learner who reads for an hour before
    # answering must not lose the answer. The token is still bound to the session cookie.
    WTF_CSRF_TIME_LIMIT = None
    DATABASE_BUSY_TIMEOUT_MS = 5000  # how long a write waits for a locked database
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    # The instructor's course figures are computed again at most this often (seconds); 0:
    # on every view. Past that age they are still shown for INSTRUCTOR_STATS_STALE_FOR
    # seconds while new ones are computed in the background; after it, a view waits.
    INSTRUCTOR_STATS_MAX_AGE = 30
    INSTRUCTOR_STATS_STALE_FOR = 600
    # An unchanged permanent session is re-sent (its expiry moved) at most this often.
    SESSION_REFRESH_INTERVAL = timedelta(days=1)
    # Accounts (Flask-Login). A signed-in session, remembered or not, ends after 30 days.
    REMEMBER_COOKIE_NAME = "remember_token"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    # "basic": a session seen from another address or browser is no longer "fresh", so
    # changing the password or deleting the account asks for the password again.
    SESSION_PROTECTION = "basic"
    LOGIN_FAILURE_LIMIT = 100  # failed sign-ins per account per window, then 429
    LOGIN_FAILURE_WINDOW = timedelta(hours=1)
    PASSWORD_RESET_MAX_AGE = timedelta(minutes=30)
    # Per client address, per process with memory:// (use redis://... with several workers).
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "30 per minute"  # sign-in POSTs
    ACCOUNT_RATE_LIMIT = "10 per minute"  # register, forgot-password and reset POSTs
    PROXY_COUNT = 0  # trusted proxies in front of the app that set X-Forwarded-For/-Proto
    # Mail: "console" logs each message (nothing is sent); "smtp" sends it.
    MAIL_BACKEND = "console"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False  # STARTTLS on a plain connection
    MAIL_USE_SSL = False  # TLS from the start (usually port 465)
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_DEFAULT_SENDER = "Learn Flask <no-reply@localhost>"
    MAIL_TIMEOUT = 10  # seconds for each SMTP network operation
    FORCE_HTTPS = False
    # Versioned static URLs (?v=<hash>) never change content, so browsers may keep them a year.
    STATIC_IMMUTABLE_MAX_AGE = 365 * 24 * 3600
    # Flask-Compress: gzip (only) for HTML, JSON, CSS, JS and SVG of 500 bytes or more; files
    # are compressed whole by app.assets, which registers the hook itself.
    COMPRESS_ALGORITHM = "gzip"
    # Pages and JSON are compressed per response: level 1 takes a quarter of level 6's time
    # for about 15% more bytes. Static files are compressed once, at level 9 (app/assets.py).
    COMPRESS_LEVEL = 1
    COMPRESS_MIN_SIZE = 500
    # Rendered lesson pages a worker keeps per learner state (app/lessons/snapshots.py),
    # 50-90 KB each; 0 renders every page.
    LESSON_SNAPSHOT_BYTES = 4 * 1024 * 1024
    COMPRESS_STREAMS = False
    COMPRESS_REGISTER = False


class LocalConfig(BaseConfig):
    """What `make run`, the tests and the benchmarks use: plain http on 127.0.0.1."""

    APP_ENV = "local"


class ProductionConfig(BaseConfig):
    """Behind a TLS-terminating proxy on the internet."""

    APP_ENV = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


MODES: dict[str, type[BaseConfig]] = {"local": LocalConfig, "production": ProductionConfig}


def resolve_mode(overrides: Mapping[str, Any] | None) -> str:
    mode = (overrides or {}).get("APP_ENV") or os.environ.get("APP_ENV") or "local"
    if mode not in MODES:
        raise ConfigError(f"APP_ENV must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


def load_config(app: Flask, mode: str, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` for ``mode`` and check that the result is safe to run."""
    app.config.from_object(MODES[mode])
    app.config.from_prefixed_env()
    for name in ENV_NAMES:
        if name in os.environ:
            app.config[name] = os.environ[name]
    if overrides:
        app.config.from_mapping(overrides)

    for name in ("FORCE_HTTPS", "MAIL_USE_TLS", "MAIL_USE_SSL"):
        app.config[name] = _as_bool(app.config[name])
    for name in ("MAIL_PORT", "PROXY_COUNT"):
        app.config[name] = int(app.config[name])
    backend = app.config["MAIL_BACKEND"]
    if backend not in ("console", "smtp"):
        raise ConfigError(f"MAIL_BACKEND must be console or smtp; got {backend!r}")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(
        app.config["DATABASE_URL"], Path(app.instance_path)
    )
    if mode == "production":
        if app.debug:
            raise ConfigError("debug mode is refused when APP_ENV=production")
        if not app.config.get("SECRET_KEY"):
            raise ConfigError("SECRET_KEY must be set in the environment when APP_ENV=production")
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))


def database_uri(url: str, instance_path: Path) -> str:
    """SQLAlchemy URL for ``DATABASE_URL``; PostgreSQL URLs are pointed at psycopg 3."""
    if not url:
        return f"sqlite:///{instance_path / 'app.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(instance_path: Path) -> str:
    """Read the local-mode key from ``instance/secret_key``, creating it exactly once.

    The key is written to a private temporary file, then hard-linked into place:
    ``link`` fails if the name exists, so concurrent workers never see a half-written
    file and all end up reading the same key.
    """
    instance_path.mkdir(parents=True, exist_ok=True)
    target = instance_path / "secret_key"
    if not target.exists():
        tmp = instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, target)
        except FileExistsError:
            pass  # another worker won the race; use its key
        finally:
            tmp.unlink()
    return target.read_text().strip()


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUE_STRINGS
    return bool(value)
