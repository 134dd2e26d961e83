"""Questions on the lesson page (no key in the HTML), broken blocks, the type registry and
``flask content check`` output formats."""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask

from app.content.model import Course
from app.lessons.store import catalog
from app.quiz_types import DuplicateTypeError, QuizSpec, TrueFalse
from tests.conftest import SAMPLE_COURSE, MakeApp, WriteContent

ALL_TYPES = {"single", "multi", "truefalse", "text", "number", "order"}
SCRIPT_HOOKS = {
    "data-quiz",
    "data-quiz-answer",
    "data-quiz-order",
    "data-quiz-hint",
    "data-quiz-reveal",
}


def bundled_course(app: Flask) -> Course:
    with app.app_context():
        course = catalog().course("flask-fundamentals")
    assert course is not None
    return course


def question_section(page: str, question_id: str) -> str:
    match = re.search(
        rf'<section class="quiz quiz-\w+" id="q-{re.escape(question_id)}".*?</section>',
        page,
        re.DOTALL,
    )
    assert match, f"question {question_id} is not on the page"
    return match.group(0)


def visible_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def key_texts(question: QuizSpec) -> list[str]:
    """Texts that would reveal the key: explanation, feedback, typed answers."""
    texts = [visible_text(question.explain_html).strip()]
    texts += [visible_text(option.feedback_html).strip() for option in question.options]
    texts += [visible_text(hint).strip() for hint in question.hints_html]
    if question.type in ("text", "number"):
        texts += [answer for answer in question.answers if not answer.startswith("/")]
    return [text for text in texts if text]


def test_bundled_lessons_end_with_checks_that_use_every_type(app: Flask) -> None:
    course = bundled_course(app)
    types = set()
    for lesson in course.lessons:
        assert lesson.checks, f"{lesson.slug} has no knowledge check"
        assert not any(check.broken for check in lesson.checks)
        assert isinstance(lesson.body_parts[-1], type(lesson.checks[-1]))
        types |= {question.type for question in lesson.questions}
    assert types == ALL_TYPES


def test_no_key_feedback_or_explanation_in_the_page_for_any_bundled_question(
    app: Flask,
) -> None:
    client = app.test_client()
    course = bundled_course(app)
    checked = 0
    for lesson in course.lessons:
        page = client.get(f"/courses/{course.slug}/{lesson.slug}/").get_data(as_text=True)
        attribute_values = re.findall(r'\w[\w-]*="([^"]*)"', page)
        assert attribute_values and not any(
            re.search(r"\bcorrect\b|\banswer-key\b", value, re.IGNORECASE)
            for value in attribute_values
        )
        for question in lesson.questions:
            section = question_section(page, question.id)
            text = visible_text(section)
            assert visible_text(question.prompt_html).strip()[:40] in text
            for secret in key_texts(question):
                assert secret not in text, f"{question.id}: {secret!r} is in the page"
            # data attributes only mark parts for quiz.js; none carries a value
            assert set(re.findall(r"data-[\w-]+(?==)", section)) == set()
            assert set(re.findall(r"data-[\w-]+", section)) <= SCRIPT_HOOKS
            # no tag marks an option as correct (prompts may use the word in their text)
            tags = " ".join(re.findall(r"<[^>]*>", section)).lower()
            assert "correct" not in tags.replace("incorrect", "")
            assert "<script" not in section
            # the page's revision is keyed: the content hash (which covers the key) is absent
            assert question.revision not in page
            if question.type == "order":
                shown = re.findall(
                    r'<label class="quiz-order-text"[^>]*>(.*?)</label>', section, re.DOTALL
                )
                authored = [visible_text(option.html) for option in question.options]
                assert [visible_text(item).strip() for item in shown] != authored
                assert sorted(visible_text(item).strip() for item in shown) == sorted(authored)
            checked += 1
    assert checked == sum(len(lesson.questions) for lesson in course.lessons) >= 12


def test_truefalse_shows_true_and_false_and_choices_show_every_option(app: Flask) -> None:
    client = app.test_client()
    course = bundled_course(app)
    for lesson in course.lessons:
        page = client.get(f"/courses/{course.slug}/{lesson.slug}/").get_data(as_text=True)
        for question in lesson.questions:
            section = question_section(page, question.id)
            if question.type == "truefalse":
                labels = re.findall(r'<label for="q-[\w-]+">(\w+)</label>', section)
                assert labels == ["True", "False"]
            elif question.type in ("single", "multi"):
                for option in question.options:
                    assert option.html in section


BROKEN_LESSON = """
---
title: Mixed
summary: One good question, one broken.
objectives: [a, b, c]
---
## Check

```quiz id=good
Which framework is this course about?

- [x] Flask
- [ ] Rails
  > Rails is a Ruby framework.

explain: The course teaches Flask.
```

```quiz id=broken type=single
Which two are right? (this prompt must never reach learners)

- [x] one
- [x] two
```
"""


