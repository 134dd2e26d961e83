"""The lesson page's course navigation and contents, rendered once and kept.

The navigation depends on the course and on which lessons the learner completed, and on
the page only for the lesson marked as current and its position: it is kept per course
and set of completed lessons with markers where those go. Learners mostly complete
lessons in order, so few sets occur. The contents depend only on the lesson.
"""

from __future__ import annotations

import re

from markupsafe import Markup

from app.content.model import Course, Lesson
from app.fragments import kept, macro

TEMPLATE = "_macros/lesson_nav.html"
CURRENT = ' aria-current="page" data-current-lesson'
MARKER_RE = re.compile("\x00[\\w-]+\x00")  # slugs and "position"


def marker(name: str) -> str:
    """Where a page fills in something of its own (a NUL never occurs in escaped HTML)."""
    return f"\x00{name}\x00"


def course_nav_html(
    course: Course, lesson: Lesson, position: int, completed: frozenset[str]
) -> Markup:
    render = macro(TEMPLATE, "course_nav")
    key = ("course-nav", id(render), course.slug, completed)
    html = str(kept(key, course, lambda: render(course, completed, marker)))
    html = html.replace(marker("position"), str(position), 1)
    html = MARKER_RE.sub("", html.replace(marker(lesson.slug), CURRENT, 1))
    return Markup(html)  # noqa: S704 - the macro's escaped output, our attributes and a number


def lesson_toc_html(lesson: Lesson) -> Markup:
    render = macro(TEMPLATE, "lesson_toc")
    key = ("lesson-toc", id(render), lesson.course_slug, lesson.slug)
    return kept(key, lesson, lambda: render(lesson))
