"""Question types: a registry of classes, one per ``type=``, each with parse and grade.

The six built-in types are always present; ``QUIZ_TYPES`` in the configuration adds
more. Two types with the same key fail app creation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from app.quiz_types.base import QuestionType
from app.quiz_types.block import QuizBlock, read_block
from app.quiz_types.choice import MultiChoice, SingleChoice, TrueFalse
from app.quiz_types.free import NumberQuestion, TextQuestion, parse_number_rule
from app.quiz_types.order import OrderQuestion
from app.quiz_types.spec import (
    GradeResult,
    InvalidAnswer,
    Option,
    QuizSpec,
    public_options,
)

__all__ = [
    "BUILTIN_TYPES",
    "DEFAULT_REGISTRY",
    "DuplicateTypeError",
    "GradeResult",
    "InvalidAnswer",
    "Option",
    "QuestionType",
    "QuizBlock",
    "QuizSpec",
    "Registry",
    "build_registry",
    "parse_block",
    "public_options",
    "read_block",
]

EXTENSION_KEY = "quiz_types"
BUILTIN_TYPES: tuple[type[QuestionType], ...] = (
    SingleChoice,
    MultiChoice,
    TrueFalse,
    TextQuestion,
    NumberQuestion,
    OrderQuestion,
)


class DuplicateTypeError(RuntimeError):
    """Two question types claim the same ``type=`` key."""


class Registry(Mapping[str, QuestionType]):
    """``type=`` key → question type instance, in registration order."""

    def __init__(self, types: Iterable[type[QuestionType]]) -> None:
        self._types: dict[str, QuestionType] = {}
        for kind in types:
            if not kind.key:
                raise DuplicateTypeError(f"question type {kind.__qualname__} has no key")
            if kind.key in self._types:
                first = type(self._types[kind.key]).__qualname__
                raise DuplicateTypeError(
                    f"question type key {kind.key!r} is registered twice "
                    f"({first} and {kind.__qualname__})"
                )
            self._types[kind.key] = kind()

    def __getitem__(self, key: str) -> QuestionType:
        return self._types[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    @property
    def fingerprint(self) -> str:
        """Part of the render-cache key: which class handles which key."""
        return ",".join(
            f"{key}={type(kind).__module__}.{type(kind).__qualname__}"
            for key, kind in self._types.items()
        )

    def infer(self, block: QuizBlock) -> str | None:
        """The type of a block without ``type=``; ``None`` when nothing says."""
        if block.options:
            return "multi" if sum(1 for o in block.options if o.correct) >= 2 else "single"
        if block.answers:
            values = [answer.text for answer in block.answers]
            if len(values) == 1 and values[0].lower() in ("true", "false"):
                return "truefalse"
            if all(not isinstance(parse_number_rule(v), str) for v in values):
                return "number"
            return "text"
        if block.items:
            return "order"
        return None


def build_registry(extra: Iterable[type[QuestionType]] = ()) -> Registry:
    return Registry((*BUILTIN_TYPES, *extra))


DEFAULT_REGISTRY = build_registry()


def parse_block(block: QuizBlock, registry: Registry = DEFAULT_REGISTRY) -> QuizSpec | None:
    """Dispatch ``block`` to its type; ``None`` when the type is unknown or undecidable."""
    declared = block.attrs.get("type")
    if declared is not None:
        if declared.text not in registry:
            message = f"unknown type {declared.text!r} (use one of: {', '.join(registry)})"
            block.error(declared.line, declared.col, "unknown-type", message)
            return None
        key = declared.text
    else:
        inferred = registry.infer(block)
        if inferred is None:
            message = "question has no options and no answer: lines"
            block.error(block.line, block.col, "no-options", message)
            return None
        key = inferred
    return registry[key].parse(block)


def init_app(app: Any) -> None:
    """Build this app's registry; a duplicate key raises ``DuplicateTypeError`` here."""
    app.extensions[EXTENSION_KEY] = build_registry(app.config.get("QUIZ_TYPES", ()))


def registry_for(app: Any) -> Registry:
    registry: Registry = app.extensions.get(EXTENSION_KEY, DEFAULT_REGISTRY)
    return registry
