"""Quiz syntax and diagnostics, through the real loader, at exact file positions.

Each lesson is written with front matter, so every expected line also proves that the
front matter's lines are counted (markdown-it's token maps start at the body).
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from app.content.loader import load_catalog
from app.content.model import BrokenQuestion, Lesson
from app.quiz_types.free import NumberRule, parse_number_rule
from tests.conftest import WriteContent

FRONT_MATTER = """\
---
title: Quizzes
summary: A lesson with questions.
objectives:
  - One
  - Two
  - Three
---
"""
BODY_START = FRONT_MATTER.count("\n") + 1  # the file line of the body's first line


def load(write_content: WriteContent, body: str) -> tuple[Lesson | None, list[tuple]]:
    """Load one lesson; return it and its diagnostics as (line, col, severity, code, message)."""
    text = FRONT_MATTER + textwrap.dedent(body).lstrip("\n")
    root = write_content({"c/course.yml": "title: C\n", "c/01-quiz.md": text})
    catalog = load_catalog(root)
    course = catalog.course("c")
    lesson = course.lessons[0] if course and course.lessons else None
    rows = [(d.line, d.col, str(d.severity), d.code, d.message) for d in catalog.diagnostics]
    return lesson, rows


def at(line_in_body: int) -> int:
    return BODY_START + line_in_body - 1


def codes(rows: list[tuple]) -> list[tuple[int, int, str]]:
    return [(line, col, code) for line, col, _, code, _ in rows]


GOOD = """
## Check

