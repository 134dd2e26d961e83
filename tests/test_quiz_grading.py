"""Grading per question type, driven through the real parser.

Every question here is written as lesson markdown, parsed by ``render_markdown`` and
rebuilt with ``QuizSpec.from_dict`` (the JSON the page and the grader share), so these
tests pin what an author writes and what a learner gets back.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from app.content.markdown import render_markdown
from app.quiz_types import DEFAULT_REGISTRY, GradeResult, InvalidAnswer, QuizSpec, public_options
from app.quiz_types.base import Answer
from app.quiz_types.spec import MAX_TEXT_ANSWER


def spec_of(markdown: str) -> QuizSpec:
    """The one question in ``markdown`` (dedented), which must parse without errors."""
    rendered = render_markdown(textwrap.dedent(markdown).strip("\n") + "\n")
    errors = [problem for problem in rendered.problems if problem.severity == "error"]
    assert not errors, errors
    [check] = rendered.checks
    [item] = check["items"]
    assert "spec" in item, item
    return QuizSpec.from_dict(item["spec"])


def grade(spec: QuizSpec, answer: Answer) -> GradeResult:
    return DEFAULT_REGISTRY[spec.type].grade(spec, answer)


def ids_by_text(spec: QuizSpec) -> dict[str, str]:
    return {option.text: option.id for option in spec.options}


def quiz(info: str, body: str) -> str:
    """A quiz fence around ``body`` (already dedented), with an explanation."""
    return f"```quiz {info}\n{textwrap.dedent(body).strip()}\n\nexplain: Because.\n```\n"


def text_quiz(*answers: str, exact: bool = False) -> QuizSpec:
    lines = "\n".join(f"answer: {answer}" for answer in answers)
    flag = " exact=true" if exact else ""
    return spec_of(quiz(f"id=t type=text{flag}", f"Name the thing.\n\n{lines}"))


def number_quiz(*answers: str) -> QuizSpec:
    lines = "\n".join(f"answer: {answer}" for answer in answers)
    return spec_of(quiz("id=n type=number", f"How much?\n\n{lines}"))


# --- single choice ----------------------------------------------------------------------

SINGLE = quiz(
    "id=pick type=single",
    """
    Which framework is this course about?

    - [x] Flask
    - [ ] Rails
      > Rails is a *Ruby* framework.
      misconception: rails-is-python
    - [ ] Django
      > Django is a different Python framework.
    """,
)


@pytest.fixture
def single() -> QuizSpec:
    return spec_of(SINGLE)


def test_single_right_option_is_correct(single: QuizSpec) -> None:
    result = grade(single, ids_by_text(single)["Flask"])
    assert result.correct is True
    assert result.score == 1.0
    assert result.feedback_html == ()
    assert result.misconceptions == ()


def test_single_accepts_a_one_item_list(single: QuizSpec) -> None:
    assert grade(single, [ids_by_text(single)["Flask"]]).correct is True


def test_single_wrong_option_returns_its_feedback_and_misconception(single: QuizSpec) -> None:
    result = grade(single, ids_by_text(single)["Rails"])
    assert result.correct is False
    assert result.score == 0.0
    assert result.feedback_html == ("<p>Rails is a <em>Ruby</em> framework.</p>\n",)
    assert result.misconceptions == ("rails-is-python",)


def test_single_wrong_option_without_tag_has_feedback_only(single: QuizSpec) -> None:
    result = grade(single, ids_by_text(single)["Django"])
    assert result.correct is False
    assert result.feedback_html == ("<p>Django is a different Python framework.</p>\n",)
    assert result.misconceptions == ()


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda ids: "o0000000000", id="unknown-id"),
        pytest.param(lambda ids: "Flask", id="option-text-instead-of-id"),
        pytest.param(lambda ids: "", id="empty-string"),
        pytest.param(lambda ids: [], id="empty-list"),
        pytest.param(lambda ids: [ids["Flask"], ids["Rails"]], id="two-ids"),
        pytest.param(lambda ids: [ids["Flask"], ids["Flask"]], id="same-id-twice"),
    ],
)
def test_single_rejects_ungradable_answers(
    single: QuizSpec, build: Callable[[dict[str, str]], Answer]
) -> None:
    with pytest.raises(InvalidAnswer):
        grade(single, build(ids_by_text(single)))


# --- multi choice -----------------------------------------------------------------------

MULTI = quiz(
    "id=many type=multi",
    """
    Which of these ship with Flask?

    - [x] Routing
    - [x] Sessions
    - [x] A test client
    - [ ] An ORM
      > The database layer comes from extensions.
      misconception: flask-includes-orm
    - [ ] User accounts
      > Accounts come from Flask-Login.
      misconception: session-is-login
    """,
)


@pytest.fixture
def multi() -> QuizSpec:
    return spec_of(MULTI)


def chosen(spec: QuizSpec, *texts: str) -> list[str]:
    ids = ids_by_text(spec)
    return [ids[text] for text in texts]


def test_multi_exact_set_is_correct(multi: QuizSpec) -> None:
    result = grade(multi, chosen(multi, "Routing", "Sessions", "A test client"))
    assert result.correct is True
    assert result.score == 1.0
    assert result.total == 3
    assert result.detail == "3 of 3 correct options chosen"
    assert result.feedback_html == ()


def test_multi_exact_set_in_any_order_is_correct(multi: QuizSpec) -> None:
    assert grade(multi, chosen(multi, "A test client", "Routing", "Sessions")).correct is True


@pytest.mark.parametrize(
    ("texts", "score", "detail"),
    [
        (("Routing",), 1 / 3, "1 of 3 correct options chosen"),
        (("Routing", "Sessions"), 2 / 3, "2 of 3 correct options chosen"),
    ],
)
def test_multi_partial_choice_earns_partial_score(
    multi: QuizSpec, texts: tuple[str, ...], score: float, detail: str
) -> None:
    result = grade(multi, chosen(multi, *texts))
    assert result.correct is False
    assert result.score == pytest.approx(score)
    assert result.detail == detail
    assert result.total == 3


def test_multi_wrong_choice_reduces_the_score(multi: QuizSpec) -> None:
    result = grade(multi, chosen(multi, "Routing", "Sessions", "An ORM"))
    assert result.correct is False
    assert result.score == pytest.approx(1 / 3)
    assert result.detail == "2 of 3 correct options chosen, 1 wrong"
    assert "wrong" in result.detail


def test_multi_all_options_is_not_correct(multi: QuizSpec) -> None:
    everything = [option.id for option in multi.options]
    result = grade(multi, everything)
    assert result.correct is False
    assert result.score == pytest.approx(1 / 3)
    assert result.detail == "3 of 3 correct options chosen, 2 wrong"


def test_multi_score_never_goes_below_zero(multi: QuizSpec) -> None:
    result = grade(multi, chosen(multi, "Routing", "An ORM", "User accounts"))
    assert result.correct is False
    assert result.score == 0.0
    assert result.detail == "1 of 3 correct options chosen, 2 wrong"


def test_multi_only_wrong_options(multi: QuizSpec) -> None:
    result = grade(multi, chosen(multi, "An ORM"))
    assert result.correct is False
    assert result.score == 0.0
    assert result.detail == "0 of 3 correct options chosen, 1 wrong"
    assert result.misconceptions == ("flask-includes-orm",)


def test_multi_returns_feedback_of_every_chosen_wrong_option(multi: QuizSpec) -> None:
    result = grade(multi, chosen(multi, "User accounts", "Routing", "An ORM"))
    assert sorted(result.feedback_html) == [
        "<p>Accounts come from Flask-Login.</p>\n",
        "<p>The database layer comes from extensions.</p>\n",
    ]
    assert sorted(result.misconceptions) == ["flask-includes-orm", "session-is-login"]


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda ids: [], id="empty-list"),
        pytest.param(lambda ids: "", id="empty-string"),
        pytest.param(lambda ids: ["o0000000000"], id="unknown-id"),
        pytest.param(lambda ids: [ids["Routing"], ids["Sessions"], ids["Routing"]], id="duplicate"),
        pytest.param(lambda ids: [ids["Routing"], "o0000000000"], id="known-and-unknown"),
    ],
)
def test_multi_rejects_ungradable_answers(
    multi: QuizSpec, build: Callable[[dict[str, str]], Answer]
) -> None:
    with pytest.raises(InvalidAnswer):
        grade(multi, build(ids_by_text(multi)))


# --- true/false -------------------------------------------------------------------------


def truefalse(answer: str) -> QuizSpec:
    return spec_of(quiz("id=tf type=truefalse", f"Sessions are signed.\n\nanswer: {answer}"))


@pytest.mark.parametrize(
    ("key", "given", "correct"),
    [
        ("true", "true", True),
        ("true", "false", False),
        ("false", "false", True),
        ("false", "true", False),
        ("True", "true", True),  # the author's spelling is case-insensitive
        ("FALSE", "false", True),
    ],
)
def test_truefalse_grades_true_and_false(key: str, given: str, correct: bool) -> None:
    spec = truefalse(key)
    result = grade(spec, given)
    assert result.correct is correct
    assert result.score == (1.0 if correct else 0.0)
    assert grade(spec, [given]).correct is correct


@pytest.mark.parametrize(
    "answer",
    ["True", "FALSE", "yes", "1", "0", "", " true", "true ", [], ["true", "false"], ["maybe"]],
)
def test_truefalse_rejects_anything_else(answer: Answer) -> None:
    with pytest.raises(InvalidAnswer):
        grade(truefalse("true"), answer)


def test_truefalse_options_are_true_then_false_and_never_shuffled() -> None:
    spec = truefalse("false")
    assert [(o.id, o.correct) for o in spec.options] == [("true", False), ("false", True)]
    assert spec.shuffle is False
    for seed in map(str, range(50)):
        assert [pair[0] for pair in public_options(spec, seed)] == ["true", "false"]


def test_truefalse_infers_its_type_from_the_answer() -> None:
    spec = spec_of(quiz("id=tf", "Sessions are signed.\n\nanswer: true"))
    assert spec.type == "truefalse"


# --- text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "blog.post",
        "Blog.Post",
        "BLOG.POST",
        "  blog.post  ",
        "\tblog.post\n",
        "the endpoint",
        "The   Endpoint",
        " the \t endpoint ",
    ],
)
def test_text_accepts_any_alternative_ignoring_case_and_spacing(given: str) -> None:
    spec = text_quiz("blog.post", "the endpoint")
    assert grade(spec, given).correct is True


@pytest.mark.parametrize("given", ["blog", "blog.posts", "blog post", "theendpoint", "post"])
def test_text_refuses_other_text(given: str) -> None:
    assert grade(text_quiz("blog.post", "the endpoint"), given).correct is False


def test_text_author_spacing_is_normalised_too() -> None:
    spec = text_quiz("Hello   World")
    assert grade(spec, "hello world").correct is True


@pytest.mark.parametrize(
    ("given", "correct"),
    [
        ("blog.post", True),
        ("url_for('blog.post')", True),  # unanchored: re.search finds it inside
        ("BLOG.POST", True),  # case-insensitive
        ("blogxpost", True),  # the author did not escape the dot
        ("blog", False),
    ],
)
def test_text_regex_is_searched_case_insensitively(given: str, correct: bool) -> None:
    assert grade(text_quiz("/blog.post/"), given).correct is correct


@pytest.mark.parametrize(
    ("given", "correct"),
    [
        ("blog.post", True),
        ("'blog.post'", True),
        ('"Blog.Post"', True),
        ("  blog.post  ", True),  # surrounding spaces are trimmed before the search
        ("url_for('blog.post')", False),  # anchored: a match inside is not enough
        ("blog.post()", False),
    ],
)
def test_text_anchored_regex_must_match_the_whole_answer(given: str, correct: bool) -> None:
    spec = text_quiz(r"""/^["']?blog\.post["']?$/""")
    assert grade(spec, given).correct is correct


def test_text_plain_and_regex_alternatives_combine() -> None:
    spec = text_quiz("flask run", r"/^python -m flask run$/")
    assert grade(spec, "Flask Run").correct is True
    assert grade(spec, "python -m flask run").correct is True
    assert grade(spec, "python flask run").correct is False


@pytest.mark.parametrize(
    ("given", "correct"),
    [
        ("SECRET_KEY", True),
        ("secret_key", False),
        ("Secret_Key", False),
        (" SECRET_KEY", False),
        ("SECRET_KEY ", False),
    ],
)
def test_text_exact_makes_case_and_whitespace_significant(given: str, correct: bool) -> None:
    assert grade(text_quiz("SECRET_KEY", exact=True), given).correct is correct


def test_text_exact_keeps_inner_whitespace_significant() -> None:
    spec = text_quiz("flask run", exact=True)
    assert grade(spec, "flask run").correct is True
    assert grade(spec, "flask  run").correct is False


@pytest.mark.parametrize(
    ("given", "correct"),
    [
        ("SECRET_KEY", True),
        ("secret_key", False),  # case-sensitive
        (" SECRET_KEY", False),  # not trimmed
        ("SECRET_KEY ", False),
        ("SECRET_KEY\t", False),
    ],
)
def test_text_exact_regex_is_case_and_whitespace_sensitive(given: str, correct: bool) -> None:
    assert grade(text_quiz("/^SECRET_KEY$/", exact=True), given).correct is correct


def test_text_exact_regex_refuses_a_trailing_newline() -> None:
    assert grade(text_quiz("/^SECRET_KEY$/", exact=True), "SECRET_KEY\n").correct is False


def test_text_answer_of_exactly_the_limit_is_graded() -> None:
    spec = text_quiz("/^a+$/")
    assert MAX_TEXT_ANSWER == 500
    assert grade(spec, "a" * MAX_TEXT_ANSWER).correct is True


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("a" * (MAX_TEXT_ANSWER + 1), id="over-the-limit"),
        pytest.param(" " * 10 + "a" * (MAX_TEXT_ANSWER - 5), id="over-the-limit-with-spaces"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("\t\n", id="whitespace"),
        pytest.param([], id="empty-list"),
        pytest.param(["a", "b"], id="two-answers"),
    ],
)
def test_text_rejects_ungradable_input(answer: Answer) -> None:
    with pytest.raises(InvalidAnswer):
        grade(text_quiz("/^a+$/"), answer)


