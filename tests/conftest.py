"""Shared fixtures: apps built by the real factory on temporary instance folders."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app import create_app
from app.config import ENV_NAMES
from app.extensions import db
from tests.postgres import TEST_DATABASE_URL, Databases, dispose

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CONTENT = PROJECT_ROOT / "content"
# A frozen copy of the course's first three lessons, for tests whose expected figures depend on
# the lessons and their questions (progress percentages, instructor statistics): rewriting the
# bundled course must never change what those tests know by heart.
SNAPSHOT_CONTENT = PROJECT_ROOT / "tests" / "data" / "snapshot-course"

MakeApp = Callable[..., Flask]
WriteContent = Callable[[dict[str, str | bytes]], Path]


# Settings a developer's shell may export that would change the app under test.
APP_ENV_NAMES = ("APP_ENV", "INSTANCE_PATH", "FLASK_DEBUG", *ENV_NAMES)


def isolated_app(settings: dict[str, Any]) -> Flask:
    """``create_app(settings)`` with the developer's environment cleared first.

    For fixtures wider than one test, which run before the per-test cleaner below.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in APP_ENV_NAMES:
            patch.delenv(name, raising=False)
        return create_app(settings)


def migrated_app(instance: Path, **config: Any) -> Flask:
    """A real app on the instance's database, schema from the Alembic migrations.

    The database is the instance's SQLite file, or on PostgreSQL its own database.
    """
    settings: dict[str, Any] = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "CONTENT_DIR": str(BUNDLED_CONTENT),
    }
    settings.update(config)
    if POSTGRES is not None and not settings.get("DATABASE_URL"):
        settings["DATABASE_URL"] = instance_database_url(instance)
    app = isolated_app(settings)
    if POSTGRES is not None:
        POSTGRES.track(app)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return app


# ---------- PostgreSQL mode (TEST_DATABASE_URL; see tests/postgres.py) ----------


def _migrate_template(url: str) -> None:
    with tempfile.TemporaryDirectory() as instance:
        dispose(migrated_app(Path(instance), DATABASE_URL=url))


POSTGRES = Databases(TEST_DATABASE_URL, _migrate_template) if TEST_DATABASE_URL else None
# Fixtures being set up, innermost last: a database belongs to the fixture whose setup created
# it and is dropped when that fixture is torn down, or to the test if its body created it.
_fixture_setups: list[pytest.FixtureRequest] = []
_drops_after_test: list[Callable[[], None]] = []
_instance_databases: dict[Path, str] = {}


def instance_database(instance: Path, *, migrated: bool = True) -> str:
    """The PostgreSQL database that belongs to ``instance``, created on first use.

    A new database starts as a copy of the template at head, or empty when not ``migrated``
    (for tests that run the migrations themselves). Asking again for the same instance folder
    gives the same database, as the SQLite file in that folder would be.
    """
    assert POSTGRES is not None
    key = instance.resolve()
    if key in _instance_databases:
        return _instance_databases[key]
    name = POSTGRES.create(migrated=migrated)
    _instance_databases[key] = name

    def drop() -> None:
        _instance_databases.pop(key, None)
        POSTGRES.drop(name)

    if _fixture_setups:
        _fixture_setups[-1].addfinalizer(drop)
    else:
        _drops_after_test.append(drop)
    return name


def instance_database_url(instance: Path, *, migrated: bool = True) -> str | None:
    """On PostgreSQL, the URL of ``instance``'s database (see ``instance_database``);
    None on SQLite, where the database is the file app.db in the instance folder."""
    if POSTGRES is None:
        return None
    return POSTGRES.url_of(instance_database(instance, migrated=migrated))


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Iterator[Any]:
    _fixture_setups.append(request)
    try:
        return (yield)
    finally:
        _fixture_setups.pop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if POSTGRES is None:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "SQLite only"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def _postgres_session() -> Iterator[None]:
    """Drops the template and any database still left when the session ends."""
    yield
    if POSTGRES is not None:
        POSTGRES.close()


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Drops the databases that the test's own body created, once it is over."""
    yield
    while _drops_after_test:
        _drops_after_test.pop()()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> str:
    """An empty database for tests that run the migrations themselves."""
    url = instance_database_url(tmp_path / "empty-database", migrated=False)
    return url or f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from the documented defaults, whatever the developer's shell exports."""
    for name in APP_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def write_content(tmp_path: Path) -> WriteContent:
    """Write a content tree: ``{"course/01-a.md": "..."}``; text is dedented."""

    def write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "content"
        root.mkdir(exist_ok=True)
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(textwrap.dedent(data).lstrip("\n"), encoding="utf-8")
        return root

    return write


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """An SQLite file at the head migration, built once and copied into each test's app.

    None on PostgreSQL, where each app's database is a copy of a template database instead.
    """
    if POSTGRES is not None:
        return None
    instance = tmp_path_factory.mktemp("migrated")
    app = migrated_app(instance)
    with app.app_context():
        db.engine.dispose()
    database = instance / "app.db"
    with sqlite3.connect(database) as connection:  # one self-contained file to copy
        connection.execute("PRAGMA journal_mode=DELETE")
    return database


@pytest.fixture
def make_app(tmp_path: Path, migrated_database: Path | None) -> MakeApp:
    """Build an app on a fresh instance folder; keyword arguments override config.

    Without a ``DATABASE_URL``, the app's database (its SQLite file, or on PostgreSQL its own
    database) starts at the head migration, as after ``make run``.
    """

    def make(content_dir: Path | None = None, instance: Path | None = None, **config: Any) -> Flask:
        instance = instance or tmp_path / "instance"
        settings: dict[str, Any] = {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "CONTENT_DIR": str(content_dir or BUNDLED_CONTENT),
        }
        settings.update(config)
        if POSTGRES is not None:
            if not settings.get("DATABASE_URL"):
                settings["DATABASE_URL"] = instance_database_url(instance)
            app = create_app(settings)
            POSTGRES.track(app)
            return app
        if (
            not settings.get("DATABASE_URL")
            and migrated_database is not None
            and not (instance / "app.db").exists()
        ):
            instance.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_database, instance / "app.db")
        return create_app(settings)

    return make


@pytest.fixture
def app(make_app: MakeApp) -> Iterator[Flask]:
    yield make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


SAMPLE_COURSE: dict[str, str | bytes] = {
    "demo/course.yml": """
        title: Demo Course
        summary: A course used by the tests.
        level: beginner
        description: |
          Learn **things**. See [the first lesson](01-first.md).
        """,
    "demo/01-first.md": """
        ---
        title: First lesson
        summary: The first one.
        objectives:
          - Use `code` in an objective
          - Read the setup section
          - Answer the check
        tags: [one]
        ---
        Intro paragraph.

        ## Setup

        Go to [the second lesson](02-second.md#details).

        ### Install

        Text.

        ## Check

        ```quiz id=first-pick
        Which framework is this course about?

        - [x] Flask
        - [ ] Rails
          > Rails is a Ruby framework.

        explain: The course teaches Flask.
        ```
        """,
    "demo/02-second.md": """
        ---
        title: Second lesson
        summary: The second one.
        objectives:
          - Read the details
          - Go back to the first lesson
          - Answer the check
        ---
        ## Details

        Back to [the first](01-first.md).

        ```quiz id=second-number
        How many lessons does the demo course have?

        answer: 3
        explain: First, second and third.
        ```
        """,
    "demo/03-third.md": """
        # Third lesson

        No front matter here.
        """,
}


@pytest.fixture
def sample_content(write_content: WriteContent) -> Path:
    return write_content(SAMPLE_COURSE)
