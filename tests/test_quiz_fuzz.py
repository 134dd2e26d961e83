"""Property-based tests: whatever an author types inside a quiz fence, the parser copes.

The documents mix random text with fragments of the quiz grammar (options, feedback,
keywords, ordered items, inner fences, numbers, regexes) so that every branch of the
block reader and of the question types is reached, on top of arbitrary unicode.
"""

from __future__ import annotations

import ast
import json
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.content.diagnostics import Problem, Severity
from app.content.markdown import Rendered, render_markdown
from app.quiz_types import DEFAULT_REGISTRY, GradeResult, InvalidAnswer, QuizSpec
from app.quiz_types.free import parse_number
from app.quiz_types.spec import MAX_TEXT_ANSWER

FENCE = "`" * 10
TYPES = ("single", "multi", "truefalse", "text", "number", "order")

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

# Any character, lone CR included (a line break, as for markdown-it); CRLF is drawn too.
CHARS = st.characters(exclude_categories=("Cs",))
LINE_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\r\n")

# --- strategies -------------------------------------------------------------------------

TOKENS = st.sampled_from(
    [
        "Flask",
        "`code`",
        "``",
        "**not**",
        "not",
        "except",
        "*emphasis*",
        "_x_",
        "all of the above",
        "None of the above.",
        "[x]",
        "[ ]",
        "- [x]",
        "answer:",
        "hint:",
        "explain: |",
        "misconception:",
        ">",
        "1.",
        "2)",
        "```",
        "~~~",
        "/",
        "//",
        "\\",
        "|",
        "±",
        "+-",
        "+/-",
        "3.14 ± 0.01",
        "[5, 7)",
        "1,000",
        "5,00",
        "true",
        "False",
        "ünïcödé",
        "日本語",
        "😀",
        "\u00a0",
        "\u202f",
        "\u2212",
        "\t",
        "<script>alert(1)</script>",
        "[a link](02-other.md#part)",
        "![image](pic.png){width=10}",
        "[^1]",
        "# heading",
        "| a | b |",
        "&amp;",
        "\x00",
        "id=x",
        "type=text",
    ]
)
WORDS = st.one_of(TOKENS, st.text(LINE_CHARS, max_size=12))
PHRASE = st.lists(WORDS, max_size=5).map(" ".join)
INDENT = st.sampled_from(["", "", " ", "  ", "   ", "    ", "\t", "      ", " \t"])

