"""Binds the content store to the app: one per app, in ``app.extensions["content"]``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, current_app

from app.content.model import Catalog, Course, Lesson
from app.content.store import ContentStore
from app.quiz_types import registry_for

EXTENSION_KEY = "content"


def init_app(app: Flask) -> None:
    auto_reload = app.config["CONTENT_AUTO_RELOAD"]
    app.extensions[EXTENSION_KEY] = ContentStore(
        content_dir=Path(app.config["CONTENT_DIR"]),
        cache_dir=Path(app.instance_path) / "render-cache",
        auto_reload=app.debug if auto_reload is None else bool(auto_reload),
        registry=registry_for(app),
    )


def content_store(app: Flask | None = None) -> ContentStore:
    return (app or current_app).extensions[EXTENSION_KEY]


def catalog() -> Catalog:
    """The current catalog (loaded on first use, then shared by every request)."""
    return content_store().catalog()


def course_or_404(slug: str) -> Course:
    course = catalog().course(slug)
    if course is None:
        abort(404, description="There is no such course.")
    return course


def lesson_or_404(course_slug: str, lesson_slug: str) -> tuple[Course, Lesson]:
    course = course_or_404(course_slug)
    lesson = course.lesson(lesson_slug)
    if lesson is None:
        abort(404, description="There is no such lesson in this course.")
    return course, lesson
