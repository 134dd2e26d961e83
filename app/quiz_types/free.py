"""Typed answers: text (alternatives, /regex/) and number (value, tolerance, range)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.content.diagnostics import warning
from app.quiz_types.base import Answer, QuestionType, check_unused
from app.quiz_types.block import QuizBlock
from app.quiz_types.spec import MAX_TEXT_ANSWER, GradeResult, InvalidAnswer, Option, QuizSpec

# A number as people type it: sign, "." decimals, "," or space thousands separators.
_DIGITS = r"(?:[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d{0,2}(?:[ \u00a0\u202f]\d{3})+|\d+)"
NUMBER_RE = re.compile(
    rf"([+\-\u2212]?)(?:({_DIGITS})(?:\.(\d+))?|\.(\d+))(?:[eE]([+-]?\d{{1,3}}))?"
)
MINUS = "\u2212"
TOLERANCE_RE = re.compile(r"(.+?)\s*(?:±|\+-|\+/-)\s*(.+)")
RANGE_RE = re.compile(r"([\[(])(.*)([\])])")


def parse_number(text: str) -> Decimal | None:
    """``-1,234.5`` → Decimal; ``None`` when it is not a number."""
    match = NUMBER_RE.fullmatch(text.strip())
    if match is None:
        return None
    sign, whole, fraction, bare_fraction, exponent = match.groups()
    digits = re.sub(r"[, \u00a0\u202f]", "", whole or "0")
    negative = "-" if sign in ("-", MINUS) else ""
    literal = f"{negative}{digits}.{fraction or bare_fraction or 0}"
    try:
        value = Decimal(literal)
        return value.scaleb(int(exponent)) if exponent else value
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        return None


@dataclass(frozen=True)
class NumberRule:
    """Accepted values: ``low``..``high`` with each end open or closed."""

    low: Decimal
    high: Decimal
    low_open: bool = False
    high_open: bool = False

    def accepts(self, value: Decimal) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


def parse_number_rule(text: str) -> NumberRule | str:
    """``5000``, ``3.14 ± 0.01`` (or ``+-``), ``[5, 7)``; a message when it is invalid."""
    text = text.strip()
    ranged = RANGE_RE.fullmatch(text)
    if ranged:
        bounds = _split_bounds(ranged.group(2))
        if bounds is None:
            return f"invalid number or range: {text!r}"
        low, high = bounds
        if low > high:
            return f"invalid range {text!r}: the lower bound is above the upper bound"
        return NumberRule(low, high, ranged.group(1) == "(", ranged.group(3) == ")")
    tolerance = TOLERANCE_RE.fullmatch(text)
    if tolerance:
        value, spread = parse_number(tolerance.group(1)), parse_number(tolerance.group(2))
        if value is None or spread is None or spread < 0:
            return f"invalid number or range: {text!r}"
        return NumberRule(value - spread, value + spread)
    value = parse_number(text)
    if value is None:
        return f"invalid number or range: {text!r}"
    return NumberRule(value, value)


def _split_bounds(inner: str) -> tuple[Decimal, Decimal] | None:
    """``5, 7`` or ``1,000, 2,000`` or ``1,000;2,000``: the one split where both sides parse."""
    found: list[tuple[Decimal, Decimal]] = []
    for match in re.finditer(r"[,;]", inner):
        low, high = parse_number(inner[: match.start()]), parse_number(inner[match.end() :])
        if low is not None and high is not None:
            found.append((low, high))
    return found[0] if len(found) == 1 else None


def _typed(answer: Answer) -> str:
    value = answer if isinstance(answer, str) else (answer[0] if len(answer) == 1 else None)
    if value is None:
        raise InvalidAnswer("type one answer")
    if len(value) > MAX_TEXT_ANSWER:
        raise InvalidAnswer(f"answers are limited to {MAX_TEXT_ANSWER} characters")
    if not value.strip():
        raise InvalidAnswer("type an answer")
    return value


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _compile(rule: str, exact: bool) -> re.Pattern[str]:
    return re.compile(rule[1:-1], 0 if exact else re.IGNORECASE)


def is_pattern(answer: str) -> bool:
    """An ``answer:`` written as ``/regex/``."""
    return len(answer) >= 2 and answer.startswith("/") and answer.endswith("/")


class TextQuestion(QuestionType):
    key = "text"
    label = "Type your answer"
    attributes = QuestionType.attributes | {"exact"}

    def parse_key(self, block: QuizBlock, question_id: str) -> tuple[list[Option], list[str]]:
        check_unused(block, "text", options=True, answers=False)
        exact = block.attr("exact") == "true"
        for answer in block.answers:
            if is_pattern(answer.text):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        _compile(answer.text, exact)
                    except re.error as exc:
                        col = answer.col + 1 + (exc.pos or 0)
                        message = f"invalid regex: {exc.msg}"
                        block.error(answer.line, col, "invalid-regex", message)
                for caught_warning in caught:
                    message = (
                        f"regex may change meaning in a later Python: {caught_warning.message}"
                    )
                    block.add(warning(answer.line, answer.col, "regex-warning", message))
        if not block.answers:
            block.error(block.line, block.col, "missing-answer", "text question has no answer:")
        return [], [answer.text for answer in block.answers]

    def answer_texts(self, block: QuizBlock) -> list[str]:
        return [a.text for a in block.answers if not is_pattern(a.text)]

    def grade(self, spec: QuizSpec, answer: Answer) -> GradeResult:
        given = _typed(answer)
        correct = any(self._matches(rule, given, spec.exact) for rule in spec.answers)
        return GradeResult(correct, 1.0 if correct else 0.0)

    @staticmethod
    def _matches(rule: str, given: str, exact: bool) -> bool:
        if exact and ("\n" in given or "\r" in given):
            return False  # an exact answer is one line; "$" would match before a final "\n"
        if is_pattern(rule):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # reported by the checker
                pattern = _compile(rule, exact)
            return pattern.search(given if exact else given.strip()) is not None
        return rule == given if exact else _normal(rule) == _normal(given)


class NumberQuestion(QuestionType):
    key = "number"
    label = "Type a number"

    def parse_key(self, block: QuizBlock, question_id: str) -> tuple[list[Option], list[str]]:
        check_unused(block, "number", options=True, answers=False)
        for answer in block.answers:
            rule = parse_number_rule(answer.text)
            if isinstance(rule, str):
                block.error(answer.line, answer.col, "invalid-number", rule)
        if not block.answers:
            block.error(block.line, block.col, "missing-answer", "number question has no answer:")
        return [], [answer.text for answer in block.answers]

    def answer_texts(self, block: QuizBlock) -> list[str]:
        return [a.text for a in block.answers if parse_number(a.text) is not None]

    def grade(self, spec: QuizSpec, answer: Answer) -> GradeResult:
        given = _typed(answer)
        value = parse_number(given)
        if value is None:
            raise InvalidAnswer(f"{given.strip()!r} is not a number")
        rules = [parse_number_rule(text) for text in spec.answers]
        correct = any(isinstance(rule, NumberRule) and rule.accepts(value) for rule in rules)
        return GradeResult(correct, 1.0 if correct else 0.0)
