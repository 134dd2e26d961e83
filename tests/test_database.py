"""Schema through Alembic migrations, and SQLite connection settings."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

from sqlalchemy import text

from app.extensions import db
from tests.conftest import PROJECT_ROOT, MakeApp


def test_db_upgrade_builds_the_schema_at_head(make_app: MakeApp, tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    app = make_app(DATABASE_URL=f"sqlite:///{database}")
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    heads = sorted(
        path.stem.split("_")[0] for path in (PROJECT_ROOT / "migrations" / "versions").glob("*.py")
    )
    with sqlite3.connect(database) as connection:
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert version.startswith(heads[-1])
    # running it again is a no-op
    assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0


def test_serving_applies_no_migrations(make_app: MakeApp, tmp_path: Path) -> None:
    """Schema changes come only from `flask db upgrade`: starting and serving leave no
    tables behind (not even alembic_version)."""
    database = tmp_path / "untouched.db"
    app = make_app(DATABASE_URL=f"sqlite:///{database}")
    app.test_client().get("/")
    assert not database.exists() or sqlite3.connect(database).execute(
        "SELECT count(*) FROM sqlite_master"
    ).fetchone() == (0,)


def test_no_create_all_in_the_application() -> None:
    for path in (PROJECT_ROOT / "app").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        ]
        assert "create_all" not in calls, path


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app) -> None:
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_migrations_env_uses_the_engine_directly() -> None:
    """Flask-SQLAlchemy 3 deprecates get_engine(); our env.py must not call it."""
    source = (PROJECT_ROOT / "migrations" / "env.py").read_text(encoding="utf-8")
    assert "get_engine(" not in source and "render_as_batch" in source


def test_models_and_migrations_agree(make_app: MakeApp, tmp_path: Path) -> None:
    """After `flask db upgrade` on an empty file, autogenerate finds nothing to add."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'drift.db'}")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
