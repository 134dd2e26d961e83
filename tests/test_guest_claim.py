"""A guest's work moves to the account on register or sign-in: quiz attempts, answer reveals
and hint reveals stored against the guest id in the signed session get the account's id,
with no duplicate rows, nothing lost, and the guest id retired."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from app.models import HintReveal, QuizAttempt, QuizReveal
from app.quiz_types import QuizSpec
from tests.account_client import Browser, add_user, csrf_tokens, get_user, migrated_app
from tests.quiz_client import Learner, correct_answer, rows, section_of, text_of, wrong_answer

COURSE = "flask-fundamentals"
LESSON = "what-is-flask"
SINGLE = "string-view-response-defaults"  # single choice, with a hint
ORDER = "flask-request-to-response-order"  # order, with a hint
ACTIVITY = (QuizAttempt, QuizReveal, HintReveal)


@pytest.fixture(scope="module")
def claim_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return migrated_app(
        tmp_path_factory.mktemp("guest-claim"),
        LOGIN_RATE_LIMIT="1000 per minute",
        ACCOUNT_RATE_LIMIT="1000 per minute",
    )


# ---------- helpers ----------


def spec_of(learner: Learner, question_id: str, lesson: str = LESSON) -> QuizSpec:
    spec = learner.lesson(lesson).question(question_id)
    assert spec is not None
    return spec


def session_of(browser: Browser) -> dict[str, Any]:
    """What the browser's signed session cookie holds."""
    with browser.client.session_transaction() as session:
        return dict(session)


def guest_id_of(browser: Browser) -> str:
    guest_id = session_of(browser).get("guest_id")
    assert isinstance(guest_id, str) and re.fullmatch(r"[0-9a-f]{32}", guest_id), guest_id
    return guest_id


def owned_by(
    app: Flask, model: type, *, user_id: int | None = None, guest_id: str | None = None
) -> list[Any]:
    """The rows of one learner (an account, or a guest id with no account)."""
    if user_id is not None:
        return [row for row in rows(app, model) if row.user_id == user_id]
    return [row for row in rows(app, model) if row.user_id is None and row.guest_id == guest_id]


def snapshot(row: Any) -> tuple[Any, ...]:
    """What must survive a claim unchanged (everything but the learner columns)."""
    common = (row.id, row.course, row.lesson, row.question_id, row.revision, row.created_at)
    if isinstance(row, QuizAttempt):
        return (
            *common,
            row.submission_id,
            row.answer,
            row.correct,
            row.score,
            row.attempt_number,
            row.after_reveal,
        )
    if isinstance(row, HintReveal):
        return (*common, row.hint_number)
    return common


def first_try_score(page: str) -> str:
    match = re.search(r'<p class="knowledge-check-score">(.*?)</p>', page, re.DOTALL)
    assert match, "the knowledge check is not complete"
    return text_of(match.group(1))


def answered(response: TestResponse) -> None:
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:500]


# ---------- registering ----------


def test_registering_moves_the_guests_work_to_the_new_account(claim_app: Flask) -> None:
    browser = Browser(claim_app)
    guest = browser.learner()
    spec, order = spec_of(guest, SINGLE), spec_of(guest, ORDER)
    assert spec.hints_html, "the bundled question is expected to have a hint"
    guest.page(LESSON)
    assert "guest_id" in session_of(browser)  # opening a lesson starts it, for guests too

    answered(guest.post_form(LESSON, spec, wrong_answer(spec)))
    answered(guest.action(LESSON, spec, "hint", hint="1"))
    answered(guest.action(LESSON, spec, "reveal"))
    answered(guest.post_form(LESSON, spec, correct_answer(spec)))
    answered(guest.post_json(LESSON, order, correct_answer(order)))
    guest_id = guest_id_of(browser)
    before = {model: owned_by(claim_app, model, guest_id=guest_id) for model in ACTIVITY}
    assert [len(found) for found in before.values()] == [3, 1, 1]
    totals = [len(rows(claim_app, model)) for model in ACTIVITY]

    response = browser.register("newbie@example.org", display_name="Newbie")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert response.headers["Location"] == "/dashboard"
    user = get_user(claim_app, "newbie@example.org")
    assert user is not None

    for model in ACTIVITY:
        after = owned_by(claim_app, model, user_id=user.id)
        assert [snapshot(row) for row in after] == [snapshot(row) for row in before[model]]
        assert all(row.guest_id is None for row in after), model.__tablename__
        assert owned_by(claim_app, model, guest_id=guest_id) == []
        assert not [row for row in rows(claim_app, model) if row.guest_id == guest_id]
    assert [len(rows(claim_app, model)) for model in ACTIVITY] == totals
    attempts = owned_by(claim_app, QuizAttempt, user_id=user.id)
    assert [(r.question_id, r.attempt_number, r.correct, r.after_reveal) for r in attempts] == [
        (SINGLE, 1, False, False),
        (SINGLE, 2, True, True),
        (ORDER, 1, True, False),
    ]

    state = session_of(browser)
    assert "guest_id" not in state
    assert state.get("_user_id", "").startswith(f"{user.id}:")
    page = guest.page(LESSON)  # signed in now
    single = text_of(section_of(page, SINGLE))
    assert "Correct!" in single and "Attempt 2" in single
    assert text_of(spec.hints_html[0]) in single
    assert "Correct!" in text_of(section_of(page, ORDER))
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert "Continue where you left off" in dashboard
    assert f"/courses/{COURSE}/{LESSON}/" in dashboard