@pytest.mark.parametrize("debug", [False, True])
def test_a_broken_block_is_left_out_and_shown_to_authors_in_debug(
    make_app: MakeApp, write_content: WriteContent, debug: bool
) -> None:
    root = write_content({"demo/course.yml": "title: Demo\n", "demo/01-mixed.md": BROKEN_LESSON})
    app = make_app(root, DEBUG=debug)
    response = app.test_client().get("/courses/demo/mixed/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="q-good"' in page
    assert 'id="q-broken"' not in page
    assert "must never reach learners" not in page
    message = "single-choice question has 2 correct options [single-correct-count]"
    if debug:
        assert "Question broken is left out: fix these errors" in page
        assert f"01-mixed.md:18:1: error: {message}" in page
    else:
        assert "left out" not in page and message not in page


def test_a_lesson_whose_only_question_is_broken_shows_no_empty_check(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    lesson = (
        BROKEN_LESSON.split("```quiz id=good")[0] + "```quiz id=x type=single\nQ?\n\n- [ ] a\n```\n"
    )
    root = write_content({"demo/course.yml": "title: Demo\n", "demo/01-mixed.md": lesson})
    page = make_app(root).test_client().get("/courses/demo/mixed/").get_data(as_text=True)
    assert "knowledge-check" not in page


# --- the registry --------------------------------------------------------------------------


class YesNo(TrueFalse):
    key = "yesno"
    label = "Yes or no"


class SecondSingle(TrueFalse):
    key = "single"


def test_a_duplicate_type_key_fails_app_creation(make_app: MakeApp) -> None:
    with pytest.raises(DuplicateTypeError, match="'single' is registered twice"):
        make_app(QUIZ_TYPES=(SecondSingle,))


def test_a_registered_type_is_used_by_the_content_and_the_page(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    lesson = (
        "---\ntitle: Y\nsummary: S.\nobjectives: [a, b, c]\n---\n"
        "```quiz id=yn type=yesno\nIs Flask written in Python?\n\nanswer: true\n"
        "explain: It is.\n```\n"
    )
    root = write_content({"demo/course.yml": "title: Demo\n", "demo/01-y.md": lesson})
    app = make_app(root, QUIZ_TYPES=(YesNo,))
    page = app.test_client().get("/courses/demo/y/").get_data(as_text=True)
    assert 'class="quiz quiz-yesno" id="q-yn"' in page
    assert "Yes or no" in page
    result = app.test_cli_runner().invoke(args=["content", "check", "--strict"])
    assert result.exit_code == 0, result.output
    unknown = make_app(root).test_cli_runner().invoke(args=["content", "check"])
    assert "unknown type 'yesno'" in unknown.output and unknown.exit_code == 1


# --- flask content check -------------------------------------------------------------------


def test_check_json_output_is_only_a_json_array(
    make_app: MakeApp, write_content: WriteContent
) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/02-second.md"] = BROKEN_LESSON
    app = make_app(write_content(files))
    result = app.test_cli_runner().invoke(args=["content", "check", "--format", "json"])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and rows
    assert all(set(row) == {"path", "line", "col", "severity", "code", "message"} for row in rows)
    error = next(row for row in rows if row["severity"] == "error")
    assert error["path"].endswith("02-second.md")
    assert (error["line"], error["col"], error["code"]) == (18, 1, "single-correct-count")
    assert {row["severity"] for row in rows} == {"error", "warning"}


@pytest.mark.parametrize(
    ("files", "args", "exit_code"),
    [
        ("clean", [], 0),
        ("clean", ["--strict"], 0),
        ("clean", ["--format", "json", "--strict"], 0),
        ("warnings", [], 0),
        ("warnings", ["--strict"], 1),
        ("warnings", ["--format", "json"], 0),
        ("warnings", ["--format", "json", "--strict"], 1),
        ("errors", [], 1),
        ("errors", ["--format", "json"], 1),
    ],
)
def test_check_exit_codes(
    make_app: MakeApp, write_content: WriteContent, files: str, args: list[str], exit_code: int
) -> None:
    tree = {k: v for k, v in SAMPLE_COURSE.items() if k != "demo/03-third.md"}
    if files == "warnings":
        tree = dict(SAMPLE_COURSE)
    elif files == "errors":
        tree["demo/02-second.md"] = BROKEN_LESSON
    result = (
        make_app(write_content(tree)).test_cli_runner().invoke(args=["content", "check", *args])
    )
    assert result.exit_code == exit_code, result.output
    if "json" in args:
        rows = json.loads(result.stdout)
        assert (len(rows) == 0) == (files == "clean")
    else:
        assert re.fullmatch(
            r"1 course\(s\), \d lesson\(s\), \d question\(s\): \d error\(s\), \d warning\(s\)",
            result.output.strip().splitlines()[-1],
        )


def test_bundled_course_passes_the_strict_check(runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["content", "check", "--strict"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("0 error(s), 0 warning(s)")
