"""A small run of the load test: 3 guests x 2 answers through gunicorn, on SQLite."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

RESULT = re.compile(
    r"loadtest: attempts=(\d+) expected=(\d+) 5xx=(\d+) locked=(\d+) p50=(\d+) p95=(\d+) p99=(\d+)"
)


@pytest.mark.slow
def test_load_test_stores_every_answer_once() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.perf.loadtest", "--learners", "3", "--answers", "2"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),  # without DATABASE_URL: a SQLite file in a temporary instance
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    match = RESULT.fullmatch(lines[0])
    assert match, lines[0]
    attempts, expected, server_errors, locked, p50, p95, p99 = map(int, match.groups())
    assert (attempts, expected, server_errors, locked) == (6, 6, 0, 0)
    assert 0 < p50 <= p95 <= p99
