"""A question's HTML, reused across learners while nobody has touched it.

Before a learner answers, a question looks the same for everyone but for its submission
id, its CSRF token and the order of its choices (one of ``ORDERS_PER_QUESTION``, see
``present``). Such a question is rendered once per order with placeholders for the two
tokens, kept (``app.fragments``), and filled in for each page; a question with a result,
a hint, a notice or a refilled answer is rendered afresh from the same macro.

The parts an answer's JSON reply carries (``reply_html``) are kept the same way: per
result, hints and notice, with the attempt's number and the CSRF token filled in.
"""

from __future__ import annotations

from dataclasses import replace

from markupsafe import Markup

from app.fragments import csrf_token, kept, macro, slots_are_open, variants_slot
from app.quizzes.present import CheckSummary, QuestionView

_SUBMISSION = "\x00submission-id\x00"  # never in escaped HTML, so never in a question
_CSRF = "\x00csrf-token\x00"
_ATTEMPT = "\x00attempt-number\x00"


def question_html(view: QuestionView) -> Markup:
    """The question's section, as the ``quiz_question`` macro renders it.

    While a kept page is rendered (``app.fragments.slots_open``) the page keeps it, with
    a variants slot for its choices (``choices_html``).
    """
    if slots_are_open():
        return macro("_macros/quiz.html", "quiz_question")(view)
    return _question_html(view)


def choices_html(view: QuestionView) -> Markup:
    """The question's answer inputs, as the ``quiz_choices`` macro renders them.

    While a kept page is rendered, choices shown in several orders are rendered in each
    (kept per order while nothing is chosen), and each response picks one.
    """
    render = macro("_macros/quiz.html", "quiz_choices")
    if len(view.orders) > 1 and slots_are_open():
        spec = view.spec
        if view.chosen:
            return variants_slot(tuple(render(replace(view, options=o)) for o in view.orders))
        key = ("choices", id(render), spec.id, spec.revision)
        return variants_slot(
            tuple(
                kept((*key, order), spec, lambda order=order: render(replace(view, options=order)))
                for order in view.orders
            )
        )
    return render(view)


def _question_html(view: QuestionView) -> Markup:
    render = macro("_macros/quiz.html", "quiz_question")
    if not _untouched(view):
        return render(view)
    spec = view.spec
    key = ("question", id(render), spec.id, spec.revision, view.revision, view.url)
    key += (view.label, view.number, view.total, view.options)
    html = kept(key, spec, lambda: render(replace(view, submission_id=_SUBMISSION, csrf=_CSRF)))
    # Markup.replace escapes what it puts in.
    return html.replace(_SUBMISSION, view.submission_id).replace(_CSRF, view.csrf or csrf_token())


def _untouched(view: QuestionView) -> bool:
    return not (
        view.result
        or view.answered
        or view.attempt_number
        or view.stale
        or view.notice
        or view.revealed
        or view.can_reveal
        or view.hints
        or view.key_html
        or view.chosen
        or view.typed
    )


def reply_html(view: QuestionView, summary: CheckSummary, met: int, total: int) -> dict[str, str]:
    """The HTML an answer's reply carries: the question's result and help (hints, "Show
    answer"), its knowledge check's summary, and the lesson's "N of M questions" item.

    Each is kept under everything its macro shows (the spec stands for its content: new
    content gives new specs, and new entries).
    """
    spec = view.spec
    result = macro("_macros/quiz.html", "quiz_result")
    help_ = macro("_macros/quiz.html", "quiz_help")
    summarize = macro("_macros/quiz.html", "check_summary")
    checklist = macro("_macros/progress.html", "questions_checklist_item")
    shown = (view.notice, view.stale, view.result, view.revealed, view.key_html)
    if view.attempt_number is None:
        result_html = result(view)
    else:
        result_html = kept(
            ("result", id(result), spec.id, spec.revision, *shown),
            spec,
            lambda: result(replace(view, attempt_number=_ATTEMPT)),
        ).replace(_ATTEMPT, str(view.attempt_number))
    helped = (view.hints, view.can_reveal, view.url, view.revision)
    help_html = kept(
        ("help", id(help_), spec.id, spec.revision, *helped),
        spec,
        lambda: help_(replace(view, csrf=_CSRF)),
    ).replace(_CSRF, view.csrf or csrf_token())
    return {
        "result_html": str(result_html),
        "help_html": str(help_html),
        "summary_html": str(kept(("summary", summary), summarize, lambda: summarize(summary))),
        "checklist_html": str(
            kept(("checklist", met, total), checklist, lambda: checklist(met, total))
        ),
    }
