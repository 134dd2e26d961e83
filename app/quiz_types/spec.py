"""What a parsed question is and what grading returns: frozen, JSON-ready dataclasses.

A ``QuizSpec`` holds the answer key (``Option.correct``, ``answers``, feedback and the
explanation). It stays on the server: pages render questions through ``public_options``
and never through the key fields.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

MAX_TEXT_ANSWER = 500  # characters a learner may type into a text or number question


@dataclass(frozen=True)
class Option:
    """A choice, a true/false button or an order item; ``id`` is opaque and stable."""

    id: str
    html: str  # inline markdown, rendered
    text: str  # the author's source text
    correct: bool = False
    feedback_html: str = ""
    misconception: str = ""


@dataclass(frozen=True)
class QuizSpec:
    id: str
    type: str
    line: int  # the opening fence, 1-based, counted from the first line of the file
    col: int
    id_col: int  # where ``id=`` sits on the fence line (0 when missing)
    revision: str  # changes when the prompt, the options or the key change
    prompt_html: str
    options: tuple[Option, ...] = ()
    answers: tuple[str, ...] = ()  # ``answer:`` values as written (text, number, true/false)
    hints_html: tuple[str, ...] = ()
    explain_html: str = ""
    shuffle: bool = True
    points: int = 1
    exact: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuizSpec:
        fields = dict(data)
        fields["options"] = tuple(Option(**option) for option in data["options"])
        fields["answers"] = tuple(data["answers"])
        fields["hints_html"] = tuple(data["hints_html"])
        return cls(**fields)

    def shifted(self, lines: int) -> QuizSpec:
        return replace(self, line=self.line + lines)


@dataclass(frozen=True)
class GradeResult:
    """The server's verdict on one answer.

    ``correct`` is all-or-nothing (what scores count); ``score`` is partial credit from 0
    to 1 for display (multi-choice, order). ``feedback_html`` holds the feedback of the
    options the learner chose, ``misconceptions`` their tags.
    """

    correct: bool
    score: float
    feedback_html: tuple[str, ...] = ()
    misconceptions: tuple[str, ...] = ()
    detail: str = ""
    in_place: int | None = None  # order questions: items in the right position
    total: int | None = None  # order questions: items; multi: correct options


class InvalidAnswer(ValueError):
    """The learner's input cannot be graded (empty, too long, not a number, unknown option)."""


@dataclass(frozen=True)
class Located:
    """A piece of a quiz block and where it starts (1-based, counted from the body)."""

    text: str
    line: int
    col: int


@dataclass
class OptionSource:
    marker: Located  # the ``- [x]`` marker
    text: Located
    correct: bool
    feedback: list[Located] = field(default_factory=list)
    misconception: Located | None = None


def revision_of(
    kind: str,
    prompt: str,
    options: Sequence[Option],
    answers: Sequence[str],
    exact: bool = False,
) -> str:
    """A short hash over what decides the grade: type, prompt, options, key and matching."""
    payload = json.dumps(
        [kind, prompt, [[o.text, o.correct] for o in options], list(answers), exact],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def option_id(question_id: str, text: str) -> str:
    """Opaque and stable while the option's text is unchanged; says nothing about the key."""
    return "o" + hashlib.sha256(f"{question_id}\0{text}".encode()).hexdigest()[:10]


def public_options(spec: QuizSpec, seed: str = "") -> tuple[tuple[str, str], ...]:
    """``(id, html)`` pairs in display order: shuffled when the question says so.

    Order questions are always shuffled, and never shown in their correct order.
    """
    pairs = [(option.id, option.html) for option in spec.options]
    if spec.type == "order" or spec.shuffle:
        rng = random.Random(f"{seed}:{spec.id}:{spec.revision}")  # noqa: S311 - layout only
        shuffled = pairs[:]
        for _ in range(10):
            rng.shuffle(shuffled)
            if spec.type != "order" or shuffled != pairs:
                break
        if spec.type == "order" and shuffled == pairs and len(pairs) > 1:
            shuffled = pairs[1:] + pairs[:1]
        pairs = shuffled
    return tuple(pairs)
