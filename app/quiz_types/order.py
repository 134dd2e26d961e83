"""Order questions: put the items of an ordered list back in the author's order."""

from __future__ import annotations

from app.quiz_types.base import Answer, QuestionType, check_unused, option_from
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
            line, col = (
                (block.items[0].line, block.items[0].col)
                if block.items
                else (
                    block.line,
                    block.col,
                )
            )
            block.error(line, col, "too-few-items", message)
        options: list[Option] = []
        seen: dict[str, int] = {}
        for item in block.items:
            if not item.text.strip():
                block.error(item.line, item.col, "empty-option", "order item has no text")
                continue
            if item.text in seen:
                first = block.file_line(seen[item.text])
                message = f"item {item.text!r} is listed twice (first at line {first})"
                block.error(item.line, item.col, "duplicate-option", message)
                continue
            seen[item.text] = item.line
            options.append(option_from(block, question_id, item, True))
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
