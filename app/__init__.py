"""The course platform: ``create_app`` wires configuration, extensions and features."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from app.config import load_config, resolve_mode


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory; ``config`` overrides everything else (tests use it)."""
    mode = resolve_mode(config)
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    app = Flask(
        __name__, instance_path=str(Path(instance_path).resolve()) if instance_path else None
    )
    load_config(app, mode, config)
    _configure_logging(app)

    from app import assets, cli, database, errors, quiz_types, requestlog, security, urls
    from app.accounts import cli as accounts_cli
    from app.accounts import limits, sessions
    from app.lessons import snapshots, store
    from app.session_cookie import SessionCookieInterface

    requestlog.init_app(app)
    database.init_app(app)
    security.init_app(app)
    sessions.init_app(app)
    quiz_types.init_app(app)
    store.init_app(app)
    snapshots.init_app(app)
    assets.init_app(app)
    urls.init_app(app)
    app.session_interface = SessionCookieInterface()
    errors.init_app(app)
    cli.init_app(app)
    accounts_cli.init_app(app)

    from app.accounts.views import account as account_bp
    from app.accounts.views import auth as auth_bp
    from app.instructor.views import admin as admin_bp
    from app.instructor.views import instructor as instructor_bp
    from app.lessons.views import bp as lessons_bp
    from app.progress.views import api as api_bp
    from app.progress.views import bp as progress_bp
    from app.quizzes.views import bp as quizzes_bp
    from app.site.views import bp as site_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(lessons_bp)
    app.register_blueprint(quizzes_bp)
    app.register_blueprint(progress_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(instructor_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    limits.init_app(app)
    return app


def _configure_logging(app: Flask) -> None:
    """Our loggers report at INFO unless the host (gunicorn, pytest) configured logging."""
    logger = logging.getLogger("app")
    if not logger.level:
        logger.setLevel(logging.DEBUG if app.debug else logging.INFO)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(LineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


class LineFormatter(logging.Formatter):
    """logging's own line, with the date and time of ``asctime`` formatted once a second
    rather than for each line (a line per request)."""

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if self._second[0] != second:  # one tuple: threads never see half of an update
            self._second = (second, time.strftime(self.default_time_format, self.converter(second)))
        return self.default_msec_format % (self._second[1], record.msecs)
