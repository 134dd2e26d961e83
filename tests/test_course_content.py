"""The bundled Flask Fundamentals course meets the course's writing rules, lesson by lesson."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.content.loader import load_catalog
from app.content.model import Course, KnowledgeCheck, Lesson
from tests.conftest import BUNDLED_CONTENT
from tests.course_rules import (
    ALL_OR_NONE_RE,
    CODE_LINE_CHARS,
    PROSE_WORDS,
    indented_fences,
    long_code_lines,
    prose_words,
)
from tests.example_runner import examples_in

COURSE = "flask-fundamentals"
PART_ONE = (
    "what-is-flask",
    "what-micro-means",
    "wsgi",
    "werkzeug",
    "jinja2",
    "click-and-the-flask-command",
    "first-flask-app",
    "routing-and-views",
)
PART_TWO = (
    "requests-responses-contexts",
    "templates-and-static-files",
    "extensions",
    "structuring-larger-apps",
    "async-in-flask",
    "testing-flask-apps",
    "deploying-flask",
)
INTRODUCTIONS = {"what-is-flask", "what-micro-means"}  # the lessons that need no runnable example
CHOICE_TYPES = {"single", "multi"}


def bundled_course() -> Course:
    course = load_catalog(BUNDLED_CONTENT).course(COURSE)
    assert course is not None
    return course


COURSE_OBJECT = bundled_course()
LESSONS = {lesson.slug: lesson for lesson in COURSE_OBJECT.lessons}


def path_of(lesson: Lesson) -> Path:
    return BUNDLED_CONTENT / COURSE / lesson.file_name


def source_of(lesson: Lesson) -> str:
    return path_of(lesson).read_text("utf-8")


def final_check(lesson: Lesson) -> KnowledgeCheck:
    assert lesson.checks, f"{lesson.file_name} has no knowledge check"
    return lesson.checks[-1]


lesson_params = pytest.mark.parametrize(
    "lesson", list(LESSONS.values()), ids=lambda lesson: lesson.slug
)


def test_the_course_has_its_fifteen_lessons_in_order() -> None:
    assert tuple(LESSONS) == PART_ONE + PART_TWO
    assert not COURSE_OBJECT.broken


@lesson_params
def test_front_matter_has_summary_objectives_and_tags(lesson: Lesson) -> None:
    assert lesson.title and lesson.summary
    assert 3 <= len(lesson.objectives_html) <= 5, len(lesson.objectives_html)
    assert lesson.tags


@lesson_params
def test_prose_length_is_within_the_range(lesson: Lesson) -> None:
    source = source_of(lesson)
    assert not indented_fences(source), "every fence starts at column 0"
    assert prose_words(source) in PROSE_WORDS, prose_words(source)


@lesson_params
def test_code_lines_fit_the_lesson_column(lesson: Lesson) -> None:
    wide = long_code_lines(source_of(lesson))
    assert not wide, f"lines over {CODE_LINE_CHARS} characters scroll sideways: {wide}"


@lesson_params
def test_the_lesson_ends_with_a_knowledge_check(lesson: Lesson) -> None:
    check = final_check(lesson)
    assert lesson.body_parts[-1] is check, "nothing may follow the final knowledge check"
    assert not check.broken
    assert 4 <= len(check.questions) <= 6, len(check.questions)
    assert len({question.type for question in check.questions}) >= 2


@lesson_params
def test_every_question_has_a_hint_an_explanation_and_feedback_on_wrong_options(
    lesson: Lesson,
) -> None:
    for question in lesson.questions:
        assert question.explain_html.strip(), question.id
        assert question.hints_html, question.id
        if question.type in CHOICE_TYPES:
            for option in question.options:
                assert option.correct or option.feedback_html.strip(), (question.id, option.text)


@lesson_params
def test_no_all_or_none_of_the_above(lesson: Lesson) -> None:
    for question in lesson.questions:
        texts = [option.text for option in question.options] + list(question.answers)
        assert not [t for t in texts if ALL_OR_NONE_RE.search(t)], question.id


@lesson_params
def test_hands_on_lessons_have_two_runnable_examples(lesson: Lesson) -> None:
    if lesson.slug not in INTRODUCTIONS:
        assert len(examples_in(path_of(lesson))) >= 2


@pytest.mark.parametrize(
    ("part", "questions", "examples"),
    [(PART_ONE, 36, 12), (PART_ONE + PART_TWO, 70, 20)],
    ids=["part-one", "whole-course"],
)
def test_question_and_example_totals(part: tuple[str, ...], questions: int, examples: int) -> None:
    lessons = [LESSONS[slug] for slug in part]
    assert sum(len(lesson.questions) for lesson in lessons) >= questions
    assert sum(len(examples_in(path_of(lesson))) for lesson in lessons) >= examples


def correct_texts(lesson: Lesson) -> list[str]:
    found = []
    for question in lesson.questions:
        found += [o.text for o in question.options if o.correct] + list(question.answers)
    return found


def prompt_of(lesson: Lesson, pattern: str) -> str:
    questions = [q for q in lesson.questions if re.search(pattern, q.prompt_html, re.IGNORECASE)]
    assert questions, f"no question in {lesson.slug} asks about {pattern!r}"
    return questions[0].id


def test_lesson_one_asks_about_the_engine_the_creator_and_micro() -> None:
    lesson = LESSONS["what-is-flask"]
    answers = " | ".join(correct_texts(lesson))
    assert re.search(r"jinja", answers, re.IGNORECASE), "the default template engine"
    assert "Armin Ronacher" in answers, "the creator of Flask"
    micro = lesson.question(prompt_of(lesson, r"micro"))
    assert micro is not None and micro.type == "multi"
    wrong = " ".join(o.text for o in micro.options if not o.correct).lower()
    right = " ".join(o.text for o in micro.options if o.correct).lower()
    assert "database" in right or "orm" in right
    assert "small computer" in wrong or "one user" in wrong
