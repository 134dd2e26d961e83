"""The Dockerfile's essentials, and its entrypoint run for real against a temporary instance.

There is no Docker engine on our machines, so the entrypoint script runs directly with the
same environment the image sets.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PROJECT_ROOT, instance_database_url

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
ENTRYPOINT = PROJECT_ROOT / "docker-entrypoint.sh"


def instructions(name: str) -> list[str]:
    return [
        line.split(None, 1)[1]
        for line in DOCKERFILE.splitlines()
        if line.upper().startswith(name + " ")
    ]


def test_base_image_is_pinned_and_slim() -> None:
    (base,) = instructions("FROM")
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base


def test_image_runs_as_a_non_root_user_in_production_mode() -> None:
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0")
    assert any("APP_ENV=production" in env for env in instructions("ENV"))
    assert any("/app/instance" in volume for volume in instructions("VOLUME"))


def test_entrypoint_migrates_then_execs_gunicorn() -> None:
    script = ENTRYPOINT.read_text(encoding="utf-8")
    assert os.access(ENTRYPOINT, os.X_OK)
    assert script.index("flask db upgrade") < script.index("exec gunicorn")
    assert "--preload app.wsgi:app" in script
    assert any("docker-entrypoint.sh" in entry for entry in instructions("ENTRYPOINT"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_entrypoint_serves_the_course_in_production_mode(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    port = free_port()
    database_url = instance_database_url(instance, migrated=False)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "APP_ENV": "production",
        "SECRET_KEY": "entrypoint-test-secret-key-0123456789",
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url or f"sqlite:///{instance}/app.db",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }
    process = subprocess.Popen(
        [str(ENTRYPOINT)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=2
                ) as response:
                    body = json.loads(response.read())
                    break
            except OSError:  # refused, reset or timed out while the workers start
                time.sleep(0.3)
        assert body == {"status": "ok"}, "entrypoint did not come up"
        url = f"http://127.0.0.1:{port}/courses/flask-fundamentals/what-is-flask/"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
            assert "What is Flask?" in response.read().decode()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    engine = create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).first()
    finally:
        engine.dispose()
    assert list((instance / "render-cache").glob("*.json"))
    assert not (instance / "secret_key").exists()  # production never writes a key file
    assert "Booting worker" in output
