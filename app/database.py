"""Database wiring: SQLite pragmas for concurrent workers, and a liveness probe."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, migrate


def init_app(app: Flask) -> None:
    from app import models  # noqa: F401 - registers the tables on db.metadata

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A write waiting on a lock gives up like SQLite's busy timeout does (then: 503).
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        timeout = int(app.config["DATABASE_BUSY_TIMEOUT_MS"])
        options.setdefault("connect_args", {}).setdefault("options", f"-c lock_timeout={timeout}")
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(
                    engine,
                    "connect",
                    partial(_sqlite_pragmas, app.config["DATABASE_BUSY_TIMEOUT_MS"]),
                )


def _sqlite_pragmas(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; writers wait instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def database_answers() -> bool:
    """True when a trivial query succeeds on the configured database."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def insert_ignoring_duplicates(model: Any, **values: Any) -> None:
    """INSERT a row unless a unique constraint already holds one like it (no error, no wait).

    Two requests creating the same row at once both succeed; the caller reads the row back.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing())
