"""Shared fixtures: apps built by the real factory on temporary instance folders."""

from __future__ import annotations

import shutil
import sqlite3
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
    """A real app on a SQLite file, schema from the Alembic migrations."""
    settings: dict[str, Any] = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "CONTENT_DIR": str(BUNDLED_CONTENT),
    }
    settings.update(config)
    app = isolated_app(settings)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return app


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
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file at the head migration, built once and copied into each test's app."""
    instance = tmp_path_factory.mktemp("migrated")
    app = migrated_app(instance)
    with app.app_context():
        db.engine.dispose()
    database = instance / "app.db"
    with sqlite3.connect(database) as connection:  # one self-contained file to copy
        connection.execute("PRAGMA journal_mode=DELETE")
    return database


@pytest.fixture
def make_app(tmp_path: Path, migrated_database: Path) -> MakeApp:
    """Build an app on a fresh instance folder; keyword arguments override config.

    Without a ``DATABASE_URL``, the app's SQLite file starts at the head migration, as
    after ``make run``.
    """

    def make(content_dir: Path | None = None, instance: Path | None = None, **config: Any) -> Flask:
        instance = instance or tmp_path / "instance"
        settings: dict[str, Any] = {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "CONTENT_DIR": str(content_dir or BUNDLED_CONTENT),
        }
        settings.update(config)
        if not settings.get("DATABASE_URL") and not (instance / "app.db").exists():
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
