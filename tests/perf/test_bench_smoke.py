"""A one-second run of the page benchmark: it starts, measures and reports (no timing asserts)."""

import pytest

from tests.perf.bench_pages import run


@pytest.mark.slow
def test_benchmark_runs_end_to_end() -> None:
    summary = run(requests=40, concurrency=2, rounds=1)
    for name in ("lesson", "lesson_new_visitor", "same", "hello"):
        assert summary[name]["errors"] == 0
        assert summary[name]["rps"] > 0
    assert summary["ratio_lesson_vs_hello"] > 0