NUMBER_TEXT = st.one_of(
    st.sampled_from(
        ["0", "-1", "+2", ".5", "5,000", "5 000", "1,234.5", "5,00", "1,2,3", "1e5", "1e9999"]
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
NUMBER_RULE = st.one_of(
    NUMBER_TEXT,
    st.builds(
        "{} {} {}".format, NUMBER_TEXT, st.sampled_from(["±", "+-", "+/-", "+ -"]), NUMBER_TEXT
    ),
    st.builds(
        "{}{}{}{}{}".format,
        st.sampled_from("[(<"),
        NUMBER_TEXT,
        st.sampled_from([", ", ",", "; ", ";", " , ", " "]),
        NUMBER_TEXT,
        st.sampled_from("])>"),
    ),
)
REGEX = st.one_of(
    st.sampled_from(
        [
            "/^a$/",
            "/blog\\.post/",
            "/(a|b)c?/",
            "/[/",
            "/(/",
            "/a{2,/",
            "/\\/",
            "/\\q/",
            "/(?i)x/",
            "/x(?i)/",
            "/[a-/",
            "/[[a]/",
            "/[a--b]/",
            "/^\\s*$/",
            "/./",
            "//",
            "/",
        ]
    ),
    st.builds("/{}/".format, st.text(LINE_CHARS, max_size=10)),
)
VALUE = st.one_of(
    PHRASE,
    NUMBER_RULE,
    REGEX,
    st.sampled_from(["true", "false", "TRUE", "False", "yes", "|", " |", "", "slug-1_x"]),
)
KEYWORD_LINE = st.builds(
    "{}{}:{}{}".format,
    st.sampled_from(["", "", "", " ", "  "]),
    st.sampled_from(["answer", "answer", "hint", "explain", "misconception", "Answer"]),
    st.sampled_from(["", " ", " ", "\t", "  "]),
    VALUE,
)
OPTION_LINE = st.builds(
    "{}{} [{}]{}{}".format,
    st.sampled_from(["", "", "", " ", "  ", "    "]),
    st.sampled_from("-*+"),
    st.sampled_from(" xX"),
    st.sampled_from([" ", " ", "\t", "", "  "]),
    PHRASE,
)
FEEDBACK_LINE = st.builds("{}>{}{}".format, INDENT, st.sampled_from(["", " ", "  "]), PHRASE)
TAG_LINE = st.builds(
    "{}misconception:{}{}".format,
    INDENT,
    st.sampled_from(["", " "]),
    st.one_of(st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True), PHRASE),
)
ITEM_LINE = st.builds(
    "{}{}{}{}{}".format,
    st.sampled_from(["", "", " ", "    "]),
    st.one_of(st.integers(0, 12), st.just(1234567890)).map(str),
    st.sampled_from(".)"),
    st.sampled_from([" ", " ", "\t", "", "  "]),
    PHRASE,
)
FENCE_LINE = st.sampled_from(
    ["```", "```python", "```nosuchlang", "~~~", "~~~~ yaml", "````", "   ```", "```quiz id=in"]
    + ["  ```", "  ```nosuchlang", "    ```python", "\t~~~ nosuchlang", FENCE, "`" * 11, "~" * 10]
)
INDENTED_LINE = st.builds("{}{}".format, INDENT, PHRASE)
BLANK_LINE = st.sampled_from(["", "", " ", "\t", "    "])
RANDOM_LINES = st.text(CHARS, max_size=40)  # may hold newlines: several lines at once

LINE = st.one_of(
    RANDOM_LINES,
    PHRASE,
    OPTION_LINE,
    FEEDBACK_LINE,
    TAG_LINE,
    KEYWORD_LINE,
    st.just("explain: |"),
    ITEM_LINE,
    FENCE_LINE,
    INDENTED_LINE,
    BLANK_LINE,
)
RANDOM_BODY = st.lists(LINE, max_size=16).map("\n".join)

EXTRA_ATTRS = st.lists(
    st.sampled_from(
        [
            "shuffle=false",
            "shuffle=true",
            "shuffle=maybe",
            "exact=true",
            "exact=false",
            "points=0",
            "points=5",
            "points=101",
            "points=-1",
            "colour=red",
            "flag",
            "id=dup",
            "type=bogus",
            '"quoted"',
        ]
    ),
    max_size=2,
)

# Mostly prose (it may still hold a stray keyword); never blank, never indented.
PLAIN_TEXT = st.one_of(
    st.text(LINE_CHARS, min_size=1, max_size=20),
    PHRASE,
    st.sampled_from(["Flask", "`app.run()`", "**bold**", "a", "all of the above", "42"]),
).filter(lambda text: bool(text.strip()) and text == text.lstrip())
TAG = st.from_regex(r"[a-z][a-z0-9-]{0,9}", fullmatch=True)
VALID_REGEX = st.sampled_from(
    ["/^a$/", "/blog\\.post/", "/(a|b)c?/", "/^\\s*flask\\s+run\\s*$/", "/./", "/^[0-9]+$/"]
)
VALID_NUMBER = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.decimals(min_value=-1000, max_value=1000, places=2).map(str),
    st.builds("{} ± {}".format, st.integers(-100, 100), st.integers(0, 5)),
    st.builds("[{}, {})".format, st.integers(-100, 0), st.integers(1, 100)),
)


