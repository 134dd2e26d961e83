"""Prepared statements (``app.prepared``): the same rows as SQLAlchemy's own execution.

They run on the app's database (SQLite here, PostgreSQL under ``make test-postgres``) with
its real tables: JSON, booleans and timestamps go through the same type processors.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, event, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.extensions import db
from app.models import QuizAttempt
from app.models.learner import aware
from app.prepared import Prepared
from tests.conftest import MakeApp

COLUMNS = ("guest_id", "course", "lesson", "question_id", "revision", "submission_id")
INSERT = Prepared(
    insert(QuizAttempt.__table__)
    .values(
        **{name: bindparam(name) for name in COLUMNS},
        answer=bindparam("answer", type_=QuizAttempt.__table__.c.answer.type),
        correct=bindparam("correct", type_=QuizAttempt.__table__.c.correct.type),
        score=1.0,
        misconceptions=bindparam("misconceptions", type_=QuizAttempt.__table__.c.answer.type),
        attempt_number=func.coalesce(None, 0) + 1,  # a literal of the statement's own
        after_reveal=False,
        created_at=bindparam("created_at", type_=QuizAttempt.__table__.c.created_at.type),
    )
    .returning(QuizAttempt.id, QuizAttempt.attempt_number, QuizAttempt.answer)
)
SELECT = select(
    QuizAttempt.question_id,
    QuizAttempt.answer,
    QuizAttempt.correct,
    QuizAttempt.created_at,
    QuizAttempt.misconceptions,
    func.count().over().label("shown"),
).where(QuizAttempt.guest_id == bindparam("guest_id"), QuizAttempt.course == "flask-basics")
WHEN = datetime(2026, 11, 21, 12, 30, 5, 250000, tzinfo=UTC)


@pytest.fixture
def app(make_app: MakeApp) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app


def attempt(guest: str, **values: Any) -> dict[str, Any]:
    return {
        "guest_id": guest,
        "course": "flask-basics",
        "lesson": "routing",
        "question_id": "q1",
        "revision": "r1",
        "submission_id": str(uuid.uuid4()),
        "answer": {"choices": ["b", "a"], "text": "ünïcode"},
        "correct": True,
        "misconceptions": ["m1"],
        "created_at": WHEN,
        **values,
    }


def test_rows_match_sqlalchemys_own_execution(app: Flask) -> None:
    guest = uuid.uuid4().hex
    stored = INSERT.rows(db.session.connection(), attempt(guest))
    INSERT.rows(db.session.connection(), attempt(guest, question_id="q2", correct=False))
    db.session.commit()

    assert len(stored) == 1
    assert stored[0].attempt_number == 1  # the statement's literals are sent too
    assert stored[0].answer == {"choices": ["b", "a"], "text": "ünïcode"}  # JSON both ways
    ours = Prepared(SELECT).read(db.engine, {"guest_id": guest})
    with db.engine.connect() as connection:
        theirs = connection.execute(SELECT, {"guest_id": guest}).all()
    assert sorted(ours) == sorted(tuple(row) for row in theirs)
    first = min(ours)
    assert (first.question_id, first.correct, first.shown) == ("q1", True, 2)
    assert isinstance(first.correct, bool)
    assert aware(first.created_at) == WHEN
    assert first.misconceptions == ["m1"]


def test_writes_belong_to_the_session_transaction(app: Flask) -> None:
    guest = uuid.uuid4().hex
    INSERT.rows(db.session.connection(), attempt(guest))
    assert len(Prepared(SELECT).rows(db.session.connection(), {"guest_id": guest})) == 1
    db.session.rollback()
    assert Prepared(SELECT).read(db.engine, {"guest_id": guest}) == []


def test_a_read_gives_its_connection_back(app: Flask) -> None:
    pool = db.engine.pool
    before = pool.checkedout()  # type: ignore[attr-defined]
    for _ in range(3):
        assert Prepared(SELECT).read(db.engine, {"guest_id": "nobody"}) == []
    assert pool.checkedout() == before  # type: ignore[attr-defined]


def test_driver_errors_are_raised_as_sqlalchemys(app: Flask) -> None:
    twice = attempt(uuid.uuid4().hex)
    INSERT.rows(db.session.connection(), twice)
    with pytest.raises(IntegrityError):  # submission_id is unique
        INSERT.rows(db.session.connection(), twice)
    db.session.rollback()


def test_watched_engines_see_every_statement(app: Flask) -> None:
    """With a cursor listener (a tracer, a test), statements go through SQLAlchemy."""
    guest = uuid.uuid4().hex
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        stored = INSERT.rows(db.session.connection(), attempt(guest))
        read = Prepared(SELECT).read(db.engine, {"guest_id": guest})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    db.session.rollback()
    assert [s.split(None, 1)[0].upper() for s in seen] == ["INSERT", "SELECT"]
    assert stored[0].attempt_number == 1 and read == []  # not committed: not seen by read


def test_expanding_parameters_are_refused(app: Flask) -> None:
    statement = select(QuizAttempt.id).where(QuizAttempt.question_id.in_(bindparam("ids")))
    with pytest.raises(ValueError, match="expanding"):
        Prepared(statement).read(db.engine, {"ids": ["q1"]})


def test_a_dropped_connection_is_invalidated_not_reused(app: Flask) -> None:
    """As SQLAlchemy's own execution does: the error says so, and the pool replaces it."""
    connection = db.session.connection()
    connection.connection.dbapi_connection.close()  # as if the database went away
    with pytest.raises(DBAPIError) as raised:
        Prepared(SELECT).rows(connection, {"guest_id": "nobody"})
    assert raised.value.connection_invalidated
    db.session.rollback()
    guest = uuid.uuid4().hex
    INSERT.rows(db.session.connection(), attempt(guest))  # a new connection
    db.session.commit()
    assert len(Prepared(SELECT).read(db.engine, {"guest_id": guest})) == 1


def test_a_transaction_commits_its_block_or_nothing(app: Flask) -> None:
    from app.prepared import transaction

    kept, lost = uuid.uuid4().hex, uuid.uuid4().hex
    with app.test_request_context():
        with transaction(db.engine):
            INSERT.here(attempt(kept), write=True)
            inside = Prepared(SELECT).here({"guest_id": kept})  # the block's own connection
            outside = Prepared(SELECT).read(db.engine, {"guest_id": kept})
        with pytest.raises(RuntimeError), transaction(db.engine):
            INSERT.here(attempt(lost), write=True)
            raise RuntimeError("the request failed after writing")
        after = Prepared(SELECT).here({"guest_id": kept})  # no transaction: a pooled read
        assert not db.session().in_transaction()  # the session was never used
    assert len(inside) == 1 and outside == []  # not visible before the commit
    assert len(after) == 1
    assert Prepared(SELECT).read(db.engine, {"guest_id": lost}) == []
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_here_follows_the_sessions_transaction(app: Flask) -> None:
    guest = uuid.uuid4().hex
    with app.test_request_context():
        INSERT.here(attempt(guest), write=True)  # joins (begins) the session's transaction
        assert db.session().in_transaction()
        assert len(Prepared(SELECT).here({"guest_id": guest})) == 1  # reads it there
        assert Prepared(SELECT).read(db.engine, {"guest_id": guest}) == []
        db.session.rollback()
        assert Prepared(SELECT).here({"guest_id": guest}) == []
