"""What the bundled course's lessons must look like, measured on the lesson source.

``python -m tests.course_rules content/flask-fundamentals/*.md`` prints, per lesson,
the prose word count, the runnable examples, the fences that are not at column 0 and the
code lines too wide for the lesson column.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from markdown_it import MarkdownIt

from app.content.highlight import parse_info
from app.content.metadata import split_front_matter
from tests.example_runner import examples_in

PROSE_WORDS = range(700, 1801)
# A code line that fits the lesson column without scrolling (and PEP 8's limit). Output and
# terminal transcripts (``text``, ``console``) show what a program printed, so they may be wider.
CODE_LINE_CHARS = 79
TRANSCRIPT_LANGUAGES = {"text", "console"}
ALL_OR_NONE_RE = re.compile(r"\b(all|none)\s+of\s+the\s+(above|below|others)\b", re.IGNORECASE)


def without_front_matter(source: str) -> str:
    """The lesson body, with the front matter replaced by as many blank lines."""
    split, _ = split_front_matter(source)
    return source if split is None else "\n" * split.body_offset + split.body


def fences(source: str) -> list[tuple[int, int, str]]:
    """``(first line, end line, info)`` of every top-level fence, 0-based, end exclusive."""
    tokens = MarkdownIt("commonmark").parse(without_front_matter(source))
    return [(t.map[0], t.map[1], t.info.strip()) for t in tokens if t.type == "fence" and t.map]


def prose_words(source: str) -> int:
    """Whitespace-separated tokens outside the front matter and every fenced block."""
    lines = without_front_matter(source).splitlines()
    for start, end, _ in fences(source):
        lines[start:end] = [""] * (end - start)
    return sum(len(line.split()) for line in lines)


def indented_fences(source: str) -> list[int]:
    """1-based lines of fences that do not open at column 0."""
    lines = without_front_matter(source).splitlines()
    return [start + 1 for start, _, _ in fences(source) if lines[start][:1] not in ("`", "~")]


def long_code_lines(source: str) -> list[int]:
    """1-based lines of code fences (not quizzes, not transcripts) over CODE_LINE_CHARS."""
    lines = without_front_matter(source).splitlines()
    found = []
    for start, end, info in fences(source):
        language = parse_info(info).lang
        if language == "quiz" or language in TRANSCRIPT_LANGUAGES:
            continue
        found += [n + 1 for n in range(start + 1, end - 1) if len(lines[n]) > CODE_LINE_CHARS]
    return found


def main(paths: list[str]) -> None:
    for name in paths:
        source = Path(name).read_text("utf-8")
        words = prose_words(source)
        flag = "" if words in PROSE_WORDS else "  <-- outside 700-1800"
        indented = indented_fences(source)
        wide = long_code_lines(source)
        print(
            f"{name}: {words} prose words, {len(examples_in(Path(name)))} runnable examples"
            + (f", indented fences at lines {indented}" if indented else "")
            + (f", code lines over {CODE_LINE_CHARS} characters at {wide}" if wide else "")
            + flag
        )


if __name__ == "__main__":
    main(sys.argv[1:])
