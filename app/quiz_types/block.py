"""Split one ``quiz`` fence into prompt, options, items, ``answer:``, ``hint:`` and ``explain:``.

This layer knows the line grammar shared by every question type; the types decide what
the parts mean. Every part keeps its line and column, counted from the first line of the
markdown body (the loader adds the front matter's lines).

Grammar (keywords count only at the start of a line, outside code fences of the prompt):

- the prompt is everything before the first option or keyword line;
- ``- [x] text`` / ``- [ ] text`` is an option; under it, indented, ``> text`` is its
  feedback and ``misconception: tag`` its tag;
- ``answer:``, ``hint:`` and ``explain:`` (``explain: |`` then an indented block);
- an ordered list that ends the prompt is the item list of an order question.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from app.content.diagnostics import Problem, error
from app.quiz_types.spec import Located, OptionSource

OPTION_RE = re.compile(r"([-*+])[ \t]+\[([ xX])\](?:[ \t]+(.*?))?[ \t]*")
KEYWORD_RE = re.compile(r"(answer|hint|explain|misconception):(?=[ \t]|$)[ \t]*(.*?)[ \t]*")
ORDERED_RE = re.compile(r"(\d{1,9})[.)][ \t]+(.*?)[ \t]*")
FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")
ATTR_TOKEN_RE = re.compile(r"\S+")
ATTR_RE = re.compile(r"""([A-Za-z][\w-]*)=(?:"([^"]*)"|'([^']*)'|(\S*))""")

# (text, line, col) for a fragment to render: where it starts in the body, 1-based.
Renderer = Callable[[str, int, int], str]


@dataclass
class Line:
    text: str  # as markdown-it gives it (fence indentation removed)
    number: int  # 1-based line in the body
    offset: int  # columns the source line has before ``text`` (indentation, "> ")

    def col(self, index: int = 0) -> int:
        return self.offset + index + 1

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    @property
    def indented(self) -> bool:
        return self.text[:1] in (" ", "\t")


@dataclass
class QuizBlock:
    """The parts of one quiz fence; ``problems`` gathers what the reader and type find."""

    line: int  # the opening fence
    col: int
    info_col: int  # column of the info string's first character
    attrs: dict[str, Located] = field(default_factory=dict)
    prompt: list[Line] = field(default_factory=list)
    items: list[Located] = field(default_factory=list)  # a trailing ordered list
    items_prompt_end: int = 0  # prompt lines before that list
    options: list[OptionSource] = field(default_factory=list)
    answers: list[Located] = field(default_factory=list)
    hints: list[Located] = field(default_factory=list)
    explain: Located | None = None
    problems: list[Problem] = field(default_factory=list)
    line_offset: int = 0  # lines before the body in the file, for messages naming a line
    render_block: Renderer = lambda text, line, col: ""  # noqa: E731 - replaced by the caller
    render_inline: Renderer = lambda text, line, col: ""  # noqa: E731

    def error(self, line: int, col: int, code: str, message: str) -> None:
        self.problems.append(error(line, col, code, message))

    def file_line(self, line: int) -> int:
        """``line`` as the author sees it in the file (positions are shifted later)."""
        return line + self.line_offset

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    @property
    def has_errors(self) -> bool:
        return any(problem.severity == "error" for problem in self.problems)

    def prompt_lines(self, *, without_items: bool = False) -> list[Line]:
        lines = self.prompt[: self.items_prompt_end] if without_items else self.prompt
        while lines and lines[-1].blank:
            lines = lines[:-1]
        while lines and lines[0].blank:
            lines = lines[1:]
        return lines

    def prompt_source(self, *, without_items: bool = False) -> str:
        return "\n".join(line.text for line in self.prompt_lines(without_items=without_items))

    def attr(self, name: str) -> str | None:
        value = self.attrs.get(name)
        return value.text if value is not None else None


def read_block(
    info: str,
    content: str,
    fence_line: int,
    source_lines: list[str],
    fence_markup: str,
    line_offset: int = 0,
) -> QuizBlock:
    """Read the fence whose opening line is ``fence_line`` (1-based) in ``source_lines``."""
    opening = source_lines[fence_line - 1] if fence_line - 1 < len(source_lines) else ""
    marker_at = max(opening.find(fence_markup), 0)
    block = QuizBlock(
        line=fence_line,
        col=marker_at + 1,
        info_col=marker_at + len(fence_markup) + 1,
        line_offset=line_offset,
    )
    _read_attrs(block, info, fence_line)
    lines = _lines(content, fence_line, source_lines)
    body_start = _read_prompt(block, lines)
    _read_body(block, lines[body_start:])
    return block


