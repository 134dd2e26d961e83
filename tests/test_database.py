"""Schema through Alembic migrations, and the connection settings of each database."""

from __future__ import annotations

import ast
import shutil
from itertools import pairwise
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import inspect, text

from app.extensions import db
from tests.conftest import POSTGRES, PROJECT_ROOT, MakeApp
from tests.quiz_client import Learner, correct_answer


def test_db_upgrade_builds_the_schema_at_head(make_app: MakeApp, empty_database_url: str) -> None:
    app = make_app(DATABASE_URL=empty_database_url)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    heads = sorted(
        path.stem.split("_")[0] for path in (PROJECT_ROOT / "migrations" / "versions").glob("*.py")
    )
    with app.app_context():
        version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    assert version.startswith(heads[-1])
    # running it again is a no-op
    assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0


def test_serving_applies_no_migrations(make_app: MakeApp, empty_database_url: str) -> None:
    """Schema changes come only from `flask db upgrade`: starting and serving leave no
    tables behind (not even alembic_version)."""
    app = make_app(DATABASE_URL=empty_database_url)
    app.test_client().get("/")
    with app.app_context(), db.engine.connect() as connection:
        assert inspect(connection).get_table_names() == []


def test_no_create_all_in_the_application() -> None:
    for path in (PROJECT_ROOT / "app").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        ]
        assert "create_all" not in calls, path


def test_connections_wait_for_locks_for_the_busy_timeout(app) -> None:
    """SQLite: WAL synced at checkpoints, busy_timeout, foreign keys; PostgreSQL: lock_timeout."""
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        else:
            assert connection.execute(text("SHOW lock_timeout")).scalar() == "5s"


@pytest.mark.parametrize("kind", ["user", "guest"])
def test_a_learners_attempts_are_found_through_their_own_indexes(app, kind: str) -> None:
    """SQLite's plans for the statements of a page and an answer: every read of attempts
    seeks in the learner's own indexes (partial, per kind of learner); none scans the
    table or sorts attempts."""
    from app.lessons.snapshots import _state_statement
    from app.quizzes.services import _attempts, _insert_attempt

    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            pytest.skip("SQLite query plans")
        statements = {
            "insert": _insert_attempt(kind, "sqlite"),
            "activity": _attempts(kind, 3),
            "state": _state_statement(kind),
        }
        own = (f"INDEX ix_quiz_attempt_{kind}_lesson ", f"INDEX ix_quiz_attempt_{kind}_order ")
        for name, prepared in statements.items():
            compiled = prepared.statement.compile(dialect=connection.dialect)
            sql = f"EXPLAIN QUERY PLAN {compiled}"
            blanks = (None,) * len(compiled.positiontup)
            plan = [row[-1] for row in connection.exec_driver_sql(sql, blanks)]
            reads = [s for s in plan if "quiz_attempt" in s]
            assert reads, (name, plan)
            for step in reads:
                assert step.startswith("SEARCH") and any(i in step for i in own), (name, plan)
            sorts = [step for step in plan if "TEMP B-TREE" in step]
            assert len(sorts) == (1 if name == "state" else 0), (name, plan)  # progress rows


def test_migrations_env_uses_the_engine_directly() -> None:
    """Flask-SQLAlchemy 3 deprecates get_engine(); our env.py must not call it."""
    source = (PROJECT_ROOT / "migrations" / "env.py").read_text(encoding="utf-8")
    assert "get_engine(" not in source and "render_as_batch" in source


