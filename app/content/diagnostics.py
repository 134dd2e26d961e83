"""The one type for every content problem, from YAML errors to broken links."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"  # the file (or course) cannot be served
    WARNING = "warning"  # served, but the author should fix it


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem at ``path:line:col`` (1-based, counted from the file's first line)."""

    path: str
    line: int
    col: int
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message} [{self.code}]"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(frozen=True)
class Problem:
    """A diagnostic before it knows its file: what parsers return and the cache stores."""

    line: int
    col: int
    severity: Severity
    code: str
    message: str

    def at(self, path: str) -> Diagnostic:
        return Diagnostic(path, self.line, self.col, self.severity, self.code, self.message)

    def shifted(self, lines: int) -> Problem:
        """The same problem in a text that starts ``lines`` lines further down the file."""
        return Problem(self.line + lines, self.col, self.severity, self.code, self.message)


def error(line: int, col: int, code: str, message: str) -> Problem:
    return Problem(line, col, Severity.ERROR, code, message)


def warning(line: int, col: int, code: str, message: str) -> Problem:
    return Problem(line, col, Severity.WARNING, code, message)
