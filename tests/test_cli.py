"""``flask content check`` and ``flask content build``."""

from __future__ import annotations

import re

from tests.conftest import SAMPLE_COURSE, MakeApp, WriteContent

DIAGNOSTIC_LINE = re.compile(r"^\S+:\d+:\d+: (error|warning): .+ \[[a-z0-9-]+\]$")


def test_check_passes_on_the_bundled_course(runner) -> None:
    result = runner.invoke(args=["content", "check", "--strict"])
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output


def test_check_reports_positions_and_fails_on_errors(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/02-second.md"] = "---\ntitle: ok\nsummary: [\n---\nBody\n"
    files["demo/03-third.md"] = "---\nauthor: me\n---\n# Third\n"
    runner = make_app(write_content(files)).test_cli_runner()
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    problems = [
        line
        for line in lines
        if DIAGNOSTIC_LINE.match(line) and "03-third.md:1:1: warning: lesson" not in line
    ]
    assert len(problems) == 3, result.output
    assert any(
        ":4:1: error: invalid YAML in front matter" in line and line.endswith("[yaml-syntax]")
        for line in problems
    )
    assert any("03-third.md:2:1: warning: unknown key 'author'" in line for line in problems)
    assert any(
        "01-first.md:14:27: warning: link to" in line
        and "'02-second.md', which failed to load [broken-link]" in line
        for line in problems
    )
    # 03-third.md also lacks a summary, objectives and a knowledge check: 3 more warnings.
    assert lines[-1] == "1 course(s), 2 lesson(s), 1 question(s): 1 error(s), 5 warning(s)"


def test_warnings_fail_only_with_strict(make_app: MakeApp, write_content: WriteContent) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/03-third.md"] = "---\nauthor: me\n---\n# Third\n"
    runner = make_app(write_content(files)).test_cli_runner()
    assert runner.invoke(args=["content", "check"]).exit_code == 0
    assert runner.invoke(args=["content", "check", "--strict"]).exit_code == 1


def test_build_fills_the_cache(make_app: MakeApp, sample_content, tmp_path) -> None:
    app = make_app(sample_content)
    result = app.test_cli_runner().invoke(args=["content", "build"])
    assert result.exit_code == 0, result.output
    assert "1 course(s), 3 lesson(s) ready (4 rendered, 0 from cache)" in result.output
    assert len(list((tmp_path / "instance" / "render-cache").glob("*.json"))) == 4
    again = make_app(sample_content).test_cli_runner().invoke(args=["content", "build"])
    assert "(0 rendered, 4 from cache)" in again.output