# --- number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "correct"),
    [
        ("5000", True),
        ("5,000", True),
        ("5 000", True),
        ("5\u00a0000", True),  # no-break space
        ("5\u202f000", True),  # narrow no-break space
        ("+5000", True),
        ("5000.0", True),
        ("5000.000", True),
        ("  5000  ", True),
        ("5e3", True),
        ("5001", False),
        ("-5000", False),
        ("500", False),
    ],
)
def test_number_exact_value(given: str, correct: bool) -> None:
    assert grade(number_quiz("5000"), given).correct is correct


@pytest.mark.parametrize("key", ["5,000", "5 000", "5000.0"])
def test_number_author_answer_may_use_thousands_separators(key: str) -> None:
    spec = number_quiz(key)
    assert grade(spec, "5000").correct is True
    assert grade(spec, "5,000").correct is True
    assert grade(spec, "4999").correct is False


@pytest.mark.parametrize("key", ["3.14 ± 0.01", "3.14 +- 0.01", "3.14 +/- 0.01", "3.14±0.01"])
@pytest.mark.parametrize(
    ("given", "correct"),
    [
        ("3.13", True),  # the lower bound, exactly: decimal, not binary floating point
        ("3.15", True),  # the upper bound, exactly
        ("3.14", True),
        ("3.1415", True),
        ("3.151", False),
        ("3.129", False),
        ("3.1500001", False),
        ("-3.14", False),
    ],
)
def test_number_tolerance_includes_both_bounds_exactly(key: str, given: str, correct: bool) -> None:
    assert grade(number_quiz(key), given).correct is correct


