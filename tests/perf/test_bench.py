"""A short run of the whole benchmark: it starts, measures and reports (no timing asserts).

One second per wrk run, one round, small generated data. Without wrk the test is skipped,
unless ``CI`` is ``true`` or ``1``: CI installs wrk and must not pass by skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.perf.bench import HELLO, LABELS, SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT_S = 120  # a guard against a hung run; a normal run takes about 30 s


def require_wrk() -> None:
    if shutil.which("wrk") is not None:
        return
    message = "wrk is not installed (apt-get install -y --no-install-recommends wrk)"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{message}; CI must run the benchmark smoke test")
    pytest.skip(f"{message}: the benchmark smoke test did NOT run")


@pytest.mark.slow
def test_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    require_wrk()
    command = [
        sys.executable, "-m", "tests.perf.bench", "--duration", "1", "--rounds", "1",
        "--learners", "20", "--questions", "20", "--lessons", "20", "--memory-requests", "20",
        "--output-dir", str(tmp_path), "--no-fail",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = process.communicate(timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired:
        process.terminate()  # the benchmark stops its servers and removes its files
        out, err = process.communicate(timeout=60)
        pytest.fail(f"the benchmark took over {TIME_LIMIT_S} s:\n{err[-4000:]}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out + err[-4000:]

    # The table: a header, a row per scenario, memory and start times.
    header = out.splitlines()[0].split()
    assert header[:3] == ["scenario", "req/s", "p50"]
    for name in (HELLO, *SCENARIOS):
        assert LABELS[name] in out
    for text in ("PSS per worker", "flask content build", "gunicorn start", "mkdocs build"):
        assert text in out
    assert "result: " in out

    # The JSON: settings, every raw run, medians, memory, start times and the checks.
    files = list(tmp_path.glob("bench-*.json"))
    assert len(files) == 1
    report = json.loads(files[0].read_text())
    assert {
        "started_utc", "settings", "environment", "generated_data", "rounds", "medians",
        "memory", "start", "checks", "passed",
    } <= report.keys()  # fmt: skip
    assert report["settings"]["rounds"] == 1
    assert report["generated_data"]["learners"] == 20
    (only,) = report["rounds"]
    for name in (HELLO, *SCENARIOS):
        raw = only["runs"][name]
        assert {"requests", "rps", "p50_ms", "p99_ms", "status", "errors", "problems"} <= raw.keys()
        assert raw["requests"] > 0
        assert raw["status"]["2xx"] == raw["requests"], (name, raw)
        assert raw["problems"] == [], (name, raw["problems"])
        median = report["medians"][name]
        assert {"rps", "p50_ms", "p99_ms", "ratio"} <= median.keys()
        assert (median["ratio"] is None) == (name == HELLO)
    assert (
        only["runs"]["quiz_answer"]["attempts_stored"]
        >= only["runs"]["quiz_answer"]["status"]["2xx"]
    )
    assert report["memory"]["max_pss_mb"] > 0
    assert len(report["memory"]["pss_mb"]) == 2  # one per gunicorn worker
    for key in ("gunicorn_cold_s", "gunicorn_warm_s", "content_build_cold_s", "mkdocs_build_s"):
        assert report["start"][key] > 0
    names = {check["name"] for check in report["checks"]}
    assert {"guest_lesson ratio", "instructor_course p99_ms", "max_pss_mb per worker"} <= names
