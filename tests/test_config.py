"""Modes and configuration from the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, database_uri
from tests.conftest import PROJECT_ROOT, MakeApp, isolated_app


def test_local_mode_defaults(tmp_path: Path) -> None:
    app = isolated_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["APP_ENV"] == "local"
    assert app.debug is False
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/app.db")


def test_local_secret_key_is_generated_once_into_the_instance_folder(
    make_app: MakeApp, tmp_path: Path
) -> None:
    instance = tmp_path / "inst"
    first = make_app(instance=instance)
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64
    assert key_file.stat().st_mode & 0o077 == 0
    second = make_app(instance=instance)
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_concurrent_processes_agree_on_the_secret_key(tmp_path: Path) -> None:
    """Like gunicorn workers starting at once: every process ends up with the same key."""
    script = (
        "import sys; from pathlib import Path; from app.config import instance_secret_key;"
        "print(instance_secret_key(Path(sys.argv[1])))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "inst")],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {process.communicate(timeout=30)[0].strip() for process in processes}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert sorted(p.name for p in (tmp_path / "inst").iterdir()) == ["secret_key"]


def test_secret_key_from_the_environment_wins(
    make_app: MakeApp, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = make_app(instance=tmp_path / "inst")
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "inst" / "secret_key").exists()


def test_production_refuses_to_start_without_secret_key(
    make_app: MakeApp, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "secret_key").write_text("a file key is ignored in production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        make_app(instance=instance)


def test_production_mode_settings(make_app: MakeApp, monkeypatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = make_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SECRET_KEY"] == "x" * 40


def test_production_refuses_debug(make_app: MakeApp, monkeypatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError, match="debug"):
        make_app()


def test_unknown_mode_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(ConfigError, match="APP_ENV"):
        create_app()


def test_production_without_secret_key_exits_non_zero_from_the_cli(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "production", "INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app:create_app", "routes"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set in the environment" in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u:p@db/app", "postgresql+psycopg://u:p@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
        ("sqlite:////data/app.db", "sqlite:////data/app.db"),
        ("", "sqlite:////srv/instance/app.db"),
    ],
)
def test_database_url_normalisation(url: str, expected: str) -> None:
    assert database_uri(url, Path("/srv/instance")) == expected


def test_environment_variables_are_read(make_app: MakeApp, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/other.db")
    monkeypatch.setenv("CONTENT_DIR", str(tmp_path / "content"))
    monkeypatch.setenv("FLASK_SITE_NAME", "Flask School")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/other.db"
    assert app.config["CONTENT_DIR"] == str(tmp_path / "content")
    assert app.config["SITE_NAME"] == "Flask School"