def test_number_tolerance_with_thousands_separators() -> None:
    spec = number_quiz("1,000 ± 10")
    assert grade(spec, "990").correct is True
    assert grade(spec, "1,010").correct is True
    assert grade(spec, "1,010.5").correct is False


@pytest.mark.parametrize(
    ("key", "given", "correct"),
    [
        ("[5, 7)", "5", True),
        ("[5, 7)", "6.99", True),
        ("[5, 7)", "7", False),
        ("[5, 7)", "4.999", False),
        ("(5, 7]", "5", False),
        ("(5, 7]", "5.001", True),
        ("(5, 7]", "7", True),
        ("(5, 7]", "7.001", False),
        ("[5,7]", "5", True),
        ("[5,7]", "7", True),
        ("[5,7]", "7.5", False),
        ("(5,7)", "5", False),
        ("(5,7)", "6", True),
        ("(5,7)", "7", False),
        ("[-7, -5]", "-6", True),
        ("[-7, -5]", "6", False),
        ("[0.1; 0.3]", ".2", True),
        ("[1 000, 2 000]", "1,500", True),
    ],
)
def test_number_range_open_and_closed_ends(key: str, given: str, correct: bool) -> None:
    assert grade(number_quiz(key), given).correct is correct


@pytest.mark.parametrize("key", ["[1,000, 2,000]", "[1,000; 2,000]", "[1,000,2,000]"])
def test_number_range_bounds_may_use_thousands_commas(key: str) -> None:
    spec = number_quiz(key)
    assert grade(spec, "1,500").correct is True
    assert grade(spec, "2,001").correct is False


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("-2.5", True),
        ("\u22122.5", True),  # unicode minus sign
        ("-2.50", True),
        ("+2.5", False),
        ("2.5", False),
    ],
)
def test_number_sign(given: str, expected: bool) -> None:
    assert grade(number_quiz("-2.5"), given).correct is expected


