"""`flask users create` and `flask users set-role`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from app.accounts.passwords import password_matches
from app.extensions import db
from app.models import User
from tests.conftest import MakeApp


@pytest.fixture
def users_app(make_app: MakeApp) -> Iterator[Flask]:
    app = make_app()
    assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    yield app


def user(app: Flask, email: str) -> User | None:
    with app.app_context():
        found = db.session.scalar(db.select(User).where(User.email == email))
        if found is not None:
            db.session.expunge(found)
        return found


def test_create_reads_one_line_from_stdin_without_its_line_ending(users_app: Flask) -> None:
    runner = users_app.test_cli_runner()
    password = "a long enough pass phrase\t "
    result = runner.invoke(
        args=["users", "create", "Teacher@Example.org", "--role", "instructor", "--password-stdin"],
        input=password + "\r\nsecond line ignored\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created teacher@example.org (instructor)" in result.output
    assert password not in result.output
    created = user(users_app, "teacher@example.org")
    assert created is not None and created.role == "instructor"
    assert created.display_name == "Teacher"
    assert password_matches(created.password_hash, password)
    assert not password_matches(created.password_hash, password + "\r")
    assert len(created.session_token) >= 40


def test_create_without_stdin_prints_a_generated_password_once(users_app: Flask) -> None:
    result = users_app.test_cli_runner().invoke(
        args=["users", "create", "ada@example.org", "--display-name", "Ada Lovelace"]
    )
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "Password" in line)
    password = line.rsplit(" ", 1)[1]
    created = user(users_app, "ada@example.org")
    assert created is not None and created.role == "learner"
    assert created.display_name == "Ada Lovelace"
    assert password_matches(created.password_hash, password) and len(password) >= 20


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["not-an-email"], None, "not valid"),
        (["ada@example.org", "--password-stdin"], "short\n", "at least 12 characters"),
        (["ada@example.org", "--password-stdin"], "temppassword\n", "most common"),
        (["ada@example.org", "--role", "owner"], None, "Invalid value for '--role'"),
    ],
)
def test_create_refuses_bad_input(
    users_app: Flask, args: list[str], stdin: str | None, message: str
) -> None:
    result = users_app.test_cli_runner().invoke(args=["users", "create", *args], input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert user(users_app, "ada@example.org") is None


def test_create_refuses_a_second_account_with_the_same_email(users_app: Flask) -> None:
    runner = users_app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "ada@example.org"]).exit_code == 0
    again = runner.invoke(args=["users", "create", "ADA@example.org"])
    assert again.exit_code == 1 and "already exists" in again.output


def test_set_role(users_app: Flask) -> None:
    runner = users_app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "ada@example.org"]).exit_code == 0
    result = runner.invoke(args=["users", "set-role", "Ada@Example.org", "admin"])
    assert result.exit_code == 0 and "ada@example.org is now admin" in result.output
    assert user(users_app, "ada@example.org").role == "admin"
    unknown = runner.invoke(args=["users", "set-role", "bob@example.org", "admin"])
    assert unknown.exit_code == 1 and "No account" in unknown.output
    bad = runner.invoke(args=["users", "set-role", "ada@example.org", "root"])
    assert bad.exit_code == 2 and user(users_app, "ada@example.org").role == "admin"


def test_deleting_an_account_deletes_its_quiz_rows(users_app: Flask) -> None:
    from app.models import HintReveal, QuizAttempt, QuizReveal

    assert (
        users_app.test_cli_runner().invoke(args=["users", "create", "ada@example.org"]).exit_code
        == 0
    )
    where = {"course": "c", "lesson": "l", "question_id": "q", "revision": "r"}
    with users_app.app_context():
        ada = db.session.scalar(db.select(User))
        db.session.add_all(
            [
                QuizAttempt(
                    user_id=ada.id,
                    submission_id="s1",
                    answer="x",
                    correct=False,
                    score=0.0,
                    attempt_number=1,
                    **where,
                ),
                QuizAttempt(
                    guest_id="g" * 32,
                    submission_id="s2",
                    answer="x",
                    correct=True,
                    score=1.0,
                    attempt_number=1,
                    **where,
                ),
                QuizReveal(user_id=ada.id, **where),
                HintReveal(user_id=ada.id, hint_number=1, **where),
            ]
        )
        db.session.commit()
        db.session.delete(ada)
        db.session.commit()
        left = [
            (model.__tablename__, db.session.scalar(db.select(db.func.count()).select_from(model)))
            for model in (QuizAttempt, QuizReveal, HintReveal)
        ]
    assert left == [("quiz_attempt", 1), ("quiz_reveal", 0), ("hint_reveal", 0)]