```quiz id=default-template-engine
Which template engine does Flask use by default?

- [ ] Mako
  > Mako is a different engine; Flask has never bundled it.
- [x] Jinja2
- [ ] Mustache
  > Mustache is a logic-less template language.

hint: It comes from the same group of projects as Flask.
explain: Flask depends on Jinja2 and configures it for HTML autoescaping.
```
"""


# --- syntax -------------------------------------------------------------------------------


def test_the_example_from_the_guide_parses_cleanly(write_content: WriteContent) -> None:
    lesson, rows = load(write_content, GOOD)
    assert rows == []
    assert lesson is not None
    (question,) = lesson.questions
    assert question.id == "default-template-engine"
    assert question.type == "single"
    assert (question.line, question.col) == (at(3), 1)
    assert question.prompt_html == "<p>Which template engine does Flask use by default?</p>\n"
    assert [(o.text, o.correct) for o in question.options] == [
        ("Mako", False),
        ("Jinja2", True),
        ("Mustache", False),
    ]
    assert "never bundled it" in question.options[0].feedback_html
    assert question.options[1].feedback_html == ""
    assert question.hints_html == ("It comes from the same group of projects as Flask.",)
    assert "HTML autoescaping" in question.explain_html
    assert (question.shuffle, question.points, question.exact) == (True, 1, False)
    assert len(question.revision) == 12


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("- [x] a\n- [ ] b\n  > no", "single"),
        ("- [x] a\n- [x] b\n- [ ] c\n  > no", "multi"),
        ("answer: true", "truefalse"),
        ("answer: False", "truefalse"),
        ("answer: 5000", "number"),
        ("answer: 3.14 ± 0.01\nanswer: [5, 7)", "number"),
        ("answer: Werkzeug", "text"),
        ("answer: 5000\nanswer: five thousand", "text"),
        ("answer: /^url_for$/", "text"),
        ("1. first\n2. second\n3. third", "order"),
    ],
)
def test_type_is_inferred_when_omitted(
    write_content: WriteContent, key: str, expected: str
) -> None:
    body = f"```quiz id=q\nWhat is it?\n\n{key}\n\nexplain: Because.\n```\n"
    lesson, rows = load(write_content, body)
    assert [row for row in rows if row[2] == "error"] == []
    assert lesson is not None
    assert lesson.questions[0].type == expected


def test_type_multi_forces_checkboxes_with_one_correct_option(
    write_content: WriteContent,
) -> None:
    body = "```quiz id=q type=multi\nPick.\n\n- [x] a\n- [ ] b\n  > no\n\nexplain: a.\n```\n"
    lesson, rows = load(write_content, body)
    assert rows == []
    assert lesson is not None and lesson.questions[0].type == "multi"


def test_attributes_shuffle_points_and_exact(write_content: WriteContent) -> None:
    body = """
    ```quiz id=a shuffle=false points=3
    Pick.

    - [x] a
    - [ ] b
      > no

    explain: a.
    ```

    ```quiz id=b type=text exact=true points=0
    Name it.

    answer: Flask
    explain: Flask.
    ```
    """
    lesson, rows = load(write_content, body)
    assert rows == []
    assert lesson is not None
    first, second = lesson.questions
    assert (first.shuffle, first.points) == (False, 3)
    assert (second.exact, second.points, second.shuffle) == (True, 0, False)


def test_prompt_with_a_code_fence_needs_a_longer_outer_fence(write_content: WriteContent) -> None:
    body = """
    ````quiz id=prints
    What does this print?

    ```python
    print("- [x] not an option")
    answer: not a keyword
    ```

    answer: 2
    explain: The code block is part of the prompt.
    ````

    ~~~quiz id=tilde
    And this?

    ```python
    print(1)
    ```

    answer: 1
    explain: Tildes work as the outer fence too.
    ~~~
    """
    lesson, rows = load(write_content, body)
    assert rows == []
    assert lesson is not None
    prints, tilde = lesson.questions
    assert prints.type == "number" and prints.answers == ("2",)
    assert 'class="highlight"' in prints.prompt_html
    assert "not an option" in prints.prompt_html
    assert "a keyword\n</code></pre>" in prints.prompt_html  # in the code block, not an answer
    assert tilde.answers == ("1",)


def test_option_text_is_inline_markdown_and_feedback_is_markdown(
    write_content: WriteContent,
) -> None:
    body = """
    ```quiz id=q
    Which function renders a template?

    - [x] `render_template()`
    - [ ] `make_response()` with *any* text
      > It builds a response; **rendering** is another job.
      > See the [Jinja docs](https://jinja.palletsprojects.com/).
      misconception: response-is-template

    explain: `render_template()` renders.
    ```
    """
    lesson, rows = load(write_content, body)
    assert rows == []
    assert lesson is not None
    right, wrong = lesson.questions[0].options
    assert right.html == "<code>render_template()</code>"
    assert wrong.html == "<code>make_response()</code> with <em>any</em> text"
    assert "<strong>rendering</strong>" in wrong.feedback_html
    assert 'href="https://jinja.palletsprojects.com/"' in wrong.feedback_html
    assert wrong.misconception == "response-is-template"


def test_hints_are_kept_in_order_and_explain_takes_an_indented_block(
    write_content: WriteContent,
) -> None:
    body = """
    ```quiz id=q type=text
    Which object holds the query string?

    answer: request.args
    answer: args
    hint: It lives on `request`.
    hint: Its name is short for "arguments".
    explain: |
      `request.args` is a `MultiDict`.

      ```python
      request.args.get("page")
      ```
    ```
    """
    lesson, rows = load(write_content, body)
    assert [row for row in rows if row[3] != "answer-in-prompt"] == []
    assert lesson is not None
    question = lesson.questions[0]
    assert question.answers == ("request.args", "args")
    assert question.hints_html == (
        "It lives on <code>request</code>.",
        "Its name is short for &quot;arguments&quot;.",
    )
    assert "<code>MultiDict</code>" in question.explain_html
    assert 'class="highlight"' in question.explain_html


def test_keywords_count_only_at_the_start_of_a_line(write_content: WriteContent) -> None:
    body = """
    ```quiz id=q type=text
    Finish the sentence: the hint: keyword and the answer: keyword start lines.
    Templates may contain {{ name }} and {% if x %}: they mean nothing here.

    answer: yes
    explain: Keywords start lines.
    ```
    """
    lesson, rows = load(write_content, body)
    assert rows == []
    assert lesson is not None
    question = lesson.questions[0]
    assert question.answers == ("yes",)
    assert "the hint: keyword and the answer: keyword" in question.prompt_html
    assert "{{ name }} and {% if x %}" in question.prompt_html


def test_order_items_are_the_list_that_ends_the_prompt(write_content: WriteContent) -> None:
    body = """
    ```quiz id=q type=order
    Steps are listed:

    1. This list is part of the prompt
    2. because text follows it

    Put the request's journey in order:

    1. The server receives the request
    2. Flask matches the URL
    3. The view returns a value
    4. Flask builds the response

    explain: Request in, response out.
    ```
    """
    lesson, rows = load(write_content, body)
    assert rows == []
    assert lesson is not None
    question = lesson.questions[0]
    assert [o.text for o in question.options] == [
        "The server receives the request",
        "Flask matches the URL",
        "The view returns a value",
        "Flask builds the response",
    ]
    assert "This list is part of the prompt" in question.prompt_html
    assert "journey in order" in question.prompt_html
    assert "Flask builds the response" not in question.prompt_html


def test_a_knowledge_check_is_a_run_of_blocks_under_one_heading(
    write_content: WriteContent,
) -> None:
    block = "```quiz id={}\nPick {}.\n\n- [x] a\n- [ ] b\n  > no\n\nexplain: a.\n```\n"
    body = (
        "## One\n\n"
        + block.format("q1", 1)
        + "\n\n"
        + block.format("q2", 2)
        + "\nSome prose.\n\n"
        + block.format("q3", 3)
        + "\n## Two\n\n"
        + block.format("q4", 4)
    )
    lesson, rows = load(write_content, body)
    assert rows == []
    assert lesson is not None
    groups = [[q.id for q in check.questions] for check in lesson.checks]
    assert groups == [["q1", "q2"], ["q3"], ["q4"]]
    assert [check.section for check in lesson.checks] == ["h-one", "h-one", "h-two"]
    parts = [part if isinstance(part, str) else "CHECK" for part in lesson.body_parts]
    assert parts.count("CHECK") == 3
    assert "Some prose." in "".join(p for p in parts if p != "CHECK")


# --- errors, each at its position ---------------------------------------------------------


ERROR_CASES = [
    pytest.param(
        "```quiz type=single\nPick.\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(1, 4, "missing-id", "missing id")],
        id="missing-id",
    ),
    pytest.param(
        "```quiz id=no/slash\nPick.\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(1, 12, "invalid-id", "id 'no/slash' may only use letters, digits, '-' and '_'")],
        id="invalid-id",
    ),
    pytest.param(
        "```quiz id=q type=single\nPick.\n\n- [x] a\n- [x] b\n```\n",
        [(1, 1, "single-correct-count", "single-choice question has 2 correct options")],
        id="single-two-correct",
    ),
    pytest.param(
        "```quiz id=q type=single\nPick.\n\n- [ ] a\n  > no\n- [ ] b\n  > no\n```\n",
        [(1, 1, "single-correct-count", "single-choice question has 0 correct options")],
        id="single-no-correct",
    ),
    pytest.param(
        "```quiz id=q type=multi\nPick.\n\n- [ ] a\n  > no\n- [ ] b\n  > no\n```\n",
        [(1, 1, "multi-no-correct", "multi-choice question has no correct option")],
        id="multi-no-correct",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n  > orphan\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(3, 3, "feedback-without-option", "option feedback with no option above it")],
        id="feedback-without-option",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\n- [x] a\n- [ ] b\n  > no\nhint: h\n  > late\n```\n",
        [(8, 3, "feedback-without-option", "option feedback with no option above it")],
        id="feedback-after-a-keyword",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\nmisconception: x\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(4, 1, "misconception-without-option", "misconception with no option above it")],
        id="misconception-without-option",
    ),
    pytest.param(
        "```quiz id=q type=text\nName it.\n\nanswer: /(unclosed/\n```\n",
        [(4, 10, "invalid-regex", "invalid regex: missing ), unterminated subpattern")],
        id="invalid-regex",
    ),
    pytest.param(
        "```quiz id=q type=number\nHow many?\n\nanswer: lots\n```\n",
        [(4, 9, "invalid-number", "invalid number or range: 'lots'")],
        id="invalid-number",
    ),
    pytest.param(
        "```quiz id=q type=number\nHow many?\n\nanswer: [7, 5]\n```\n",
        [
            (
                4,
                9,
                "invalid-number",
                "invalid range '[7, 5]': the lower bound is above the upper bound",
            )
        ],
        id="invalid-range",
    ),
    pytest.param(
        "```quiz id=q type=essay\nWrite.\n\nanswer: x\n```\n",
        [
            (
                1,
                19,
                "unknown-type",
                "unknown type 'essay' (use one of: single, multi, truefalse, text, number, order)",
            )
        ],
        id="unknown-type",
    ),
    pytest.param(
        "```quiz id=q colour=red\nPick.\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(1, 14, "unknown-attribute", "unknown attribute 'colour'")],
        id="unknown-attribute",
    ),
    pytest.param(
        "```quiz id=q exact=true\nPick.\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(1, 14, "invalid-attribute", "attribute 'exact' applies only to text questions")],
        id="attribute-of-another-type",
    ),
    pytest.param(
        "```quiz id=q points=many\nPick.\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(1, 21, "invalid-attribute", "points must be a whole number from 0 to 100, not 'many'")],
        id="invalid-points",
    ),
    pytest.param(
        "```quiz id=q\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(2, 1, "empty-prompt", "empty prompt")],
        id="empty-prompt",
    ),
    pytest.param(
        "```quiz id=q type=order\nOrder:\n\n1. a\n2. b\n```\n",
        [
            (
                4,
                4,
                "too-few-items",
                "order list has 2 items; an order question needs at least 3",
            )
        ],
        id="order-too-few-items",
    ),
    pytest.param(
        "```quiz id=q\nJust a prompt.\n```\n",
        [(1, 1, "no-options", "question has no options and no answer: lines")],
        id="no-options-no-answer",
    ),
    pytest.param(
        "```quiz id=q type=truefalse\nFlask is a server.\n\nanswer: maybe\n```\n",
        [
            (
                1,
                1,
                "truefalse-answer",
                "truefalse question needs exactly one answer: true or answer: false",
            )
        ],
        id="truefalse-without-true-or-false",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\n- [x] a\n- [ ] b\n  > no\nstray words\n```\n",
        [(7, 1, "unexpected-line", None)],
        id="stray-text-after-the-options",
    ),
    pytest.param(
        "```quiz id=q type=text\nName it.\n\n- [x] a\nanswer: a\n```\n",
        [(4, 1, "unexpected-option", "options are not used by text questions")],
        id="options-in-a-text-question",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\n- [x] a\n- [ ] a\n  > no\n```\n",
        [(5, 7, "duplicate-option", f"option 'a' is listed twice (first at line {at(4)})")],
        id="duplicate-option",
    ),
    pytest.param(
        "```quiz id=q id=r\nPick.\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(1, 14, "duplicate-attribute", "attribute 'id' is given twice")],
        id="duplicate-attribute",
    ),
    pytest.param(
        "```quiz id=q shuffled\nPick.\n\n- [x] a\n- [ ] b\n  > no\n```\n",
        [(1, 14, "invalid-attribute", "attribute 'shuffled' has no value; write key=value")],
        id="attribute-without-value",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\n- [x] a\n- [ ] b\n  > no\n  misconception: two words\n```\n",
        [
            (
                7,
                18,
                "invalid-misconception",
                "misconception tag 'two words' must be a slug (letters, digits, '-', '_')",
            )
        ],
        id="invalid-misconception",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\n- [x] a\n- [ ] b\n  > no\n  misconception: x\n"
        "  misconception: y\n```\n",
        [(8, 3, "duplicate-misconception", "option has two misconception: tags")],
        id="duplicate-misconception",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\n- [x] a\n- [ ] b\n  > no\nanswer: a\n```\n",
        [(7, 9, "unexpected-answer", "answer: is not used by single-choice questions")],
        id="answer-in-a-choice-question",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\n- [x] a\n```\n",
        [(1, 1, "too-few-options", "a choice question needs at least 2 options, this one has 1")],
        id="one-option",
    ),
    pytest.param(
        "```quiz id=q\nPick.\n\n- [x] a\n- [ ]\n```\n",
        [(5, 1, "empty-option", "option has no text")],
        id="empty-option",
    ),
    pytest.param(
        "```quiz id=q type=text\nName it.\n\nhint: think\n```\n",
        [(1, 1, "missing-answer", "text question has no answer:")],
        id="text-without-answer",
    ),
    pytest.param(
        "```quiz id=q type=text\nName it.\n\nanswer: a\nexplain: one\nexplain: two\n```\n",
        [(6, 1, "duplicate-explain", f"explain: is given twice (first at line {at(5)})")],
        id="duplicate-explain",
    ),
    pytest.param(
        "```quiz id=q type=text\nName it.\n\nanswer: a\nhint:\nexplain: |\n```\n",
        [(5, 1, "empty-hint", "hint: is empty"), (6, 1, "empty-explain", "explain: is empty")],
        id="empty-hint-and-explain",
    ),
]


@pytest.mark.parametrize(("body", "expected"), ERROR_CASES)
def test_each_error_is_reported_at_its_position(
    write_content: WriteContent, body: str, expected: list[tuple]
) -> None:
    lesson, rows = load(write_content, body)
    errors = [row for row in rows if row[2] == "error"]
    assert [(line, col, code) for line, col, code, _ in expected] == [
        (line - BODY_START + 1, col, code) for line, col, _, code, _ in errors
    ]
    for (_, _, _, message), row in zip(expected, errors, strict=True):
        if message is not None:
            assert row[4] == message
    # The question is left out; the lesson itself still serves.
    assert lesson is not None
    assert lesson.questions == ()
    (check,) = lesson.checks
    (broken,) = check.broken
    assert isinstance(broken, BrokenQuestion)
    assert [d.code for d in broken.diagnostics] == [code for _, _, code, _ in expected]


def test_message_words_for_points_and_shuffle(write_content: WriteContent) -> None:
    body = "```quiz id=q type=order shuffle=false\nOrder:\n\n1. a\n2. b\n3. c\n```\n"
    _, rows = load(write_content, body)
    errors = [row for row in rows if row[2] == "error"]
    assert errors == [
        (
            at(1),
            33,
            "error",
            "invalid-attribute",
            "order questions are always shuffled; remove shuffle=false",
        )
    ]


def test_duplicate_ids_are_reported_at_each_later_occurrence(write_content: WriteContent) -> None:
    block = "```quiz id={}\nPick {}.\n\n- [x] a\n- [ ] b\n  > no\n\nexplain: a.\n```\n\n"
    first_lesson = FRONT_MATTER + "## Check\n\n" + block.format("same", 1) + block.format("same", 2)
    second_lesson = FRONT_MATTER + "## Check\n\n" + block.format("same", 3)
    root = write_content(
        {"c/course.yml": "title: C\n", "c/01-a.md": first_lesson, "c/02-b.md": second_lesson}
    )
    catalog = load_catalog(root)
    rows = [(Path(d.path).name, d.line, d.col, d.code, d.message) for d in catalog.diagnostics]
    first_line = BODY_START + 2
    second_line = first_line + 10
    assert rows == [
        (
            "01-a.md",
            second_line,
            12,
            "duplicate-id",
            f"duplicate id 'same' (first at line {first_line})",
        ),
        (
            "02-b.md",
            first_line,
            12,
            "duplicate-id",
            f"duplicate id 'same' (first at 01-a.md:{first_line})",
        ),
    ]
    course = catalog.course("c")
    assert course is not None
    assert [len(lesson.questions) for lesson in course.lessons] == [1, 0]


# --- warnings: pedagogy and completeness --------------------------------------------------


def test_pedagogy_warnings_at_their_positions(write_content: WriteContent) -> None:
    body = """
    ## Check

    ```quiz id=q1
    Which of these is NOT part of Flask's core?

    - [x] An ORM
    - [ ] Routing
    - [ ] All of the above
      > Shuffled, "above" means nothing.
    ```

    ```quiz id=q2 type=text
    Which library does Flask use for templates: Jinja2 or Mako?

    answer: Jinja2
    explain: Jinja2.
    ```

    ```quiz id=q3
    Which is *not* a server? Every option **except** one is a server.

    - [x] Flask
    - [ ] Gunicorn
      > Gunicorn is a WSGI server.

    explain: Flask is a framework.
    ```
    """
    _, rows = load(write_content, body)
    assert codes(rows) == [
        (at(3), 1, "missing-explain"),
        (at(4), 19, "negative-wording"),
        (at(7), 1, "missing-feedback"),
        (at(8), 7, "all-none-of-the-above"),
        (at(13), 45, "answer-in-prompt"),
    ]
    messages = {row[3]: row[4] for row in rows}
    assert messages["missing-explain"] == (
        "question without explain: (add one that says why the answer is right)"
    )
    assert messages["negative-wording"] == (
        "negative wording 'NOT' is not emphasised; write **NOT** or rephrase"
    )
    assert (
        messages["answer-in-prompt"] == "the correct answer 'Jinja2' appears verbatim in the prompt"
    )
    assert all(row[2] == "warning" for row in rows)


def test_lesson_completeness_warnings(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\n",
            "c/01-bare.md": "# Bare\n\nNo front matter, no questions.\n",
            "c/02-thin.md": (
                "---\ntitle: Thin\nsummary: S.\nobjectives:\n  - Only one\n---\nText.\n"
            ),
        }
    )
    catalog = load_catalog(root)
    rows = [(Path(d.path).name, d.line, d.col, d.code, d.message) for d in catalog.diagnostics]
    assert rows == [
        ("01-bare.md", 1, 1, "few-objectives", "lesson has 0 objectives; give at least 3"),
        ("01-bare.md", 1, 1, "missing-summary", "lesson without a summary"),
        ("01-bare.md", 1, 1, "no-knowledge-check", "lesson without a knowledge check"),
        ("02-thin.md", 1, 1, "no-knowledge-check", "lesson without a knowledge check"),
        ("02-thin.md", 4, 1, "few-objectives", "lesson has 1 objectives; give at least 3"),
    ]


def test_unknown_code_language_is_a_warning_at_the_language(write_content: WriteContent) -> None:
    body = GOOD + "\n```pyhton\nprint(1)\n```\n"
    _, rows = load(write_content, body)
    assert rows == [
        (
            at(16),
            4,
            "warning",
            "unknown-language",
            "unknown code language 'pyhton'; the block is shown without highlighting",
        )
    ]


def test_positions_inside_a_prompt_count_from_the_file(write_content: WriteContent) -> None:
    body = GOOD.replace(
        "Which template engine does Flask use by default?",
        "Which template engine does Flask use by default? See [this](missing.md).",
    )
    _, rows = load(write_content, body)
    assert codes(rows) == [(at(4), 61, "broken-link")]


def test_raw_html_in_every_part_of_a_question_is_escaped(write_content: WriteContent) -> None:
    body = """
    ```quiz id=q
    Pick <script>alert(1)</script> one.

    - [x] <img src=x onerror=alert(1)>
    - [ ] [link](javascript:alert(1))
      > <b onmouseover=alert(1)>feedback</b>

    hint: <iframe src=//evil>
    explain: <style>body{}</style>
    ```
    """
    lesson, _ = load(write_content, body)
    assert lesson is not None
    question = lesson.questions[0]
    fragments = [question.prompt_html, question.explain_html, *question.hints_html]
    fragments += [option.html for option in question.options]
    fragments += [option.feedback_html for option in question.options]
    joined = "".join(fragments)
    for tag in ("<script", "<img", "<b ", "<iframe", "<style", 'href="javascript:'):
        assert tag not in joined
    assert "&lt;script&gt;" in question.prompt_html


@pytest.mark.parametrize(
    ("answer", "low", "high"),
    [("[5, 7)", "5", "7"), ("[1,000, 2,000]", "1000", "2000"), ("[1,000;2,000]", "1000", "2000")],
)
def test_range_bounds_may_use_thousands_separators(answer: str, low: str, high: str) -> None:
    rule = parse_number_rule(answer)
    assert isinstance(rule, NumberRule)
    assert (rule.low, rule.high) == (Decimal(low), Decimal(high))


def test_an_ambiguous_range_is_an_error() -> None:
    assert parse_number_rule("[1,234,567]") == "invalid number or range: '[1,234,567]'"


def test_a_regex_python_warns_about_is_a_warning_not_a_crash(write_content: WriteContent) -> None:
    body = "```quiz id=q type=text\nName it.\n\nanswer: /^[[a]$/\nexplain: a.\n```\n"
    lesson, rows = load(write_content, body)
    assert codes(rows) == [(at(4), 9, "regex-warning")]
    assert rows[0][4].startswith("regex may change meaning in a later Python: Possible nested set")
    assert lesson is not None and lesson.questions[0].answers == ("/^[[a]$/",)