@pytest.mark.parametrize(
    ("given", "correct"),
    [
        (".5", True),
        ("0.5", True),
        ("+.5", True),
        (" .5 ", True),
        ("-.5", False),
        ("5", False),
    ],
)
def test_number_bare_fraction(given: str, correct: bool) -> None:
    assert grade(number_quiz("0.5"), given).correct is correct


@pytest.mark.parametrize("given", ["1,234.5", "1 234.5", "1234.5", "1234.50", "+1,234.5"])
def test_number_thousands_with_decimals(given: str) -> None:
    assert grade(number_quiz("1234.5"), given).correct is True


@pytest.mark.parametrize("given", ["1,234,567", "1 234 567", "1234567"])
def test_number_several_thousands_groups(given: str) -> None:
    assert grade(number_quiz("1,234,567"), given).correct is True


@pytest.mark.parametrize(
    "given",
    [
        "5,00",
        "1,2,3",
        "50,00",
        "5,0000",
        "1,23.4",
        "5  000",
        "5 00",
        ",5",
        "5.",
        "5.0.0",
        "--5",
        "+-5",
        "five",
        "5 apples",
        "0x10",
        "nan",
        "inf",
        "5 ± 1",
        "[5, 7]",
        "",
        "   ",
        "1" * (MAX_TEXT_ANSWER + 1),
    ],
)
def test_number_rejects_what_is_not_a_number(given: str) -> None:
    with pytest.raises(InvalidAnswer):
        grade(number_quiz("5000"), given)


