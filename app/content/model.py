"""Frozen dataclasses that carry a loaded course from the content layer to the views."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from app.content.diagnostics import Diagnostic
from app.content.reading import Outline
from app.quiz_types.spec import QuizSpec

# Where the renderer left a knowledge check in a lesson's HTML (raw HTML is off in
# lessons, so authors cannot write this marker themselves).
CHECK_MARKER_RE = re.compile(r"<!--knowledge-check:(\d+)-->\n?")


def check_marker(index: int) -> str:
    return f"<!--knowledge-check:{index}-->\n"


@dataclass(frozen=True)
class TocEntry:
    id: str
    title: str
    level: int  # 2 or 3


@dataclass(frozen=True)
class LinkRef:
    """A relative link or image in a lesson, kept so the loader can check its target.

    ``kind`` is ``anchor`` (same page), ``lesson``, ``image``, ``asset`` or ``outside``
    (a path that leaves the course folder); ``line``/``col`` count from the body.
    """

    line: int
    col: int
    kind: str
    target: str
    anchor: str


@dataclass(frozen=True)
class BrokenQuestion:
    """A quiz block with an error: left out for learners, shown to authors in debug mode."""

    id: str
    line: int
    col: int
    id_col: int
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class KnowledgeCheck:
    """A run of quiz blocks separated only by blank lines, under one heading."""

    index: int
    section: str  # id of the h2/h3 the check sits under ("" before the first heading)
    items: tuple[QuizSpec | BrokenQuestion, ...]

    @cached_property
    def questions(self) -> tuple[QuizSpec, ...]:
        return tuple(item for item in self.items if isinstance(item, QuizSpec))

    @property
    def broken(self) -> tuple[BrokenQuestion, ...]:
        return tuple(item for item in self.items if isinstance(item, BrokenQuestion))


@dataclass(frozen=True)
class Lesson:
    course_slug: str
    slug: str
    file_name: str
    title: str
    summary: str  # plain text, for page descriptions
    summary_html: str  # its inline markdown rendered, for the course page
    objectives_html: tuple[str, ...]
    tags: tuple[str, ...]
    minutes: int
    html: str
    toc: tuple[TocEntry, ...]
    heading_ids: tuple[str, ...]
    words: int
    code_blocks: int
    content_hash: str
    checks: tuple[KnowledgeCheck, ...] = ()

    @cached_property
    def questions(self) -> tuple[QuizSpec, ...]:
        return tuple(question for check in self.checks for question in check.questions)

    def question(self, question_id: str) -> QuizSpec | None:
        return self._questions_by_id.get(question_id)

    @cached_property
    def _questions_by_id(self) -> dict[str, QuizSpec]:
        return {question.id: question for question in reversed(self.questions)}  # the first wins

    @cached_property
    def outline(self) -> Outline:
        return Outline.of(self.html)

    @cached_property
    def body_parts(self) -> tuple[str | KnowledgeCheck, ...]:
        """The HTML cut at each knowledge check: text, check, text, ..."""
        parts: list[str | KnowledgeCheck] = []
        pieces = CHECK_MARKER_RE.split(self.html)
        for position, piece in enumerate(pieces):
            if position % 2 == 0:
                if piece:
                    parts.append(piece)
            elif int(piece) < len(self.checks):
                parts.append(self.checks[int(piece)])
        return tuple(parts)


@dataclass(frozen=True)
class BrokenLesson:
    """A lesson file that could not be loaded: a 404 for learners, an error box for authors."""

    course_slug: str
    slug: str
    file_name: str
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Course:
    slug: str
    title: str
    summary: str
    description_html: str
    level: str
    lessons: tuple[Lesson, ...]
    broken: tuple[BrokenLesson, ...] = ()
    path: Path = field(default=Path(), compare=False)

    @property
    def minutes(self) -> int:
        return sum(lesson.minutes for lesson in self.lessons)

    def lesson(self, slug: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.slug == slug), None)

    def broken_lesson(self, slug: str) -> BrokenLesson | None:
        return next((lesson for lesson in self.broken if lesson.slug == slug), None)

    def neighbours(self, slug: str) -> tuple[Lesson | None, Lesson | None]:
        """The lessons before and after ``slug`` in course order."""
        slugs = [lesson.slug for lesson in self.lessons]
        index = slugs.index(slug)
        before = self.lessons[index - 1] if index > 0 else None
        after = self.lessons[index + 1] if index + 1 < len(self.lessons) else None
        return before, after


@dataclass(frozen=True)
class LoadStats:
    rendered: int = 0  # markdown documents rendered by this load
    from_memory: int = 0  # reused from this process's previous load
    from_disk: int = 0  # read from the rendered-HTML cache in instance/
    milliseconds: float = 0.0


@dataclass(frozen=True)
class Catalog:
    courses: tuple[Course, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    stats: LoadStats = LoadStats()

    def course(self, slug: str) -> Course | None:
        return next((course for course in self.courses if course.slug == slug), None)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)
