"""Catalog, course and lesson pages; course images."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.routing import BaseConverter

from app.accounts.roles import sees_authoring_errors
from app.content.diagnostics import Diagnostic
from app.content.loader import SLUG_PATTERN, display_path
from app.content.model import Course, Lesson
from app.content.validation import IMAGE_SUFFIXES
from app.extensions import db
from app.gzip_parts import send_kept_parts
from app.lessons.fragments import course_nav_html, lesson_toc_html
from app.lessons.snapshots import lesson_response, read_state
from app.lessons.store import catalog, course_or_404
from app.progress.services import forget_cached_rows, record_visit
from app.progress.summary import course_progress, lesson_page_progress
from app.quizzes.learner import current_learner
from app.quizzes.page import lesson_quizzes
from app.security import ASSET_CONTENT_SECURITY_POLICY, content_security_policy

bp = Blueprint("lessons", __name__)
bp.add_app_template_global(course_nav_html)
bp.add_app_template_global(lesson_toc_html)


class ImagePathConverter(BaseConverter):
    """A path inside a course folder that ends in an image suffix; nothing else matches."""

    regex = r"[^?#]*?\.(?i:" + "|".join(s.lstrip(".") for s in sorted(IMAGE_SUFFIXES)) + ")"
    weight = 200
    part_isolating = False


class SlugConverter(BaseConverter):
    """Course and lesson slugs: letters, digits, ``-`` and ``_`` (so ``course.yml`` is no slug)."""

    regex = SLUG_PATTERN


@bp.record_once
def _register_converters(state) -> None:  # noqa: ANN001 - Flask's setup state
    state.app.url_map.converters["image_path"] = ImagePathConverter
    state.app.url_map.converters["slug"] = SlugConverter


@bp.get("/")
def catalog_page() -> ResponseReturnValue:
    return render_template("lessons/catalog.html", catalog=catalog())


@bp.get("/courses/<slug:course_slug>/")
def course_page(course_slug: str) -> ResponseReturnValue:
    course = course_or_404(course_slug)
    return render_template(
        "lessons/course.html",
        course=course,
        diagnostics=_authoring_diagnostics(course.path),
        progress=course_progress(current_learner(), course),
        authoring=sees_authoring_errors(),
    )


@bp.get("/courses/<slug:course_slug>/<slug:lesson_slug>/")
def lesson_page(course_slug: str, lesson_slug: str) -> ResponseReturnValue:
    course = course_or_404(course_slug)
    lesson = course.lesson(lesson_slug)
    if lesson is None:
        broken = course.broken_lesson(lesson_slug)
        if broken is not None and sees_authoring_errors():
            return render_template("lessons/broken.html", course=course, broken=broken), 500
        abort(404)
    learner = current_learner(create=True)
    assert learner is not None  # noqa: S101 - create=True always gives one
    state = read_state(learner, course.slug, lesson.slug)
    if state.visit_is_due(lesson.slug) and record_visit(learner, lesson):
        db.session.commit()
        forget_cached_rows()
        state = read_state(learner, course.slug, lesson.slug)
    return lesson_response(lesson, state, lambda: render_lesson(course, lesson))


def render_lesson(
    course: Course,
    lesson: Lesson,
    notices: Mapping[str, str] | None = None,
    submitted: Mapping[str, Any] | None = None,
) -> str:
    """The lesson page with the learner's latest result in each question.

    ``notices`` and ``submitted`` (by question id) show why a submitted answer was refused
    and keep what the learner entered.
    """
    previous, following = course.neighbours(lesson.slug)
    # The contents and the lesson's text, in page order, are the same for every learner.
    send_kept_parts(
        [lesson_toc_html(lesson), *(p for p in lesson.body_parts if isinstance(p, str))]
    )
    return render_template(
        "lessons/lesson.html",
        course=course,
        lesson=lesson,
        previous=previous,
        following=following,
        position=course.lessons.index(lesson) + 1,
        diagnostics=_authoring_diagnostics(course.path / lesson.file_name),
        quizzes=lesson_quizzes(course, lesson, notices, submitted),
        progress=lesson_page_progress(current_learner(), course, lesson),
        authoring=sees_authoring_errors(),
    )


@bp.get("/courses/<slug:course_slug>/<image_path:asset>")
@content_security_policy(ASSET_CONTENT_SECURITY_POLICY)
def course_asset(course_slug: str, asset: str) -> ResponseReturnValue:
    """Images from a course folder; ``send_from_directory`` refuses paths that escape it.

    Hidden and ``_``-prefixed folders are drafts, as for lessons, and are never served.
    """
    course = course_or_404(course_slug)
    if any(part.startswith((".", "_")) for part in asset.split("/")):
        abort(404)
    return send_from_directory(course.path, asset)


def _authoring_diagnostics(path: Path) -> list[Diagnostic]:
    """For authors, the content problems in ``path`` (a file, or a folder's files)."""
    if not sees_authoring_errors():
        return []
    shown = Path(display_path(path))
    return [d for d in catalog().diagnostics if Path(d.path).is_relative_to(shown)]