@pytest.mark.parametrize("given", ["0,500", "0 500", "00,500"])
def test_number_rejects_a_zero_leading_thousands_group(given: str) -> None:
    with pytest.raises(InvalidAnswer):
        grade(number_quiz("500"), given)


def test_number_several_answers_accept_any() -> None:
    spec = number_quiz("42", "[100, 200]")
    assert grade(spec, "42").correct is True
    assert grade(spec, "150").correct is True
    assert grade(spec, "99").correct is False


def test_number_is_inferred_from_numeric_answers() -> None:
    spec = spec_of(quiz("id=n", "How much?\n\nanswer: 3.14 ± 0.01\nanswer: [5, 7)"))
    assert spec.type == "number"


# --- order ------------------------------------------------------------------------------

ORDER = quiz(
    "id=steps type=order",
    """
    Put the request steps in order:

    1. The WSGI server accepts the connection
    2. Flask matches the URL rule
    3. The view function runs
    4. The response is sent
    """,
)


@pytest.fixture
def order() -> QuizSpec:
    return spec_of(ORDER)


def test_order_items_come_from_the_prompts_list(order: QuizSpec) -> None:
    assert [o.text for o in order.options] == [
        "The WSGI server accepts the connection",
        "Flask matches the URL rule",
        "The view function runs",
        "The response is sent",
    ]
    assert "WSGI" not in order.prompt_html


def test_order_correct_order_is_correct(order: QuizSpec) -> None:
    result = grade(order, [o.id for o in order.options])
    assert result.correct is True
    assert result.score == 1.0
    assert result.in_place == result.total == 4
    assert result.detail == "4 of 4 items in the right place"


def test_order_a_swap_counts_items_in_place(order: QuizSpec) -> None:
    a, b, c, d = (o.id for o in order.options)
    result = grade(order, [b, a, c, d])
    assert result.correct is False
    assert result.in_place == 2
    assert result.total == 4
    assert result.score == pytest.approx(0.5)
    assert result.detail == "2 of 4 items in the right place"