@st.composite
def structured_quiz(draw: st.DrawFn) -> tuple[str, str]:
    """An info string and a body that follow one type's grammar; most parse into specs."""
    kind = draw(st.sampled_from(TYPES))
    lines = [draw(PLAIN_TEXT), ""]
    if kind in ("single", "multi"):
        texts = draw(st.lists(PLAIN_TEXT, min_size=2, max_size=6, unique_by=str.strip))
        if kind == "single":
            right = {draw(st.integers(0, len(texts) - 1))}
        else:
            right = set(draw(st.lists(st.integers(0, len(texts) - 1), min_size=1)))
        for index, text in enumerate(texts):
            lines.append(f"- [{'x' if index in right else ' '}] {text}")
            if draw(st.booleans()):
                lines.append(f"  > {draw(PLAIN_TEXT)}")
            if draw(st.booleans()):
                lines.append(f"  misconception: {draw(TAG)}")
    elif kind == "truefalse":
        lines.append(f"answer: {draw(st.sampled_from(['true', 'false', 'True', 'FALSE']))}")
    elif kind == "text":
        values = st.one_of(PLAIN_TEXT, VALID_REGEX, REGEX)
        for value in draw(st.lists(values, min_size=1, max_size=3)):
            lines.append(f"answer: {value}")
    elif kind == "number":
        for value in draw(st.lists(st.one_of(VALID_NUMBER, NUMBER_RULE), min_size=1, max_size=3)):
            lines.append(f"answer: {value}")
    else:
        items = draw(st.lists(PLAIN_TEXT, min_size=3, max_size=7, unique_by=str.strip))
        lines.extend(f"{number}. {item}" for number, item in enumerate(items, start=1))
        lines.append("")
    for _ in range(draw(st.integers(0, 2))):
        lines.append(f"hint: {draw(PLAIN_TEXT)}")
    if draw(st.booleans()):
        lines.append(f"explain: {draw(PLAIN_TEXT)}")
    else:
        lines.append("explain: |")
        block = draw(
            st.lists(
                st.one_of(PLAIN_TEXT, st.sampled_from(["", "```nosuchlang", "```", "- item"])),
                min_size=1,
                max_size=4,
            )
        )
        lines.extend(f"  {line}" if line else "" for line in block)
    if draw(st.integers(0, 5)) == 0:  # now and then, noise anywhere
        lines.insert(draw(st.integers(0, len(lines))), draw(LINE))

    attrs = [draw(st.sampled_from(["id=q", "id=Q-1_x", 'id="q2"']))]
    if draw(st.integers(0, 3)) or kind == "multi":  # otherwise the type is inferred
        attrs.append(f"type={kind}")
    if kind in ("single", "multi"):
        attrs += draw(st.lists(st.sampled_from(["shuffle=false", "shuffle=true"]), max_size=1))
    if kind == "text":
        attrs += draw(st.lists(st.sampled_from(["exact=true", "exact=false"]), max_size=1))
    attrs += draw(st.lists(st.integers(0, 100).map("points={}".format), max_size=1))
    if draw(st.integers(0, 5)) == 0:
        attrs += draw(EXTRA_ATTRS)
    return "quiz " + " ".join(draw(st.permutations(attrs))), "\n".join(lines)


ID_ATTR = st.sampled_from(
    [None, "id=q", "id=q", "id=Q-1_x", "id=", 'id="q"', "id='two words'", "id=ü", "id=a/b"]
)
TYPE_ATTR = st.sampled_from([None, *(f"type={kind}" for kind in TYPES), "type=Single", "type="])


@st.composite
def random_quiz(draw: st.DrawFn) -> tuple[str, str]:
    """An info string with or without id=/type= (valid or not) and a body of any lines."""
    parts = [draw(ID_ATTR), draw(TYPE_ATTR), *draw(EXTRA_ATTRS)]
    words = draw(st.permutations([part for part in parts if part is not None]))
    info = "quiz" + "".join(draw(st.sampled_from([" ", "  ", "\t"])) + word for word in words)
    return info, draw(RANDOM_BODY)


@st.composite
def document(draw: st.DrawFn, quizzes: st.SearchStrategy[tuple[str, str]]) -> str:
    """A lesson body with the quiz fence, maybe after a heading, in a quote or indented."""
    info, body = draw(quizzes)
    inner = [f"{FENCE}{info}", *body.split("\n"), FENCE]
    prefix = draw(st.sampled_from(["", "", "", "> ", "   ", " "]))
    before = draw(st.sampled_from(["", "", "# Lesson\n\nIntro text.\n\n", "## Check\n"]))
    after = draw(st.sampled_from(["", "\n", "\nMore text.\n"]))
    text = before + "\n".join(prefix + line for line in inner) + after
    return text.replace("\n", "\r\n") if draw(st.integers(0, 5)) == 0 else text