def test_a_refused_sign_in_claims_nothing(claim_app: Flask) -> None:
    add_user(claim_app, "patient@example.org")
    browser = Browser(claim_app)
    guest = browser.learner()
    spec = spec_of(guest, SINGLE)
    answered(guest.post_json(LESSON, spec, correct_answer(spec)))
    guest_id = guest_id_of(browser)
    (row,) = owned_by(claim_app, QuizAttempt, guest_id=guest_id)

    assert browser.login("patient@example.org", "not the right password").status_code == 400
    assert guest_id_of(browser) == guest_id
    assert [r.id for r in owned_by(claim_app, QuizAttempt, guest_id=guest_id)] == [row.id]

    assert browser.login("patient@example.org").status_code == 303
    user = get_user(claim_app, "patient@example.org")
    assert [r.id for r in owned_by(claim_app, QuizAttempt, user_id=user.id)] == [row.id]
    assert "guest_id" not in session_of(browser)


# ---------- signing in to an account that already has work ----------


def test_signing_in_merges_attempts_in_time_order(claim_app: Flask) -> None:
    email = "merger@example.org"
    user_id = add_user(claim_app, email, display_name="Merger")
    account = Browser(claim_app)
    assert account.login(email).status_code == 303
    as_account = account.learner()
    guest_browser = Browser(claim_app)
    as_guest = guest_browser.learner()
    questions = as_account.lesson(LESSON).questions
    spec = spec_of(as_account, SINGLE)

    # guest right first, then the account wrong, then the guest wrong again
    answered(as_guest.post_json(LESSON, spec, correct_answer(spec)))
    answered(as_guest.action(LESSON, spec, "hint", json=True, hint="1"))
    answered(as_account.post_json(LESSON, spec, wrong_answer(spec)))
    answered(as_account.action(LESSON, spec, "hint", json=True, hint="1"))
    for other in questions:  # the account answers the rest of the check right first time
        if other.id != SINGLE:
            answered(as_account.post_json(LESSON, other, correct_answer(other)))
    answered(as_guest.post_json(LESSON, spec, wrong_answer(spec)))
    guest_id = guest_id_of(guest_browser)
    total = len(questions)
    assert (
        first_try_score(as_account.page(LESSON)) == f"{total - 1} of {total} correct on first try."
    )
    guest_rows = owned_by(claim_app, QuizAttempt, guest_id=guest_id)
    account_rows = owned_by(claim_app, QuizAttempt, user_id=user_id)
    assert [r.attempt_number for r in guest_rows] == [1, 2]
    expected_order = sorted(
        [r for r in guest_rows + account_rows if r.question_id == SINGLE],
        key=lambda r: (r.created_at, r.id),
    )
    assert [r.id for r in expected_order] == [
        guest_rows[0].id,
        account_rows[0].id,
        guest_rows[1].id,
    ]
    hints_before = owned_by(claim_app, HintReveal, user_id=user_id) + owned_by(
        claim_app, HintReveal, guest_id=guest_id
    )
    assert len(hints_before) == 2

    assert guest_browser.login(email).status_code == 303

    merged = owned_by(claim_app, QuizAttempt, user_id=user_id)
    assert len(merged) == len(guest_rows) + len(account_rows)  # nothing lost, nothing doubled
    assert len({r.submission_id for r in merged}) == len(merged)
    on_single = sorted(
        (r for r in merged if r.question_id == SINGLE), key=lambda r: (r.created_at, r.id)
    )
    assert [r.id for r in on_single] == [r.id for r in expected_order]
    assert [r.attempt_number for r in on_single] == [1, 2, 3]
    assert [r.correct for r in on_single] == [True, False, False]
    for other in (r for r in merged if r.question_id != SINGLE):
        assert other.attempt_number == 1
    # the first try now is the guest's right answer, for both of the account's browsers
    for learner in (as_account, as_guest):
        page = learner.page(LESSON)
        assert first_try_score(page) == f"{total} of {total} correct on first try."
        assert "Attempt 3" in text_of(section_of(page, SINGLE))

    hints = owned_by(claim_app, HintReveal, user_id=user_id)
    assert [(h.question_id, h.hint_number) for h in hints] == [(SINGLE, 1)]
    assert hints[0].id == min(h.id for h in hints_before)  # the earlier one is kept
    assert not [r for model in ACTIVITY for r in rows(claim_app, model) if r.guest_id == guest_id]
    assert "guest_id" not in session_of(guest_browser)
    hint_text = text_of(spec.hints_html[0])
    assert text_of(section_of(as_account.page(LESSON), SINGLE)).count(hint_text) == 1


# ---------- the retired guest id ----------


