"""The question-type contract and what every type shares: attributes, prompt, pedagogy.

A type turns a ``QuizBlock`` into a ``QuizSpec`` (``parse``) and grades a learner's
answer against it (``grade``). Types report problems on the block; a block with an
error is left out of the page and reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from app.content.diagnostics import warning
from app.quiz_types.block import FENCE_RE, Line, QuizBlock
from app.quiz_types.spec import (
    GradeResult,
    Located,
    Option,
    QuizSpec,
    option_id,
    revision_of,
)

ID_RE = re.compile(r"[A-Za-z0-9_-]+")
KNOWN_ATTRIBUTES = ("id", "type", "shuffle", "points", "exact")
MAX_POINTS = 100
NEGATIVE_RE = re.compile(r"\b(not|except)\b", re.IGNORECASE)
# Spans in which a negative word counts as emphasised (or is code, not wording).
EMPHASIS_RE = re.compile(r"`+[^`]*`+|\*\*[^*]+\*\*|\*[^*\s][^*]*\*|__[^_]+__|\b_[^_]+_\b")
ABOVE_RE = re.compile(r"^\W*(all|none)\s+of\s+the\s+above\W*$", re.IGNORECASE)

Answer = str | Sequence[str]


class QuestionType:
    """Base class: subclasses set ``key``/``label`` and implement ``parse_key``/``grade``."""

    key: ClassVar[str] = ""
    label: ClassVar[str] = ""  # what the learner is asked to do, e.g. "Choose one"
    attributes: ClassVar[frozenset[str]] = frozenset({"id", "type", "points"})
    uses_items: ClassVar[bool] = False  # order questions: the prompt's ordered list

    def parse(self, block: QuizBlock) -> QuizSpec:
        question_id = self._check_attributes(block)
        prompt_lines = block.prompt_lines(without_items=self.uses_items)
        prompt = "\n".join(line.text for line in prompt_lines)
        if not prompt.strip():
            block.error(block.line + 1, 1, "empty-prompt", "empty prompt")
        options, answers = self.parse_key(block, question_id)
        first = prompt_lines[0] if prompt_lines else None
        exact = _flag(block, "exact", default=False)
        spec = QuizSpec(
            id=question_id,
            type=self.key,
            line=block.line,
            col=block.col,
            id_col=block.attrs["id"].col if "id" in block.attrs else 0,
            revision=revision_of(self.key, prompt, options, answers, exact),
            prompt_html=block.render_block(prompt, first.number, first.col()) if first else "",
            options=tuple(options),
            answers=tuple(answers),
            hints_html=tuple(block.render_inline(h.text, h.line, h.col) for h in block.hints),
            explain_html=_render_explain(block),
            shuffle=_flag(block, "shuffle", default="shuffle" in self.attributes),
            points=_points(block),
            exact=exact,
        )
        self._check_pedagogy(block, prompt_lines)
        return spec

    def parse_key(self, block: QuizBlock, question_id: str) -> tuple[list[Option], list[str]]:
        """Options and ``answer:`` values from the block; report errors on it."""
        raise NotImplementedError

    def grade(self, spec: QuizSpec, answer: Answer) -> GradeResult:
        raise NotImplementedError

    def answer_texts(self, block: QuizBlock) -> list[str]:
        """Texts of correct answers that must not appear in the prompt."""
        return []

    # --- shared checks ----------------------------------------------------------------

    def _check_attributes(self, block: QuizBlock) -> str:
        for name, value in block.attrs.items():
            col = value.col - len(name) - 1
            if name not in KNOWN_ATTRIBUTES:
                block.error(value.line, col, "unknown-attribute", f"unknown attribute {name!r}")
            elif name not in self.attributes:
                allowed = "text" if name == "exact" else "choice and order"
                message = f"attribute {name!r} applies only to {allowed} questions"
                block.error(value.line, col, "invalid-attribute", message)
        for name in ("shuffle", "exact"):
            value = block.attrs.get(name)
            if value is not None and value.text not in ("true", "false"):
                message = f"{name} must be true or false, not {value.text!r}"
                block.error(value.line, value.col, "invalid-attribute", message)
        points = block.attrs.get("points")
        if points is not None and not (points.text.isdigit() and int(points.text) <= MAX_POINTS):
            message = f"points must be a whole number from 0 to {MAX_POINTS}, not {points.text!r}"
            block.error(points.line, points.col, "invalid-attribute", message)
        located = block.attrs.get("id")
        if located is None:
            block.error(block.line, block.info_col, "missing-id", "missing id")
            return ""
        if not ID_RE.fullmatch(located.text):
            message = f"id {located.text!r} may only use letters, digits, '-' and '_'"
            block.error(located.line, located.col, "invalid-id", message)
        return located.text

    def _check_pedagogy(self, block: QuizBlock, prompt_lines: list[Line]) -> None:
        if block.explain is None:
            message = "question without explain: (add one that says why the answer is right)"
            block.add(warning(block.line, block.col, "missing-explain", message))
        prose = list(_prose_lines(prompt_lines))
        for line in prose:
            emphasised = [m.span() for m in EMPHASIS_RE.finditer(line.text)]
            for match in NEGATIVE_RE.finditer(line.text):
                if not any(start <= match.start() < end for start, end in emphasised):
                    message = (
                        f"negative wording {match.group()!r} is not emphasised; "
                        f"write **{match.group()}** or rephrase"
                    )
                    block.add(
                        warning(line.number, line.col(match.start()), "negative-wording", message)
                    )
        for text in self.answer_texts(block):
            plain = text.replace("`", "").replace("*", "").strip()
            if len(plain) < 3:
                continue
            pattern = re.compile(r"(?<!\w)" + re.escape(plain) + r"(?!\w)", re.IGNORECASE)
            for line in prose:
                match = pattern.search(line.text.replace("`", " ").replace("*", " "))
                if match:
                    message = f"the correct answer {plain!r} appears verbatim in the prompt"
                    block.add(
                        warning(line.number, line.col(match.start()), "answer-in-prompt", message)
                    )
                    break


def choice_warnings(block: QuizBlock) -> None:
    """Pedagogy warnings about options: missing feedback, "all/none of the above"."""
    for option in block.options:
        if ABOVE_RE.match(option.text.text):
            message = f"option {option.text.text!r} breaks when options are shuffled"
            block.add(warning(option.text.line, option.text.col, "all-none-of-the-above", message))
        if not option.correct and not option.feedback:
            message = "wrong option without feedback (indent '> why it is wrong' under it)"
            block.add(warning(option.marker.line, option.marker.col, "missing-feedback", message))


def option_from(block: QuizBlock, question_id: str, text: Located, correct: bool) -> Option:
    return Option(
        id=option_id(question_id, text.text),
        html=block.render_inline(text.text, text.line, text.col),
        text=text.text,
        correct=correct,
    )


def distinct_texts(block: QuizBlock, texts: list[Located], noun: str) -> list[int]:
    """Indexes of ``texts`` that are neither empty nor a later repeat (those are reported)."""
    kept: list[int] = []
    seen: dict[str, int] = {}
    for index, text in enumerate(texts):
        if not text.text.strip():
            block.error(text.line, text.col, "empty-option", f"{noun} has no text")
        elif text.text in seen:
            first = block.file_line(seen[text.text])
            message = f"{noun} {text.text!r} is listed twice (first at line {first})"
            block.error(text.line, text.col, "duplicate-option", message)
        else:
            seen[text.text] = text.line
            kept.append(index)
    return kept


def check_unused(block: QuizBlock, kind: str, *, options: bool, answers: bool) -> None:
    """Report parts a type does not use, so nothing an author wrote is silently dropped."""
    if options:
        for option in block.options:
            message = f"options are not used by {kind} questions"
            block.error(option.marker.line, option.marker.col, "unexpected-option", message)
    if answers:
        for answer in block.answers:
            message = f"answer: is not used by {kind} questions"
            block.error(answer.line, answer.col, "unexpected-answer", message)


def _prose_lines(lines: list[Line]) -> list[Line]:
    """Prompt lines outside fenced code, where wording checks apply."""
    result: list[Line] = []
    fence: str | None = None
    for line in lines:
        match = FENCE_RE.match(line.text)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if match:
            fence = match.group(1)
            continue
        if len(line.text) - len(line.text.lstrip()) >= 4:
            continue  # indented code
        result.append(line)
    return result


def _render_explain(block: QuizBlock) -> str:
    explain = block.explain
    if explain is None or not explain.text.strip():
        return ""
    return block.render_block(explain.text, explain.line, explain.col)


def _flag(block: QuizBlock, name: str, *, default: bool) -> bool:
    value = block.attr(name)
    return default if value not in ("true", "false") else value == "true"


def _points(block: QuizBlock) -> int:
    value = block.attr("points")
    if value is None or not value.isdigit() or int(value) > MAX_POINTS:
        return 1
    return int(value)
