"""What the page shows for each question: a view built from the spec and the learner's state.

Before the learner answers, a view carries no part of the key. The result, the chosen
options' feedback, the explanation and the correct answer appear only after an attempt
or a reveal, and follow the latest attempt.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import escape

from app.content.model import KnowledgeCheck
from app.fragments import kept, submission_id
from app.quiz_types import GradeResult, InvalidAnswer, QuestionType, QuizSpec, public_options
from app.quiz_types.free import is_pattern
from app.quizzes.services import QuestionState

LIST_ANSWER_TYPES = ("multi", "order")


@dataclass(frozen=True)
class QuestionView:
    spec: QuizSpec
    label: str  # what to do: "Choose one answer"
    number: int  # "Question <number> of <total>" within its knowledge check
    total: int
    submission_id: str  # fresh for every render
    url: str  # the question's endpoints: url + "answer", "hint" or "reveal"
    revision: str  # the keyed revision the forms carry (see ``tokens``)
    options: tuple[tuple[str, str], ...]  # (id, html) in display order
    orders: tuple[tuple[tuple[str, str], ...], ...] = ()  # every order it may be shown in
    chosen: frozenset[str] = frozenset()  # options to show as selected
    typed: str = ""  # the text to show in a typed answer's box
    result: GradeResult | None = None  # the latest attempt's, when it fits this revision
    attempt_number: int | None = None
    answered: bool = False  # since the learner last started the course over
    stale: bool = False  # the latest attempt answered an older version of the question
    notice: str = ""  # why the last submission was refused
    revealed: bool = False
    can_reveal: bool = False
    hints: tuple[str, ...] = ()  # hints shown so far
    key_html: tuple[str, ...] = ()  # the correct answer, once revealed
    csrf: str = ""  # the forms' CSRF token; empty: the request's own (``csrf_token()``)

    @property
    def show_explanation(self) -> bool:
        return self.revealed or bool(self.result and self.result.correct)

    @property
    def next_hint(self) -> int | None:
        shown = len(self.hints)
        return shown + 1 if shown < len(self.spec.hints_html) else None


@dataclass(frozen=True)
class CheckSummary:
    index: int
    total: int
    answered: int
    first_try_correct: int

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.answered == self.total


def question_view(
    spec: QuizSpec,
    kind: QuestionType,
    state: QuestionState | None,
    number: int,
    total: int,
    url: str,
    revision: str,
    notice: str = "",
    submitted: Any = None,
) -> QuestionView:
    """The question as the learner sees it; ``submitted`` refills a refused form."""
    state = state or QuestionState()
    latest = state.latest
    result = None
    stale = False
    shown_answer = submitted
    if latest is not None:
        if latest.revision == spec.revision:
            result = _regrade(kind, spec, latest.answer)
            if submitted is None:
                shown_answer = latest.answer
        else:
            stale = True
    revealed = state.revealed and not stale
    values = _as_list(shown_answer)
    orders = display_orders(spec, values)
    can_reveal = (
        state.answered_wrong and not revealed and not (result is not None and result.correct)
    )
    view = QuestionView(
        spec=spec,
        label=kind.label,
        number=number,
        total=total,
        submission_id=submission_id(),
        url=url,
        revision=revision,
        options=secrets.choice(orders),
        orders=orders,
        chosen=frozenset(values),
        typed=values[0] if spec.type in ("text", "number") and values else "",
        result=result,
        attempt_number=latest.attempt_number if latest is not None else None,
        answered=state.answered,
        stale=stale,
        notice=notice,
        revealed=revealed,
        can_reveal=can_reveal,
        hints=spec.hints_html[: state.hints_shown],
    )
    if view.revealed:
        view = _with_key(view)
    return view


def check_summary(check: KnowledgeCheck, states: Mapping[str, QuestionState]) -> CheckSummary:
    answered = first = 0
    for spec in check.questions:
        state = states.get(spec.id)
        if state is not None and state.answered:
            answered += 1
            first += 1 if state.first_try_correct else 0
    return CheckSummary(check.index, len(check.questions), answered, first)


def normalise_answer(spec: QuizSpec, values: Sequence[str]) -> str | list[str]:
    """Lists for multi and order questions; one string for the others.

    A multi-choice answer is a set: its option ids are kept in the author's order, so the
    same choice is stored the same way however the page shuffled the options.
    """
    if spec.type == "multi":
        position = {option.id: index for index, option in enumerate(spec.options)}
        return sorted(values, key=lambda value: position.get(value, len(position)))
    if spec.type in LIST_ANSWER_TYPES or len(values) != 1:
        return list(values)
    return values[0]


def order_from_positions(spec: QuizSpec, form: Mapping[str, str]) -> list[str]:
    """Option ids in the order given by ``position-<id>`` selects (values 1 to N)."""
    count = len(spec.options)
    positions: dict[int, str] = {}
    for option in spec.options:
        raw = form.get(f"position-{option.id}", "")
        if not raw.isdigit() or not 1 <= int(raw) <= count:
            raise InvalidAnswer(f"give every item a position from 1 to {count}")
        if int(raw) in positions:
            raise InvalidAnswer(f"give each item a different position from 1 to {count}")
        positions[int(raw)] = option.id
    return [positions[n] for n in sorted(positions)]


def _as_list(answer: Any) -> list[str]:
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, list | tuple):
        return [value for value in answer if isinstance(value, str)]
    return []


def display_orders(spec: QuizSpec, values: list[str]) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The orders the options may be shown in; each render picks one at random.

    Choices are shuffled afresh for every render, among ``ORDERS_PER_QUESTION`` orders,
    so a question nobody answered yet can be rendered once per order and reused
    (``fragments``). An order question keeps the learner's order; true/false is fixed.
    """
    html = {option.id: option.html for option in spec.options}
    if spec.type == "order" and sorted(values) == sorted(html):
        return (tuple((option_id, html[option_id]) for option_id in values),)
    if spec.type == "truefalse":
        return (tuple((option.id, option.html) for option in spec.options),)  # True, then False
    key = ("choice-orders", spec.id, spec.revision)
    return kept(key, spec, lambda: _orders(spec))


def _orders(spec: QuizSpec) -> tuple[tuple[tuple[str, str], ...], ...]:
    orders = (public_options(spec, seed=str(seed)) for seed in range(ORDERS_PER_QUESTION))
    return tuple(dict.fromkeys(orders))  # once each (a question without shuffle has one)


ORDERS_PER_QUESTION = 8


def _regrade(kind: QuestionType, spec: QuizSpec, answer: Any) -> GradeResult | None:
    """The stored verdict's details; grading the same answer on the same revision repeats it."""
    try:
        return kind.grade(spec, answer)
    except InvalidAnswer:
        return None


def _with_key(view: QuestionView) -> QuestionView:
    spec = view.spec
    if spec.type == "order":
        key = tuple(option.html for option in spec.options)
    elif spec.options:
        key = tuple(option.html for option in spec.options if option.correct)
    else:
        plain = [answer for answer in spec.answers if not is_pattern(answer)]
        key = (str(escape(plain[0])),) if plain else ()
    return replace(view, key_html=key)
