"""Catalog, course and lesson pages; course images."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.routing import BaseConverter

from app.content.diagnostics import Diagnostic
from app.content.loader import SLUG_PATTERN, display_path
from app.content.model import Course
from app.content.validation import IMAGE_SUFFIXES
from app.extensions import talisman
from app.lessons.store import catalog
from app.quiz_types import public_options, registry_for
from app.security import ASSET_CONTENT_SECURITY_POLICY

bp = Blueprint("lessons", __name__)


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


@bp.app_template_global("quiz_options")
def quiz_options(question):  # noqa: ANN001, ANN201 - a QuizSpec in, (id, html) pairs out
    """Options in display order, without the key (see ``public_options``)."""
    return public_options(question)


@bp.get("/")
def catalog_page() -> ResponseReturnValue:
    return render_template("lessons/catalog.html", catalog=catalog())


@bp.get("/courses/<slug:course_slug>/")
def course_page(course_slug: str) -> ResponseReturnValue:
    course = _course_or_404(course_slug)
    return render_template(
        "lessons/course.html", course=course, diagnostics=_authoring_diagnostics(course.path)
    )


@bp.get("/courses/<slug:course_slug>/<slug:lesson_slug>/")
def lesson_page(course_slug: str, lesson_slug: str) -> ResponseReturnValue:
    course = _course_or_404(course_slug)
    lesson = course.lesson(lesson_slug)
    if lesson is None:
        broken = course.broken_lesson(lesson_slug)
        if broken is not None and current_app.debug:
            return render_template("lessons/broken.html", course=course, broken=broken), 500
        abort(404)
    previous, following = course.neighbours(lesson.slug)
    return render_template(
        "lessons/lesson.html",
        course=course,
        lesson=lesson,
        previous=previous,
        following=following,
        position=course.lessons.index(lesson) + 1,
        diagnostics=_authoring_diagnostics(course.path / lesson.file_name),
        quiz_labels={key: kind.label for key, kind in registry_for(current_app).items()},
    )


@bp.get("/courses/<slug:course_slug>/<image_path:asset>")
@talisman(content_security_policy=ASSET_CONTENT_SECURITY_POLICY)
def course_asset(course_slug: str, asset: str) -> ResponseReturnValue:
    """Images from a course folder; ``send_from_directory`` refuses paths that escape it.

    Hidden and ``_``-prefixed folders are drafts, as for lessons, and are never served.
    """
    course = _course_or_404(course_slug)
    if any(part.startswith((".", "_")) for part in asset.split("/")):
        abort(404)
    return send_from_directory(course.path, asset)


def _authoring_diagnostics(path: Path) -> list[Diagnostic]:
    """In debug mode, the content problems in ``path`` (a file, or a folder's files)."""
    if not current_app.debug:
        return []
    shown = Path(display_path(path))
    return [d for d in catalog().diagnostics if Path(d.path).is_relative_to(shown)]


def _course_or_404(slug: str) -> Course:
    course = catalog().course(slug)
    if course is None:
        abort(404)
    return course