def test_order_reversed_has_nothing_in_place(order: QuizSpec) -> None:
    result = grade(order, [o.id for o in reversed(order.options)])
    assert result.correct is False
    assert result.in_place == 0
    assert result.score == 0.0
    assert result.detail == "0 of 4 items in the right place"


@pytest.mark.parametrize("case", ["missing", "extra", "duplicate", "unknown", "empty", "string"])
def test_order_rejects_answers_that_do_not_place_every_item_once(
    order: QuizSpec, case: str
) -> None:
    a, b, c, d = (o.id for o in order.options)
    answer: Answer = {
        "missing": [a, b, c],
        "extra": [a, b, c, d, "o0000000000"],
        "duplicate": [a, b, c, c],
        "unknown": [a, b, c, "o0000000000"],
        "empty": [],
        "string": a,
    }[case]
    with pytest.raises(InvalidAnswer):
        grade(order, answer)


@pytest.mark.parametrize("blank", ["2. ", "2.  ", "2.\t", "2) "])
def test_order_item_without_text_is_an_error(blank: str) -> None:
    markdown = quiz("id=steps type=order", f"Order them:\n\n1. First\n{blank}\n3. Third")
    rendered = render_markdown(markdown)
    [item] = rendered.checks[0]["items"]
    assert "broken" in item, item["spec"]["options"]
    assert any(p.severity == "error" and p.line == 5 for p in rendered.problems)


# --- public options ---------------------------------------------------------------------


@pytest.mark.parametrize("markdown", [SINGLE, MULTI, ORDER])
def test_public_options_expose_only_id_and_html(markdown: str) -> None:
    spec = spec_of(markdown)
    pairs = public_options(spec, "learner-1")
    assert sorted(pairs) == sorted((o.id, o.html) for o in spec.options)
    for pair in pairs:
        assert len(pair) == 2
        assert all(isinstance(value, str) for value in pair)
        assert "correct" not in pair


def test_public_options_never_show_an_order_question_in_order() -> None:
    for count in (3, 4, 6):
        items = "\n".join(f"{n}. Step {n}" for n in range(1, count + 1))
        spec = spec_of(quiz(f"id=o{count} type=order", f"Order them:\n\n{items}"))
        authored = [o.id for o in spec.options]
        for seed in map(str, range(300)):
            shown = [pair[0] for pair in public_options(spec, seed)]
            assert sorted(shown) == sorted(authored)
            assert shown != authored, seed


def test_public_options_shuffle_false_keeps_authored_order() -> None:
    spec = spec_of(SINGLE.replace("type=single", "type=single shuffle=false"))
    assert spec.shuffle is False
    authored = [(o.id, o.html) for o in spec.options]
    for seed in map(str, range(50)):
        assert list(public_options(spec, seed)) == authored


def test_public_options_shuffle_by_default() -> None:
    spec = spec_of(MULTI)
    layouts = {public_options(spec, str(seed)) for seed in range(50)}
    assert len(layouts) > 1


@pytest.mark.parametrize("markdown", [SINGLE, MULTI, ORDER])
def test_public_options_are_deterministic_per_seed(markdown: str) -> None:
    spec = spec_of(markdown)
    again = spec_of(markdown)
    for seed in ("", "a", "learner-42"):
        assert public_options(spec, seed) == public_options(again, seed)


# --- revision ---------------------------------------------------------------------------

BASE = quiz(
    "id=rev type=single",
    """
    Which one?

    - [x] Flask
    - [ ] Rails
      > Rails is Ruby.
      misconception: rails-is-python

    hint: Think Python.
    """,
)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("Which one?", "Which framework?", id="prompt"),
        pytest.param("- [ ] Rails", "- [ ] Ruby on Rails", id="option-text"),
        pytest.param("- [x] Flask", "- [x] Flask!", id="correct-option-text"),
        pytest.param("type=single", "type=multi", id="type"),
    ],
)
def test_revision_changes_with_prompt_options_and_type(old: str, new: str) -> None:
    assert old in BASE
    assert spec_of(BASE).revision != spec_of(BASE.replace(old, new)).revision


