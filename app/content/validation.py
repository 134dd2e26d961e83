"""Checks that need the whole course: do links, anchors and images point somewhere?"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.content.diagnostics import Problem, warning
from app.content.markdown import heading_id
from app.content.model import Lesson, LinkRef

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})


def check_links(
    links: Sequence[LinkRef],
    lesson: Lesson,
    lessons: Sequence[Lesson],
    course_dir: Path,
    broken_files: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Warnings (never errors) for each link whose target is missing."""
    by_file = {other.file_name: other for other in lessons}
    problems: list[Problem] = []
    for ref in links:
        message = _link_problem(ref, lesson, by_file, course_dir, broken_files)
        if message:
            code, text = message
            problems.append(warning(ref.line, ref.col, code, text))
    return problems


def _link_problem(
    ref: LinkRef,
    lesson: Lesson,
    by_file: dict[str, Lesson],
    course_dir: Path,
    broken_files: frozenset[str],
) -> tuple[str, str] | None:
    if ref.kind == "outside":
        return "path-outside-course", f"{ref.target!r} is outside the course folder"
    if ref.kind == "anchor":
        if heading_id(ref.anchor) not in lesson.heading_ids:
            return "broken-anchor", f"no heading with anchor #{ref.anchor} in this lesson"
        return None
    if ref.kind == "lesson":
        target = by_file.get(ref.target)
        if target is None and ref.target in broken_files:
            return "broken-link", f"link to {ref.target!r}, which failed to load"
        if target is None:
            return "broken-link", f"link to {ref.target!r}, which is not a lesson of this course"
        if ref.anchor and heading_id(ref.anchor) not in target.heading_ids:
            return "broken-anchor", f"no heading with anchor #{ref.anchor} in {ref.target}"
        return None
    path = course_dir / ref.target
    if Path(ref.target).suffix.lower() not in IMAGE_SUFFIXES:
        return "not-served", f"{ref.target!r} is not an image, and only images are served"
    if not path.is_file():
        return "missing-image", f"{ref.target!r} does not exist in the course folder"
    return None
