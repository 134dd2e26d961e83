"""Database wiring: SQLite pragmas for concurrent workers, a liveness probe, backups."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
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
    app.cli.add_command(db_backup)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(
                    engine,
                    "connect",
                    partial(_sqlite_pragmas, app.config["DATABASE_BUSY_TIMEOUT_MS"]),
                )


def _sqlite_pragmas(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; writers wait instead of failing.

    With WAL, ``synchronous=NORMAL`` syncs the log to disk at checkpoints rather than at
    every commit: a crash of the app loses nothing, a power cut may lose the last
    commits but never corrupts the file. A commit costs microseconds instead of an fsync.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
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


@click.command("db-backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def db_backup(path: Path) -> None:
    """Copy the SQLite database to PATH while the site keeps serving.

    Uses SQLite's online backup API: a consistent snapshot even while workers write. The
    copy is written next to PATH and renamed into place, so PATH is never half-written,
    and an existing PATH is never overwritten. For PostgreSQL, use pg_dump.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise click.UsageError(
            f"db-backup copies SQLite databases; this site uses {engine.dialect.name}. "
            "Back it up with pg_dump, for example: pg_dump --format=custom --file=PATH DBNAME"
        )
    if path.exists():
        raise click.UsageError(f"{path} already exists; choose a new file name")
    if not path.parent.is_dir():
        raise click.UsageError(f"{path.parent} is not a directory")
    partial_path = path.with_name(f".{path.name}.partial")
    started = time.perf_counter()
    try:
        with (
            closing(engine.raw_connection()) as source,
            closing(sqlite3.connect(partial_path)) as target,
        ):
            source.driver_connection.backup(target)
            (integrity,) = target.execute("PRAGMA integrity_check").fetchone()
            (tables,) = target.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
        if integrity != "ok":
            raise click.ClickException(f"the copy failed its integrity check: {integrity}")
    except BaseException:
        partial_path.unlink(missing_ok=True)  # nothing half-written is left behind
        raise
    os.replace(partial_path, path)
    milliseconds = (time.perf_counter() - started) * 1000
    size_kib = path.stat().st_size / 1024
    click.echo(
        f"backed up {engine.url.database} to {path}: {tables} tables, "
        f"{size_kib:.0f} KiB in {milliseconds:.0f} ms (integrity ok)"
    )