def test_revision_changes_with_the_correct_flag() -> None:
    swapped = BASE.replace("- [x] Flask", "- [ ] Flask").replace("- [ ] Rails", "- [x] Rails")
    swapped = swapped.replace("> Rails is Ruby.", "> Flask is Python.")
    assert spec_of(BASE).revision != spec_of(swapped).revision


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("explain: Because.", "explain: Because Flask is Python.", id="explain"),
        pytest.param("hint: Think Python.", "hint: Think snakes.", id="hint"),
        pytest.param("> Rails is Ruby.", "> Rails is a Ruby framework.", id="feedback"),
        pytest.param("misconception: rails-is-python", "misconception: other", id="tag"),
        pytest.param("id=rev type=single", "id=rev type=single points=5", id="points"),
    ],
)
def test_revision_ignores_teaching_text(old: str, new: str) -> None:
    assert old in BASE
    assert spec_of(BASE).revision == spec_of(BASE.replace(old, new)).revision


def test_revision_changes_with_the_answer() -> None:
    assert text_quiz("blog.post").revision != text_quiz("blog.index").revision
    assert text_quiz("a").revision != text_quiz("a", "b").revision
    assert number_quiz("5").revision != number_quiz("6").revision
    assert truefalse("true").revision != truefalse("false").revision


def test_revision_changes_with_the_order_of_items() -> None:
    other = ORDER.replace("3. The view function runs", "3. The response is sent").replace(
        "4. The response is sent", "4. The view function runs"
    )
    assert spec_of(ORDER).revision != spec_of(other).revision


def test_revision_ignores_explain_block_of_typed_answers() -> None:
    first = quiz("id=n type=number", "How much?\n\nanswer: 5")
    second = first.replace("explain: Because.", "explain: |\n  Five,\n  because.")
    assert spec_of(first).revision == spec_of(second).revision


def test_revision_changes_when_exact_changes_the_key() -> None:
    assert text_quiz("SECRET_KEY").revision != text_quiz("SECRET_KEY", exact=True).revision


# --- option ids -------------------------------------------------------------------------


@pytest.mark.parametrize("markdown", [SINGLE, MULTI, ORDER])
def test_option_ids_are_opaque(markdown: str) -> None:
    spec = spec_of(markdown)
    ids = [o.id for o in spec.options]
    assert len(set(ids)) == len(ids)
    for option in spec.options:
        assert option.id not in ("correct", "incorrect", "wrong", "right", "true", "false")
        assert not option.id.isdigit()
        assert option.id not in (option.text, option.html)
        assert "correct" not in option.id


def test_option_ids_do_not_depend_on_correctness() -> None:
    first = spec_of(
        quiz("id=same type=single", "Which?\n\n- [x] Alpha\n- [ ] Beta\n  > No.\n- [ ] Gamma")
    )
    second = spec_of(
        quiz("id=same type=single", "Which?\n\n- [ ] Alpha\n  > No.\n- [ ] Beta\n- [x] Gamma")
    )
    assert [o.correct for o in first.options] != [o.correct for o in second.options]
    assert ids_by_text(first) == ids_by_text(second)


def test_option_ids_are_stable_across_type_and_position() -> None:
    single = spec_of(quiz("id=same type=single", "Which?\n\n- [x] Alpha\n- [ ] Beta\n  > No."))
    multi = spec_of(quiz("id=same type=multi", "Which?\n\n- [ ] Beta\n  > No.\n- [x] Alpha"))
    assert ids_by_text(single) == ids_by_text(multi)


def test_option_ids_differ_between_questions() -> None:
    first = spec_of(quiz("id=one type=single", "Which?\n\n- [x] Alpha\n- [ ] Beta\n  > No."))
    second = spec_of(quiz("id=two type=single", "Which?\n\n- [x] Alpha\n- [ ] Beta\n  > No."))
    assert set(ids_by_text(first).values()).isdisjoint(ids_by_text(second).values())


def test_only_truefalse_uses_readable_ids() -> None:
    spec = truefalse("true")
    assert [o.id for o in spec.options] == ["true", "false"]


# --- regex answers that Python warns about ----------------------------------------------


def test_text_regex_python_warns_about_is_parsed_without_a_raw_warning() -> None:
    spec = text_quiz("/^[[a]$/")
    assert grade(spec, "a").correct is True