def test_a_copied_guest_cookie_never_writes_to_the_account(claim_app: Flask) -> None:
    browser = Browser(claim_app)
    guest = browser.learner()
    spec, order = spec_of(guest, SINGLE), spec_of(guest, ORDER)
    answered(guest.post_form(LESSON, spec, correct_answer(spec)))
    guest_id = guest_id_of(browser)
    old_cookie = browser.client.get_cookie("session").value

    stranger = Browser(claim_app)  # another guest, never to be claimed
    as_stranger = stranger.learner()
    answered(as_stranger.post_form(LESSON, spec, wrong_answer(spec)))
    answered(as_stranger.action(LESSON, spec, "hint", hint="1"))
    stranger_id = guest_id_of(stranger)
    assert stranger_id != guest_id
    stranger_rows = {
        model: [snapshot(r) for r in owned_by(claim_app, model, guest_id=stranger_id)]
        for model in ACTIVITY
    }

    assert browser.register("retired@example.org", display_name="Retired").status_code == 303
    user = get_user(claim_app, "retired@example.org")
    account_rows = {
        model: [snapshot(r) for r in owned_by(claim_app, model, user_id=user.id)]
        for model in ACTIVITY
    }
    assert len(account_rows[QuizAttempt]) == 1

    replay = Browser(claim_app)
    replay.client.set_cookie("session", old_cookie)
    assert not replay.signed_in()
    as_replay = replay.learner()
    page = as_replay.page(LESSON)
    assert "Correct!" not in text_of(section_of(page, SINGLE))  # the account's work is not shown
    answered(as_replay.post_form(LESSON, spec, wrong_answer(spec)))
    answered(as_replay.post_json(LESSON, order, correct_answer(order)))
    answered(as_replay.action(LESSON, order, "hint", hint="1"))

    replay_id = guest_id_of(replay)  # the old guest id, or a new one: never the account
    new_attempts = owned_by(claim_app, QuizAttempt, guest_id=replay_id)
    assert [(r.question_id, r.attempt_number, r.user_id) for r in new_attempts] == [
        (SINGLE, 1, None),
        (ORDER, 1, None),
    ]
    assert len(owned_by(claim_app, HintReveal, guest_id=replay_id)) == 1
    for model in ACTIVITY:
        now = [snapshot(r) for r in owned_by(claim_app, model, user_id=user.id)]
        assert now == account_rows[model], model.__tablename__
        theirs = [snapshot(r) for r in owned_by(claim_app, model, guest_id=stranger_id)]
        assert theirs == stranger_rows[model], model.__tablename__
    section = text_of(section_of(browser.learner().page(LESSON), SINGLE))
    assert "Correct!" in section and "Attempt 1" in section  # the account sees only its own


def test_after_logout_answers_go_to_a_fresh_guest_id(claim_app: Flask) -> None:
    browser = Browser(claim_app)
    learner = browser.learner()
    spec, order = spec_of(learner, SINGLE), spec_of(learner, ORDER)
    answered(learner.post_json(LESSON, spec, correct_answer(spec)))
    first_guest = guest_id_of(browser)
    assert browser.register("leaver@example.org", display_name="Leaver").status_code == 303
    user = get_user(claim_app, "leaver@example.org")
    answered(learner.post_json(LESSON, order, wrong_answer(order)))  # as the account
    account_rows = {
        model: [snapshot(r) for r in owned_by(claim_app, model, user_id=user.id)]
        for model in ACTIVITY
    }
    assert [len(found) for found in account_rows.values()] == [2, 0, 0]

    assert browser.logout().status_code == 303
    assert not browser.signed_in()
    state = session_of(browser)
    assert "guest_id" not in state and "_user_id" not in state
    page = learner.page(LESSON)
    assert "Correct!" not in text_of(section_of(page, SINGLE))

    answered(learner.post_json(LESSON, spec, wrong_answer(spec)))
    answered(learner.action(LESSON, spec, "reveal", json=True))
    fresh_guest = guest_id_of(browser)
    assert fresh_guest != first_guest
    (attempt,) = owned_by(claim_app, QuizAttempt, guest_id=fresh_guest)
    assert (attempt.question_id, attempt.attempt_number, attempt.correct) == (SINGLE, 1, False)
    assert len(owned_by(claim_app, QuizReveal, guest_id=fresh_guest)) == 1
    assert owned_by(claim_app, QuizAttempt, guest_id=first_guest) == []
    for model in ACTIVITY:
        now = [snapshot(r) for r in owned_by(claim_app, model, user_id=user.id)]
        assert now == account_rows[model], model.__tablename__


def test_a_guest_posting_logout_keeps_their_guest_work(claim_app: Flask) -> None:
    guest = Learner(claim_app)
    spec = guest.lesson(LESSON).question(SINGLE)
    assert spec is not None
    assert guest.post_form(LESSON, spec, correct_answer(spec)).status_code == 303
    with guest.client.session_transaction() as session:
        guest_id = session["guest_id"]
    token = csrf_tokens(guest.page(LESSON))["csrf_token"]

    response = guest.client.post("/auth/logout", data={"csrf_token": token})

    assert response.status_code == 303
    with guest.client.session_transaction() as session:
        assert session["guest_id"] == guest_id
