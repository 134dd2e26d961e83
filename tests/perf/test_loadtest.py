"""Small runs of the load test through gunicorn, on SQLite: 3 guests x 2 answers, and 8 x 3
while another connection holds the database's write lock past the app's busy timeout."""

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
HELD = re.compile(RESULT.pattern + r" held=(\d+\.\d)s 503=(\d+)")
BUSY_ANSWERS = re.compile(r"(\d+) answer POSTs got a 503 and (\d+) of them were retried")


def run_load_test(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.perf.loadtest", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},  # without DATABASE_URL: a SQLite file in a temporary instance
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_load_test_stores_every_answer_once() -> None:
    result = run_load_test("--learners", "3", "--answers", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    match = RESULT.fullmatch(lines[0])
    assert match, lines[0]
    attempts, expected, server_errors, locked, p50, p95, p99 = map(int, match.groups())
    assert (attempts, expected, server_errors, locked) == (6, 6, 0, 0)
    assert 0 < p50 <= p95 <= p99


@pytest.mark.slow
def test_a_database_locked_past_its_timeout_loses_and_doubles_no_answer() -> None:
    """Every learner sends an answer into the held lock; the 503s are retried until stored."""
    result = run_load_test(
        "--learners", "8", "--answers", "3", "--hold-lock", "2",
        FLASK_DATABASE_BUSY_TIMEOUT_MS="500",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    match = HELD.fullmatch(lines[0])
    assert match, lines[0]
    attempts, expected, server_errors, locked = map(int, match.groups()[:4])
    held, busy = float(match[8]), int(match[9])
    assert (attempts, expected, server_errors) == (24, 24, 0)
    assert held >= 2.0 and busy > 0 and locked > 0  # SQLite logs each timeout as "locked"
    busy_answers = BUSY_ANSWERS.search(result.stderr)
    assert busy_answers, result.stderr
    assert 0 < int(busy_answers[1]) == int(busy_answers[2]) <= busy


@pytest.mark.parametrize("seconds", ["-1", "nan", "inf", "soon"])
def test_hold_lock_takes_a_number_of_seconds(
    seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.perf.loadtest import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--hold-lock", seconds])
    assert exit_info.value.code == 2
    assert "--hold-lock" in capsys.readouterr().err


@pytest.mark.slow
def test_a_hold_within_the_busy_timeout_is_refused() -> None:
    result = run_load_test(
        "--learners", "1", "--answers", "1", "--hold-lock", "2.5",
        FLASK_DATABASE_BUSY_TIMEOUT_MS="2000",
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "must exceed the database busy timeout (2 s) by 1 s or more" in result.stderr
