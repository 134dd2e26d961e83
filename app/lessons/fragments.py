"""The lesson page's course navigation and contents, rendered once and kept.

The navigation depends on the course, the lesson being read and which lessons the
learner completed; the contents only on the lesson. Learners mostly complete lessons in
order, so few sets of completed lessons occur and most pages reuse a kept piece.
"""

from __future__ import annotations

from markupsafe import Markup

from app.content.model import Course, Lesson
from app.fragments import kept, macro

TEMPLATE = "_macros/lesson_nav.html"


def course_nav_html(
    course: Course, lesson: Lesson, position: int, completed: frozenset[str]
) -> Markup:
    render = macro(TEMPLATE, "course_nav")
    key = ("course-nav", id(render), course.slug, lesson.slug, position, completed)
    return kept(key, course, lambda: render(course, lesson, position, completed))


def lesson_toc_html(lesson: Lesson) -> Markup:
    render = macro(TEMPLATE, "lesson_toc")
    return kept(
        ("lesson-toc", id(render), lesson.course_slug, lesson.slug), lesson, lambda: render(lesson)
    )