RANDOM_DOCUMENT = document(random_quiz())
ANY_DOCUMENT = document(st.one_of(random_quiz(), structured_quiz()))
STRUCTURED_DOCUMENT = document(structured_quiz())

# --- helpers ----------------------------------------------------------------------------

UNKNOWN_LANGUAGE_RE = re.compile(r"unknown code language (.+?); ")


def line_count(text: str) -> int:
    return len(text.split("\n"))


def assert_positions(text: str, rendered: Rendered) -> None:
    """Every position is 1-based and inside the document; some point at their text."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for problem in rendered.problems:
        assert isinstance(problem, Problem)
        assert isinstance(problem.severity, Severity)
        assert problem.line >= 1 and problem.col >= 1, problem
        assert problem.line <= len(lines), (problem, len(lines))
        match = UNKNOWN_LANGUAGE_RE.match(problem.message)
        if problem.code == "unknown-language" and match:
            lang = ast.literal_eval(match.group(1))  # lowercased: the source may say ``Foo``
            source = lines[problem.line - 1].lower()
            if lang in source:
                assert source[problem.col - 1 :].startswith(lang), (problem, source)
    for check in rendered.checks:
        for item in check["items"]:
            assert list(item) in (["spec"], ["broken"]), item
            where = item.get("spec") or item["broken"]
            assert 1 <= where["line"] <= len(lines) and where["col"] >= 1, where
            for line, col, *_ in item.get("broken", {}).get("problems", []):
                assert line >= 1 and col >= 1
                assert line <= len(lines)


def specs_of(rendered: Rendered) -> list[QuizSpec]:
    return [
        QuizSpec.from_dict(item["spec"])
        for check in rendered.checks
        for item in check["items"]
        if "spec" in item
    ]


def answers_for(spec: QuizSpec) -> st.SearchStrategy[str | list[str]]:
    ids = [option.id for option in spec.options]
    text = st.one_of(
        st.text(max_size=40),
        NUMBER_TEXT,
        st.sampled_from(["true", "false", "True", "", " ", "a" * 500, "a" * 501, "5" * 501]),
    )
    known = st.sampled_from(ids) if ids else text
    return st.one_of(
        text,
        known,
        st.lists(st.one_of(known, text), max_size=8),
        st.permutations(ids),
        st.lists(known, max_size=len(ids) + 1, unique=True),
    )


def key_answers(spec: QuizSpec) -> list[str | list[str]]:
    """Answers the key itself says are right, for the types where it says so plainly."""
    ids = [option.id for option in spec.options]
    if spec.type in ("single", "multi"):
        return [[option.id for option in spec.options if option.correct]]
    if spec.type == "order":
        return [ids]
    if spec.type == "truefalse":
        return [spec.answers[0]]
    if spec.type == "text":
        return [
            answer
            for answer in spec.answers
            if len(answer) <= MAX_TEXT_ANSWER
            and answer.strip()
            and not (len(answer) >= 2 and answer[0] == answer[-1] == "/")
        ]
    return [answer for answer in spec.answers if parse_number(answer) is not None]


# --- properties -------------------------------------------------------------------------


@FUZZ
@given(RANDOM_DOCUMENT)
# A NUL (which markdown-it turns into U+FFFD) once shifted the columns of later lines.
@example("> " + FENCE + "quiz id=q type=single\r\n> \x00\r\n> ```0\r\n> " + FENCE)
def test_random_quiz_text_renders_with_problems_in_range(text: str) -> None:
    rendered = render_markdown(text)
    assert_positions(text, rendered)
    for spec in specs_of(rendered):
        assert QuizSpec.from_dict(spec.to_dict()) == spec


@FUZZ
@given(ANY_DOCUMENT)
def test_every_spec_round_trips_through_its_dict_and_json(text: str) -> None:
    rendered = render_markdown(text)
    assert_positions(text, rendered)
    json.dumps(rendered.checks)  # JSON-ready (tuples become lists, which from_dict accepts)
    for spec in specs_of(rendered):
        assert QuizSpec.from_dict(spec.to_dict()) == spec
        assert QuizSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
        assert spec.type in TYPES


@FUZZ
@given(STRUCTURED_DOCUMENT, st.data())
def test_grading_returns_a_result_or_invalid_answer(text: str, data: st.DataObject) -> None:
    for spec in specs_of(render_markdown(text)):
        kind = DEFAULT_REGISTRY[spec.type]
        for _ in range(3):
            answer = data.draw(answers_for(spec))
            try:
                result = kind.grade(spec, answer)
            except InvalidAnswer:
                continue
            assert isinstance(result, GradeResult)
            assert isinstance(result.correct, bool)
            assert 0.0 <= result.score <= 1.0
            assert result.correct is (result.score == 1.0), (answer, result)


@FUZZ
@given(STRUCTURED_DOCUMENT)
def test_the_key_itself_is_graded_correct(text: str) -> None:
    for spec in specs_of(render_markdown(text)):
        kind = DEFAULT_REGISTRY[spec.type]
        for answer in key_answers(spec):
            result = kind.grade(spec, answer)
            assert result.correct is True, (spec, answer, result)


# --- pinned findings --------------------------------------------------------------------


EXPLAIN_CASES = [
    pytest.param(["explain: |", "", "", "  ```nosuch"], (7, 6), id="blank-lines-first"),
    pytest.param(
        ["explain: |", "    Deeper first line.", "  ```nosuch"], (6, 6), id="deeper-first"
    ),
    pytest.param(["explain: |", "\tTabbed first line.", " ```nosuch"], (6, 5), id="tab-then-space"),
]


@pytest.mark.parametrize(("explain", "where"), EXPLAIN_CASES)
def test_problems_inside_an_explain_block_point_at_their_text(
    explain: list[str], where: tuple[int, int]
) -> None:
    text = "\n".join([f"{FENCE}quiz id=q type=text", "Q?", "answer: x", *explain, FENCE])
    [problem] = [p for p in render_markdown(text).problems if p.code == "unknown-language"]
    assert (problem.line, problem.col) == where, (problem, line_count(text))


def test_problems_inside_a_plain_explain_block_point_at_their_text() -> None:
    text = "\n".join(
        [f"{FENCE}quiz id=q type=text", "Q?", "answer: x", "explain: |", "  ```nosuch", FENCE]
    )
    [problem] = [p for p in render_markdown(text).problems if p.code == "unknown-language"]
    assert (problem.line, problem.col) == (5, 6)


QUOTED_QUIZ = ["> ```quiz id=q type=text", "> Q?", "> answer: x", ">   stray", "> ```"]


@pytest.mark.parametrize(
    "newline",
    [
        "\n",
        "\r\n",
    ],
)
def test_columns_inside_a_quoted_quiz_count_the_quote_marker(newline: str) -> None:
    rendered = render_markdown(newline.join(QUOTED_QUIZ))
    [problem] = [p for p in rendered.problems if p.code == "unexpected-line"]
    assert (problem.line, problem.col) == (4, 5)


def test_a_lone_carriage_return_counts_as_a_line_break_everywhere() -> None:
    # markdown-it and editors treat a lone CR as a line break; positions agree with them.
    text = "Intro\rmore\n\n```quiz id=q type=text\nQ?\nanswer: x\n  stray\n```"
    rendered = render_markdown(text)
    [item] = rendered.checks[0]["items"]
    [problem] = [p for p in rendered.problems if p.code == "unexpected-line"]
    assert item["broken"]["line"] == 4
    assert problem.line == 7


@pytest.mark.parametrize(
    ("fence", "col"),
    [
        ("```nosuch", 4),
        ("``` nosuch", 5),
        ("``` Nosuch", 5),
    ],
)
def test_unknown_language_points_at_the_language_name(fence: str, col: int) -> None:
    text = "\n".join(
        [f"{FENCE}quiz id=q type=text", "Q?", fence, "x", "```", "", "answer: x", FENCE]
    )
    [problem] = [p for p in render_markdown(text).problems if p.code == "unknown-language"]
    assert (problem.line, problem.col) == (3, col)
    top_level = render_markdown(f"{fence}\nx\n```\n").problems
    assert [(p.line, p.col) for p in top_level] == [(1, col)]