def _lines(content: str, fence_line: int, source_lines: list[str]) -> list[Line]:
    texts = content.split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    result = []
    for index, text in enumerate(texts):
        number = fence_line + 1 + index
        source = source_lines[number - 1] if number - 1 < len(source_lines) else text
        source = source.replace("\0", "\ufffd")  # as markdown-it gives NUL to us
        offset = len(source) - len(text) if text and source.endswith(text) else 0
        result.append(Line(text, number, offset))
    return result


def _read_attrs(block: QuizBlock, info: str, line: int) -> None:
    """``quiz id=x type=single``: each attribute with the column of its value."""
    first = ATTR_TOKEN_RE.search(info)
    start = first.end() if first else 0  # after the word ``quiz``
    for token in ATTR_TOKEN_RE.finditer(info, start):
        col = block.info_col + token.start()
        match = ATTR_RE.match(info, token.start())
        if match is None or match.start() != token.start():
            message = f"attribute {token.group()!r} has no value; write key=value"
            block.error(line, col, "invalid-attribute", message)
            continue
        name = match.group(1)
        value = next((g for g in match.groups()[1:] if g is not None), "")
        if name in block.attrs:
            block.error(line, col, "duplicate-attribute", f"attribute {name!r} is given twice")
            continue
        value_col = block.info_col + match.start() + len(name) + 1
        block.attrs[name] = Located(value, line, value_col)


def _read_prompt(block: QuizBlock, lines: list[Line]) -> int:
    """Collect prompt lines; return the index of the first option or keyword line."""
    fence: str | None = None
    index = 0
    for index, line in enumerate(lines):  # noqa: B007 - index is used after the loop
        fence_match = FENCE_RE.match(line.text)
        if fence is not None:
            if fence_match and _closes(fence_match.group(1), fence, line.text):
                fence = None
            block.prompt.append(line)
            continue
        if fence_match:
            fence = fence_match.group(1)
            block.prompt.append(line)
            continue
        if OPTION_RE.fullmatch(line.text) or KEYWORD_RE.fullmatch(line.text):
            break
        _check_prompt_line(block, line)
        block.prompt.append(line)
    else:
        index = len(lines)
    _find_items(block)
    return index


LIST_ITEM_RE = re.compile(r"(?:[-*+]|\d{1,9}[.)])[ \t]")


def _check_prompt_line(block: QuizBlock, line: Line) -> None:
    """Feedback or a tag indented under nothing: the option it belongs to is missing."""
    stripped = line.text.lstrip()
    indent = len(line.text) - len(stripped)
    if not line.indented or indent >= 4:
        return
    if stripped.startswith("misconception:"):
        message = "misconception with no option above it"
        block.error(line.number, line.col(indent), "misconception-without-option", message)
        return
    if stripped.startswith(">"):
        previous = next((p for p in reversed(block.prompt) if not p.blank), None)
        nested = previous is not None and (
            previous.indented or LIST_ITEM_RE.match(previous.text) or previous.text.startswith(">")
        )
        if not nested:
            message = "option feedback with no option above it"
            block.error(line.number, line.col(indent), "feedback-without-option", message)


def _closes(marker: str, opening: str, text: str) -> bool:
    return (
        marker[0] == opening[0]
        and len(marker) >= len(opening)
        and not text.strip().lstrip(marker[0]).strip()
    )


def _find_items(block: QuizBlock) -> None:
    """An ordered list at the very end of the prompt (outside code) may be order items."""
    fence: str | None = None
    candidate: list[Located] | None = None
    candidate_start = 0
    previous_blank = True
    for index, line in enumerate(block.prompt):
        fence_match = FENCE_RE.match(line.text)
        if fence is not None:
            if fence_match and _closes(fence_match.group(1), fence, line.text):
                fence = None
            candidate = None
            continue
        if fence_match:
            fence = fence_match.group(1)
            candidate = None
            continue
        item = ORDERED_RE.fullmatch(line.text)
        if item and (candidate is not None or previous_blank):
            if candidate is None:
                candidate, candidate_start = [], index
            candidate.append(Located(item.group(2), line.number, line.col(item.start(2))))
        elif line.blank:
            pass
        elif candidate is not None and line.indented and candidate:
            last = candidate[-1]
            candidate[-1] = Located(f"{last.text} {line.text.strip()}", last.line, last.col)
        else:
            candidate = None
        previous_blank = line.blank
    if candidate:
        block.items = candidate
        block.items_prompt_end = candidate_start
    else:
        block.items_prompt_end = len(block.prompt)


