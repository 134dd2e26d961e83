"""Choice questions: single (radios), multi (checkboxes) and true/false."""

from __future__ import annotations

from dataclasses import replace

from app.quiz_types.base import (
    Answer,
    QuestionType,
    check_unused,
    choice_warnings,
    distinct_texts,
    option_from,
)
from app.quiz_types.block import QuizBlock
from app.quiz_types.spec import GradeResult, InvalidAnswer, Option, QuizSpec


def chosen_ids(spec: QuizSpec, answer: Answer) -> list[str]:
    """The learner's option ids, each known and listed once."""
    ids = [answer] if isinstance(answer, str) else list(answer)
    known = {option.id for option in spec.options}
    unknown = [value for value in ids if value not in known]
    if unknown:
        raise InvalidAnswer("the answer names an option this question does not have")
    if len(set(ids)) != len(ids):
        raise InvalidAnswer("the answer names an option twice")
    return ids


def _choice_options(block: QuizBlock, question_id: str) -> list[Option]:
    """Options with their feedback and misconception tag; the key stays in ``correct``."""
    options: list[Option] = []
    for index in distinct_texts(block, [source.text for source in block.options], "option"):
        source = block.options[index]
        feedback_html = ""
        if source.feedback:
            first = source.feedback[0]
            feedback = "\n".join(part.text for part in source.feedback)
            feedback_html = block.render_block(feedback, first.line, first.col)
        options.append(
            replace(
                option_from(block, question_id, source.text, source.correct),
                feedback_html=feedback_html,
                misconception=source.misconception.text if source.misconception else "",
            )
        )
    if len(block.options) < 2:
        message = f"a choice question needs at least 2 options, this one has {len(block.options)}"
        block.error(block.line, block.col, "too-few-options", message)
    return options


def _feedback(spec: QuizSpec, ids: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    chosen = [option for option in spec.options if option.id in ids]
    feedback = tuple(option.feedback_html for option in chosen if option.feedback_html)
    tags = tuple(option.misconception for option in chosen if option.misconception)
    return feedback, tags


class _ChoiceQuestion(QuestionType):
    """Options marked ``[x]``/``[ ]``; subclasses say how many may be correct."""

    kind = ""  # the question's name in messages
    attributes = QuestionType.attributes | {"shuffle"}

    def parse_key(self, block: QuizBlock, question_id: str) -> tuple[list[Option], list[str]]:
        check_unused(block, self.kind, options=False, answers=True)
        options = _choice_options(block, question_id)
        if block.options:
            self.check_correct_count(block, sum(1 for o in block.options if o.correct))
        choice_warnings(block)
        return options, []

    def check_correct_count(self, block: QuizBlock, correct: int) -> None:
        raise NotImplementedError

    def answer_texts(self, block: QuizBlock) -> list[str]:
        return [option.text.text for option in block.options if option.correct]


class SingleChoice(_ChoiceQuestion):
    key = "single"
    label = "Choose one answer"
    kind = "single-choice"

    def check_correct_count(self, block: QuizBlock, correct: int) -> None:
        if correct != 1:
            message = f"single-choice question has {correct} correct options"
            block.error(block.line, block.col, "single-correct-count", message)

    def grade(self, spec: QuizSpec, answer: Answer) -> GradeResult:
        ids = chosen_ids(spec, answer)
        if len(ids) != 1:
            raise InvalidAnswer("choose one option")
        correct = next(option.id for option in spec.options if option.correct) == ids[0]
        feedback, tags = _feedback(spec, ids)
        return GradeResult(correct, 1.0 if correct else 0.0, feedback, tags)


class MultiChoice(_ChoiceQuestion):
    key = "multi"
    label = "Choose all that apply"
    kind = "multi-choice"

    def check_correct_count(self, block: QuizBlock, correct: int) -> None:
        if correct == 0:
            message = "multi-choice question has no correct option"
            block.error(block.line, block.col, "multi-no-correct", message)

    def grade(self, spec: QuizSpec, answer: Answer) -> GradeResult:
        ids = set(chosen_ids(spec, answer))
        if not ids:
            raise InvalidAnswer("choose at least one option")
        right = {option.id for option in spec.options if option.correct}
        hits = len(ids & right)
        wrong = len(ids - right)
        correct = ids == right
        score = 1.0 if correct else max(0.0, (hits - wrong) / len(right))
        detail = f"{hits} of {len(right)} correct options chosen" + (
            f", {wrong} wrong" if wrong else ""
        )
        feedback, tags = _feedback(spec, [o.id for o in spec.options if o.id in ids])
        return GradeResult(correct, score, feedback, tags, detail, total=len(right))


class TrueFalse(QuestionType):
    key = "truefalse"
    label = "True or false"

    def parse_key(self, block: QuizBlock, question_id: str) -> tuple[list[Option], list[str]]:
        check_unused(block, "true/false", options=True, answers=False)
        values = [answer.text.lower() for answer in block.answers]
        if len(values) != 1 or values[0] not in ("true", "false"):
            where = block.answers[1] if len(block.answers) > 1 else None
            line, col = (where.line, where.col) if where else (block.line, block.col)
            message = "truefalse question needs exactly one answer: true or answer: false"
            block.error(line, col, "truefalse-answer", message)
            return [], []
        truth = values[0] == "true"
        options = [
            Option(id="true", html="True", text="True", correct=truth),
            Option(id="false", html="False", text="False", correct=not truth),
        ]
        return options, [values[0]]

    def grade(self, spec: QuizSpec, answer: Answer) -> GradeResult:
        value = answer if isinstance(answer, str) else (answer[0] if len(answer) == 1 else "")
        if value not in ("true", "false"):
            raise InvalidAnswer("choose True or False")
        correct = spec.answers[0] == value
        return GradeResult(correct, 1.0 if correct else 0.0)
