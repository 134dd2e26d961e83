"""SECURITY.md's table of requirements: every row present once, in order, and proved.

A row is proved by the tests it cites (pytest node ids that exist) or by a Make target
that exists (a load test run by ``make loadtest`` rather than by pytest). Only where a
requirement truly does not apply may it say ``n/a``, with the reason in its notes.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache

import pytest

from tests.conftest import PROJECT_ROOT

SECURITY_MD = PROJECT_ROOT / "SECURITY.md"
MAKEFILE = PROJECT_ROOT / "Makefile"
ROWS = 38
HEADER = ["#", "Requirement", "Proved by", "Notes"]
# Cited as the command that runs them, not as pytest ids.
COMMAND_ONLY = {"tests/perf/loadtest.py": "make loadtest"}
TEST_ID_RE = re.compile(r"(?P<path>tests/[\w/]+\.py)::(?P<names>[\w:]+?)(?:\[[^\]]*\])?")
MAKE_RE = re.compile(r"make (?P<target>[\w.-]+)")


@dataclass(frozen=True)
class Row:
    number: str
    requirement: str
    proved_by: str
    notes: str

    @property
    def citations(self) -> list[str]:
        return re.findall(r"`([^`]+)`", self.proved_by)

    @property
    def bare_words(self) -> list[str]:
        """What the proved-by cell says outside backticks, besides commas."""
        outside = re.sub(r"`[^`]*`", " ", self.proved_by)
        return [word for word in re.split(r"[\s,]+", outside) if word]


def table_rows(text: str) -> list[Row]:
    """The rows of the table whose header is ``| # | Requirement | Proved by | Notes |``."""
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if _cells(line) == HEADER]
    assert starts, "no | # | Requirement | Proved by | Notes | table"
    rows = []
    for line in lines[starts[0] + 2 :]:  # after the header and its | --- | line
        if not line.startswith("|"):
            break
        cells = _cells(line)
        assert len(cells) == len(HEADER), f"a row needs {len(HEADER)} cells: {line[:80]}"
        rows.append(Row(*cells))
    return rows


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@cache
def rows_by_number() -> dict[str, Row]:
    return {row.number: row for row in table_rows(SECURITY_MD.read_text(encoding="utf-8"))}


@cache
def defined_tests(path: str) -> frozenset[str]:
    """``test_x`` and ``TestX::test_y`` defined at the top of a test module."""
    tree = ast.parse((PROJECT_ROOT / path).read_text(encoding="utf-8"))
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    found = set()
    for node in tree.body:
        if isinstance(node, functions) and node.name.startswith("test"):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, functions) and item.name.startswith("test")
            }
    return frozenset(found)


def make_targets() -> set[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    return set(re.findall(r"^([\w.-]+)\s*:(?!=)", text, re.MULTILINE))


def citation_problem(citation: str) -> str | None:
    """Why ``citation`` proves nothing (None when it names a test or a target that exists)."""
    if match := MAKE_RE.fullmatch(citation):
        if match["target"] not in make_targets():
            return f"the Makefile has no target {match['target']!r}"
        return None
    match = TEST_ID_RE.fullmatch(citation)
    if match is None:
        return "neither a test id (tests/...py::test_name) nor a `make target`"
    path = match["path"]
    if path in COMMAND_ONLY:
        return f"cite {path} as the command `{COMMAND_ONLY[path]}`"
    if not (PROJECT_ROOT / path).is_file():
        return f"{path} does not exist"
    if match["names"] not in defined_tests(path):
        return f"{path} defines no test {match['names']!r}"
    return None


# ---------- the checker itself ----------


SAMPLE = """
| Exit status | Meaning |
|---|---|
| 1 | not a requirement row |

| # | Requirement | Proved by | Notes |
|---|---|---|---|
| 1 | First | `tests/test_security_md.py::test_make_targets_are_read_from_the_makefile`, TODO | x |
| 2 | Second | n/a | Does not apply here. |

After the table.
"""


def test_the_parser_reads_only_the_requirements_table() -> None:
    rows = table_rows(SAMPLE)
    assert [row.number for row in rows] == ["1", "2"]
    (citation,) = rows[0].citations
    assert citation == "tests/test_security_md.py::test_make_targets_are_read_from_the_makefile"
    assert rows[0].bare_words == ["TODO"]
    assert rows[1].bare_words == ["n/a"] and rows[1].notes == "Does not apply here."


@pytest.mark.parametrize(
    ("citation", "problem"),
    [
        ("tests/test_security_md.py::test_the_parser_reads_only_the_requirements_table", None),
        ("tests/test_security_md.py::test_citations_are_checked[make lint]", None),
        ("make lint", None),
        ("make no-such-target", "no target"),
        ("tests/test_security_md.py::test_nothing_like_this", "defines no test"),
        ("tests/no_such_file.py::test_x", "does not exist"),
        ("tests/perf/loadtest.py::test_x", "make loadtest"),
        ("pytest -k security", "neither a test id"),
    ],
)
def test_citations_are_checked(citation: str, problem: str | None) -> None:
    found = citation_problem(citation)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


# ---------- SECURITY.md ----------


def test_rows_1_to_38_appear_once_each_in_order() -> None:
    numbers = [row.number for row in table_rows(SECURITY_MD.read_text(encoding="utf-8"))]
    assert numbers == [str(n) for n in range(1, ROWS + 1)]


@pytest.mark.parametrize("number", [str(n) for n in range(1, ROWS + 1)])
def test_each_row_is_proved_by_tests_that_exist(number: str) -> None:
    row = rows_by_number().get(number)
    assert row is not None, f"row {number} is missing"
    assert row.requirement, f"row {number} names no requirement"
    words = row.bare_words
    if words == ["n/a"] and not row.citations:
        assert row.notes, f"row {number} is n/a without a reason in its notes"
        return
    problems = [f"{c}: {p}" for c in row.citations if (p := citation_problem(c)) is not None]
    if "TODO" in words:
        problems.append("the proved-by column still says TODO")
    if set(words) - {"TODO"}:
        problems.append(f"cite tests in backticks, not {sorted(set(words) - {'TODO'})}")
    if not row.citations:
        problems.append("no test is cited")
    assert not problems, f"row {number}: " + "; ".join(problems)


def test_make_targets_are_read_from_the_makefile() -> None:
    targets = make_targets()
    assert {"test", "lint", "run"} <= targets
    assert "VENV" not in targets and "PYTHON" not in targets  # variables, not targets