def _read_body(block: QuizBlock, lines: list[Line]) -> None:
    option: OptionSource | None = None  # the option that indented lines belong to
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.blank:
            continue
        text = line.text
        if line.indented or text.startswith(">"):
            option = _read_option_detail(block, option, line)
            continue
        option_match = OPTION_RE.fullmatch(text)
        if option_match:
            option = OptionSource(
                marker=Located(option_match.group(1), line.number, line.col()),
                text=Located(
                    option_match.group(3) or "",
                    line.number,
                    line.col(option_match.start(3)) if option_match.group(3) else line.col(),
                ),
                correct=option_match.group(2) in "xX",
            )
            block.options.append(option)
            continue
        option = None
        keyword = KEYWORD_RE.fullmatch(text)
        if keyword is None:
            message = (
                "unexpected text after the prompt; start the line with answer:, hint: or "
                "explain:, indent it under an option, or move it into the prompt"
            )
            block.error(line.number, line.col(), "unexpected-line", message)
            continue
        name, value = keyword.group(1), keyword.group(2)
        value_col = line.col(keyword.start(2))
        if name == "misconception":
            message = "misconception with no option above it"
            block.error(line.number, line.col(), "misconception-without-option", message)
        elif name == "explain":
            if block.explain is not None:
                message = (
                    f"explain: is given twice (first at line {block.file_line(block.explain.line)})"
                )
                block.error(line.number, line.col(), "duplicate-explain", message)
            if value == "|":
                taken, text_block = _indented_block(lines[index:])
                index += taken
                block.explain = _block_start(lines[index - taken : index], text_block, line)
            else:
                block.explain = Located(value, line.number, value_col)
            if not block.explain.text.strip():
                block.error(line.number, line.col(), "empty-explain", "explain: is empty")
        elif not value:
            block.error(line.number, line.col(), f"empty-{name}", f"{name}: is empty")
        elif name == "answer":
            block.answers.append(Located(value, line.number, value_col))
        else:
            block.hints.append(Located(value, line.number, value_col))


def _read_option_detail(
    block: QuizBlock, option: OptionSource | None, line: Line
) -> OptionSource | None:
    stripped = line.text.lstrip()
    indent = len(line.text) - len(stripped)
    col = line.col(indent)
    if stripped.startswith(">"):
        if option is None:
            message = "option feedback with no option above it"
            block.error(line.number, col, "feedback-without-option", message)
            return None
        body = stripped[1:]
        body = body[1:] if body.startswith(" ") else body
        option.feedback.append(Located(body, line.number, col + len(stripped) - len(body)))
        return option
    if stripped.startswith("misconception:"):
        if option is None:
            message = "misconception with no option above it"
            block.error(line.number, col, "misconception-without-option", message)
            return None
        value = stripped.removeprefix("misconception:").strip()
        value_col = col + len(stripped) - len(stripped.removeprefix("misconception:").lstrip())
        if option.misconception is not None:
            message = "option has two misconception: tags"
            block.error(line.number, col, "duplicate-misconception", message)
        elif not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            message = f"misconception tag {value!r} must be a slug (letters, digits, '-', '_')"
            block.error(line.number, value_col, "invalid-misconception", message)
        else:
            option.misconception = Located(value, line.number, value_col)
        return option
    if option is not None and not option.feedback and option.misconception is None:
        joined = f"{option.text.text} {stripped}".strip()
        option.text = Located(joined, option.text.line, option.text.col)
        return option
    message = "unexpected indented line; option text, > feedback or misconception: expected"
    block.error(line.number, col, "unexpected-line", message)
    return option


def _indented_block(lines: list[Line]) -> tuple[int, str]:
    """Lines after ``explain: |`` that are blank or indented; returns (count, dedented text)."""
    taken = 0
    for line in lines:
        if line.blank or line.indented:
            taken += 1
        else:
            break
    while taken and lines[taken - 1].blank:
        taken -= 1
    text = textwrap.dedent("\n".join(line.text for line in lines[:taken]))
    return taken, text.lstrip("\n")


def _block_start(lines: list[Line], text: str, keyword_line: Line) -> Located:
    """Where a dedented block's text starts: its first non-blank line, after the common
    indentation that dedenting removed (so every line's column is ``col`` + its own)."""
    for line in lines:
        if not line.blank:
            first = text.split("\n", 1)[0]
            removed = len(line.text) - len(first)
            return Located(text, line.number, line.col(removed))
    return Located(text, keyword_line.number, keyword_line.col())
