"""Order questions: put the items of an ordered list back in the author's order."""

from __future__ import annotations

from app.quiz_types.base import Answer, QuestionType, check_unused, distinct_texts, option_from
from app.quiz_types.block import QuizBlock
from app.quiz_types.spec import GradeResult, InvalidAnswer, Option, QuizSpec

MIN_ITEMS = 3


class OrderQuestion(QuestionType):
    key = "order"
    label = "Put in order"
    attributes = QuestionType.attributes | {"shuffle"}
    uses_items = True

    def parse_key(self, block: QuizBlock, question_id: str) -> tuple[list[Option], list[str]]:
        check_unused(block, "order", options=True, answers=True)
        shuffle = block.attrs.get("shuffle")
        if shuffle is not None and shuffle.text == "false":
            message = "order questions are always shuffled; remove shuffle=false"
            block.error(shuffle.line, shuffle.col, "invalid-attribute", message)
        if len(block.items) < MIN_ITEMS:
            message = (
                f"order list has {len(block.items)} items; "
                f"an order question needs at least {MIN_ITEMS}"
            )
            where = block.items[0] if block.items else block
            block.error(where.line, where.col, "too-few-items", message)
        options = [
            option_from(block, question_id, block.items[index], True)
            for index in distinct_texts(block, block.items, "order item")
        ]
        return options, []

    def grade(self, spec: QuizSpec, answer: Answer) -> GradeResult:
        ids = [answer] if isinstance(answer, str) else list(answer)
        expected = [option.id for option in spec.options]
        if sorted(ids) != sorted(expected):
            raise InvalidAnswer("place every item exactly once")
        in_place = sum(1 for given, wanted in zip(ids, expected, strict=True) if given == wanted)
        total = len(expected)
        correct = in_place == total
        detail = f"{in_place} of {total} items in the right place"
        return GradeResult(correct, in_place / total, detail=detail, in_place=in_place, total=total)
