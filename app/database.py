"""Database wiring: SQLite pragmas for concurrent workers, and a liveness probe."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, migrate

SQLITE_BUSY_TIMEOUT_MS = 5000


def init_app(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; writers wait instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
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
