"""Progress endpoints: the JSON API the lesson page syncs through, "Mark as complete",
and starting a course over.

The API works for accounts and guests alike (a guest through the id in their signed
session); writes need the ``X-CSRFToken`` header like every other POST.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from app.content.model import Lesson
from app.extensions import db
from app.lessons.store import course_or_404, lesson_or_404
from app.models.learner import aware, now
from app.progress.resets import reset_course
from app.progress.services import END_PERCENT, mark_complete, record_reading
from app.progress.summary import LessonStatus, course_progress
from app.quizzes.learner import Learner, current_learner
from app.security import no_store

api = Blueprint("api", __name__, url_prefix="/api/v1")
bp = Blueprint("progress", __name__, url_prefix="/courses/<slug:course_slug>")


# Progress is one learner's own: never kept by a shared cache or the browser.
api.after_request(no_store)
bp.after_request(no_store)


@api.get("/progress/<slug:course_slug>")
def course_json(course_slug: str) -> ResponseReturnValue:
    course = course_or_404(course_slug)
    return jsonify(course_progress(current_learner(), course).to_json())


@api.post("/progress/<slug:course_slug>/<slug:lesson_slug>")
def sync(course_slug: str, lesson_slug: str) -> ResponseReturnValue:
    """Record the section reached and the percentage read; repeating a report changes nothing."""
    course, lesson = lesson_or_404(course_slug, lesson_slug)
    section, percent_read = _reading_report(lesson)
    row = record_reading(_learner(), lesson, section, percent_read)
    db.session.commit()
    return jsonify(LessonStatus(lesson, row).to_json())


def _reading_report(lesson: Lesson) -> tuple[str | None, int]:
    if not request.is_json:
        abort(415, description='Send a JSON object: {"section": id, "percent_read": 0-100}.')
    data: Any = request.get_json()
    if not isinstance(data, dict):
        abort(400, description="The request body must be a JSON object.")
    percent_read = data.get("percent_read")
    if (
        not isinstance(percent_read, int)
        or isinstance(percent_read, bool)
        or not 0 <= percent_read <= END_PERCENT
    ):
        abort(400, description="percent_read must be a whole number from 0 to 100.")
    section = data.get("section")
    if section is not None and (not isinstance(section, str) or section not in lesson.heading_ids):
        abort(
            400,
            description=(
                "section must be the id of a heading in this lesson, as it appears in the "
                'page (such as "h-…"), or null for the top of the lesson.'
            ),
        )
    return section, percent_read


@bp.post("/<slug:lesson_slug>/complete")
def complete(course_slug: str, lesson_slug: str) -> ResponseReturnValue:
    """ "Mark as complete" (a plain form, so it works without JavaScript)."""
    _, lesson = lesson_or_404(course_slug, lesson_slug)
    mark_complete(_learner(), lesson)
    db.session.commit()
    flash(f"“{lesson.title}” is marked as complete.", "success")
    url = url_for("lessons.lesson_page", course_slug=course_slug, lesson_slug=lesson_slug)
    return redirect(f"{url}#lesson-progress", code=303)


@bp.route("/reset", methods=["GET", "POST"])
def reset(course_slug: str) -> ResponseReturnValue:
    """Start the course over: asks first, then records the time (attempts are kept)."""
    course = course_or_404(course_slug)
    if request.method == "GET":
        progress = course_progress(current_learner(), course)
        return render_template("progress/reset.html", course=course, progress=progress)
    learner = current_learner()
    if learner is not None:
        reset_course(learner, course.slug)
        db.session.commit()
    flash(
        f"You started “{course.title}” over. Your earlier answers are kept, "
        "but progress and scores now count from here.",
        "success",
    )
    return redirect(url_for("lessons.course_page", course_slug=course.slug), code=303)


def _learner() -> Learner:
    learner = current_learner(create=True)
    assert learner is not None  # noqa: S101 - create=True always gives one
    return learner


@bp.app_template_filter("ago")
def ago(moment: datetime) -> str:
    """ "just now", "5 minutes ago", "yesterday", "3 days ago", then the date."""
    seconds = max(0, int((now() - aware(moment)).total_seconds()))
    if seconds < 60:
        return "just now"
    for unit, size in (("minute", 60), ("hour", 3600)):
        count = seconds // size
        if count < (60 if unit == "minute" else 24):
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    days = seconds // 86400
    if days == 1:
        return "yesterday"
    if days < 30:
        return f"{days} days ago"
    return f"on {aware(moment):%-d %B %Y}"