def test_models_and_migrations_agree(make_app: MakeApp, empty_database_url: str) -> None:
    """After `flask db upgrade` on an empty database, autogenerate finds nothing to add."""
    app = make_app(DATABASE_URL=empty_database_url)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_revision_ids_fit_the_version_table() -> None:
    """Alembic keeps the revision id in a VARCHAR(32): PostgreSQL refuses a longer one,
    while SQLite would store it."""
    versions = PROJECT_ROOT / "migrations" / "versions"
    ids = {}
    for path in sorted(versions.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "revision":
                ids[path.name] = ast.literal_eval(node.value)
    assert len(ids) >= 7
    assert {name: rid for name, rid in ids.items() if len(rid) > 32} == {}


def row_counts(app: Flask) -> dict[str, int]:
    """Rows in every table of the app's database."""
    with app.app_context(), db.engine.connect() as connection:
        names = sorted(inspect(connection).get_table_names())
        return {
            name: connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()  # noqa: S608 - names from the schema
            for name in names
        }


@pytest.mark.sqlite_only("db-backup copies SQLite files through SQLite's backup API")
def test_db_backup_restores_into_a_fresh_instance_with_every_row(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "ada@example.com"]).exit_code == 0
    learner = Learner(app)
    lesson = learner.lesson("what-is-flask")
    for spec in lesson.questions[:3]:
        assert learner.post_form("what-is-flask", spec, correct_answer(spec)).status_code == 303
    before = row_counts(app)
    assert before["user_account"] == 1 and before["quiz_attempt"] == 3

    backup = tmp_path / "backups" / "site.db"
    backup.parent.mkdir()
    result = runner.invoke(args=["db-backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert f"to {backup}: " in result.output and "(integrity ok)" in result.output
    assert [p.name for p in backup.parent.iterdir()] == ["site.db"]  # no partial file left

    fresh = tmp_path / "restored"
    fresh.mkdir()
    shutil.copyfile(backup, fresh / "app.db")
    restored = make_app(instance=fresh)
    assert row_counts(restored) == before
    assert restored.test_client().get("/readyz").status_code == 200


@pytest.mark.sqlite_only("db-backup copies SQLite files through SQLite's backup API")
def test_db_backup_never_overwrites(make_app: MakeApp, tmp_path: Path) -> None:
    runner = make_app().test_cli_runner()
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"keep me")
    result = runner.invoke(args=["db-backup", str(taken)])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert taken.read_bytes() == b"keep me"
    missing_dir = runner.invoke(args=["db-backup", str(tmp_path / "nope" / "x.db")])
    assert missing_dir.exit_code == 2 and "is not a directory" in missing_dir.output


def test_db_backup_names_pg_dump_for_postgresql(make_app: MakeApp, tmp_path: Path) -> None:
    if POSTGRES is not None:
        postgres = make_app()
    else:
        postgres = make_app(DATABASE_URL="postgresql+psycopg://u:p@127.0.0.1:9/db")
    result = postgres.test_cli_runner().invoke(args=["db-backup", str(tmp_path / "pg.db")])
    assert result.exit_code == 2
    assert "pg_dump" in result.output
    assert not (tmp_path / "pg.db").exists()


def _schema(app: Flask) -> dict[str, object]:
    """Every table's columns, indexes (with their partial WHERE) and unique constraints."""
    with app.app_context():
        found = inspect(db.engine)
        schema: dict[str, object] = {
            table: (
                sorted(column["name"] for column in found.get_columns(table)),
                sorted(
                    (
                        index["name"],
                        tuple(index["column_names"]),
                        bool(index["unique"]),
                        str(
                            sorted(f"{k}={v}" for k, v in index.get("dialect_options", {}).items())
                        ),
                    )
                    for index in found.get_indexes(table)
                ),
                sorted(
                    str(unique["column_names"]) for unique in found.get_unique_constraints(table)
                ),
            )
            for table in found.get_table_names()
        }
        db.engine.dispose()
    return schema


def test_each_migration_downgrades_to_the_schema_before_it(
    make_app: MakeApp, empty_database_url: str
) -> None:
    app = make_app(DATABASE_URL=empty_database_url)
    runner = app.test_cli_runner()
    revisions = sorted(
        path.stem for path in (PROJECT_ROOT / "migrations" / "versions").glob("0*.py")
    )
    before = {}
    for revision in revisions:
        result = runner.invoke(args=["db", "upgrade", revision])
        assert result.exit_code == 0, result.output
        before[revision] = _schema(app)
    for previous, revision in reversed(list(pairwise(revisions))):
        result = runner.invoke(args=["db", "downgrade", previous])
        assert result.exit_code == 0, result.output
        assert _schema(app) == before[previous], f"{revision} downgraded"
