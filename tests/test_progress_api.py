"""The reading-progress API (``/api/v1/progress``) and the visit a lesson page records.

Everything goes through HTTP on a migrated SQLite file: opening a lesson starts it, the
page reports how far the learner read, and the API reads it back. Only the learner's own
progress is ever reachable, and a lesson GET writes at most once per 10 minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update
from werkzeug.test import TestResponse

from app.extensions import db
from app.lessons.store import catalog
from app.models import LessonProgress
from app.models.learner import aware
from tests.account_client import Browser, add_user, migrated_app
from tests.conftest import SNAPSHOT_CONTENT
from tests.quiz_client import Learner, correct_answer

COURSE = "flask-fundamentals"
LESSON = "what-is-flask"
OTHER_LESSON = "what-micro-means"
PROGRESS_URL = f"/api/v1/progress/{COURSE}"
COURSE_KEYS = {"course", "percent_complete", "lessons", "last_synced_at"}
LESSON_KEYS = {
    "lesson",
    "started_at",
    "completed_at",
    "percent_read",
    "furthest_section",
    "last_seen_at",
}
TIME_KEYS = ("started_at", "completed_at", "last_seen_at")
META_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@pytest.fixture(scope="module")
def progress_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return migrated_app(
        Path(tmp_path_factory.mktemp("progress-api")),
        CONTENT_DIR=str(SNAPSHOT_CONTENT),
        LOGIN_RATE_LIMIT="1000 per minute",
    )


# ---------- helpers ----------


class Reader:
    """One browser (guest, or signed in with ``login``) reading the bundled course."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.browser = Browser(app)
        self.client = self.browser.client
        self.csrf: str | None = None

    def open(self, lesson: str = LESSON) -> TestResponse:
        """GET the lesson page, keeping the CSRF token from its ``<meta>`` tag."""
        response = self.client.get(lesson_url(lesson))
        assert response.status_code == 200
        match = META_CSRF_RE.search(response.get_data(as_text=True))
        assert match, "the lesson page has no csrf-token meta tag"
        self.csrf = match.group(1)
        return response

    def login(self, email: str) -> None:
        assert self.browser.login(email).status_code == 303
        self.csrf = None  # signing in starts a new session: the old token is void

    def report(
        self, lesson: str = LESSON, section: str | None = None, percent_read: Any = 0, **body: Any
    ) -> TestResponse:
        """What progress.js sends: the section reached and the percentage read."""
        if self.csrf is None:
            self.open(lesson)
        payload = {"section": section, "percent_read": percent_read, **body}
        return self.post(lesson, json=payload)

    def post(self, lesson: str = LESSON, course: str = COURSE, **kwargs: Any) -> TestResponse:
        """A raw POST to the sync endpoint with this browser's token (unless given headers)."""
        kwargs.setdefault("headers", {"X-CSRFToken": self.csrf})
        return self.client.post(f"/api/v1/progress/{course}/{lesson}", **kwargs)

    def progress(self) -> dict[str, Any]:
        response = self.client.get(PROGRESS_URL)
        assert response.status_code == 200
        return response.get_json()

    def entry(self, lesson: str = LESSON) -> dict[str, Any]:
        return next(e for e in self.progress()["lessons"] if e["lesson"] == lesson)

    def guest_id(self) -> str:
        with self.client.session_transaction() as session:
            guest_id = session.get("guest_id")
        assert isinstance(guest_id, str) and re.fullmatch(r"[0-9a-f]{32}", guest_id), guest_id
        return guest_id


def lesson_url(lesson: str) -> str:
    return f"/courses/{COURSE}/{lesson}/"


def headings(app: Flask, lesson: str = LESSON) -> tuple[str, ...]:
    with app.app_context():
        course = catalog().course(COURSE)
        assert course is not None
        found = course.lesson(lesson)
        assert found is not None
        return found.heading_ids


def lesson_order(app: Flask) -> list[str]:
    with app.app_context():
        course = catalog().course(COURSE)
        assert course is not None
        return [lesson.slug for lesson in course.lessons]


def progress_rows(
    app: Flask, *, user_id: int | None = None, guest_id: str | None = None
) -> list[LessonProgress]:
    """One learner's ``lesson_progress`` rows (an account, or a guest id with no account)."""
    with app.app_context():
        query = select(LessonProgress).order_by(LessonProgress.id)
        if user_id is not None:
            query = query.where(LessonProgress.user_id == user_id)
        else:
            query = query.where(
                LessonProgress.user_id.is_(None), LessonProgress.guest_id == guest_id
            )
        found = list(db.session.scalars(query))
        for row in found:
            db.session.expunge(row)
        return found


def row_of(app: Flask, lesson: str = LESSON, **learner: Any) -> LessonProgress:
    (row,) = [r for r in progress_rows(app, **learner) if r.lesson == lesson]
    return row


def state(row: LessonProgress) -> tuple[Any, ...]:
    return (
        row.id,
        row.user_id,
        row.guest_id,
        row.lesson,
        row.started_at,
        row.last_seen_at,
        row.furthest_section,
        row.furthest_index,
        row.percent_read,
        row.completed_at,
    )


def set_times(app: Flask, row_id: int, **times: datetime) -> None:
    """Move stored times (``started_at``, ``last_seen_at``) instead of waiting."""
    with app.app_context():
        db.session.execute(
            update(LessonProgress).where(LessonProgress.id == row_id).values(**times)
        )
        db.session.commit()


def when(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, f"{value} has no UTC offset"
    return moment


def recent(value: str) -> bool:
    return timedelta(0) <= datetime.now(UTC) - when(value) < timedelta(minutes=1)


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def progress_writes(sent: list[str]) -> list[str]:
    return [
        s
        for s in sent
        if s.upper().startswith(("INSERT", "UPDATE", "DELETE")) and "lesson_progress" in s
    ]


def error_of(response: TestResponse, status: int) -> str:
    """The JSON error body's message, after checking its shape and status."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "status", "message"}
    assert body["status"] == status and body["error"]
    return body["message"]


# ---------- the shape of the API ----------


def test_a_visitor_who_never_visited_gets_an_empty_course(progress_app: Flask) -> None:
    """No cookie is needed, none is set, and every lesson reads as not started."""
    client = progress_app.test_client(use_cookies=False)

    response = client.get(PROGRESS_URL)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert response.get_json() == {
        "course": COURSE,
        "percent_complete": 0,
        "lessons": [
            {
                "lesson": slug,
                "started_at": None,
                "completed_at": None,
                "percent_read": 0,
                "furthest_section": None,
                "last_seen_at": None,
            }
            for slug in lesson_order(progress_app)
        ],
        "last_synced_at": None,
    }


def test_course_progress_has_exact_keys_types_and_course_order(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    reader.open(OTHER_LESSON)
    assert (
        reader.report(OTHER_LESSON, headings(progress_app, OTHER_LESSON)[1], 30).status_code == 200
    )

    data = reader.progress()

    assert set(data) == COURSE_KEYS
    assert data["course"] == COURSE
    assert type(data["percent_complete"]) is int and data["percent_complete"] == 0
    assert [entry["lesson"] for entry in data["lessons"]] == lesson_order(progress_app)
    for entry in data["lessons"]:
        assert set(entry) == LESSON_KEYS
        assert type(entry["percent_read"]) is int
        assert entry["furthest_section"] is None or isinstance(entry["furthest_section"], str)
        for key in TIME_KEYS:
            assert entry[key] is None or when(entry[key])
    started = {e["lesson"]: e for e in data["lessons"] if e["started_at"] is not None}
    assert list(started) == [OTHER_LESSON]
    read = started[OTHER_LESSON]
    assert read["percent_read"] == 30
    assert read["furthest_section"] == headings(progress_app, OTHER_LESSON)[1]
    assert recent(read["started_at"]) and recent(read["last_seen_at"])
    assert read["completed_at"] is None
    assert data["last_synced_at"] == read["last_seen_at"]


def test_a_completed_lesson_shows_completed_at_and_counts_in_percent_complete(
    progress_app: Flask,
) -> None:
    """All questions right first time, then the end reached: 1 of 3 lessons is 33 %."""
    reader = Reader(progress_app)
    quiz = Learner(progress_app)
    quiz.client = reader.client
    for spec in quiz.lesson(LESSON).questions:
        answer = quiz.post_json(LESSON, spec, correct_answer(spec))
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    reader.open(LESSON)
    before = reader.report(LESSON, headings(progress_app)[-1], 99).get_json()
    assert before["completed_at"] is None

    entry = reader.report(LESSON, headings(progress_app)[-1], 100).get_json()

    assert recent(entry["completed_at"])
    data = reader.progress()
    assert data["percent_complete"] == 33 and type(data["percent_complete"]) is int
    assert [e["completed_at"] is not None for e in data["lessons"]] == [
        slug == LESSON for slug in lesson_order(progress_app)
    ]
    assert reader.entry(LESSON) == entry


def test_unknown_course_is_a_json_404(progress_app: Flask) -> None:
    response = progress_app.test_client().get("/api/v1/progress/no-such-course")

    assert "no such course" in error_of(response, 404)
    assert response.headers["Cache-Control"] == "no-store"


# ---------- reporting progress ----------


def test_a_report_returns_the_entry_and_get_agrees(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    reader.open(LESSON)
    section = headings(progress_app)[2]

    response = reader.report(LESSON, section, 25)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    entry = response.get_json()
    assert set(entry) == LESSON_KEYS
    assert entry["lesson"] == LESSON
    assert (entry["furthest_section"], entry["percent_read"]) == (section, 25)
    assert entry["completed_at"] is None
    assert when(entry["started_at"]) <= when(entry["last_seen_at"])
    assert reader.entry(LESSON) == entry
    row = row_of(progress_app, guest_id=reader.guest_id())
    assert (row.furthest_section, row.furthest_index, row.percent_read) == (section, 2, 25)


def test_a_report_at_the_top_of_the_lesson_keeps_no_section(progress_app: Flask) -> None:
    reader = Reader(progress_app)

    entry = reader.report(LESSON, None, 5).get_json()

    assert (entry["furthest_section"], entry["percent_read"]) == (None, 5)
    assert row_of(progress_app, guest_id=reader.guest_id()).furthest_index == -1


def test_reports_in_a_row_keep_the_furthest_section_and_the_highest_percent(
    progress_app: Flask,
) -> None:
    """Section and percentage are maxima of their own: each only moves forward."""
    reader = Reader(progress_app)
    ids = headings(progress_app)
    reports = [
        ((ids[2], 20), (ids[2], 20)),
        ((ids[5], 50), (ids[5], 50)),
        ((ids[3], 70), (ids[5], 70)),  # an older section, a higher percent
        ((ids[1], 10), (ids[5], 70)),  # older and lower: nothing moves
        ((None, 0), (ids[5], 70)),  # back at the top
        ((ids[8], 60), (ids[8], 70)),  # further on, but a lower percent
    ]
    reader.open(LESSON)

    for (section, percent), expected in reports:
        entry = reader.report(LESSON, section, percent).get_json()
        assert (entry["furthest_section"], entry["percent_read"]) == expected, (section, percent)

    assert (reader.entry(LESSON)["furthest_section"], reader.entry(LESSON)["percent_read"]) == (
        ids[8],
        70,
    )
    row = row_of(progress_app, guest_id=reader.guest_id())
    assert (row.furthest_index, row.percent_read) == (8, 70)


def test_repeating_a_report_changes_nothing_but_last_seen_at(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    reader.open(LESSON)
    section = headings(progress_app)[4]

    first = reader.report(LESSON, section, 40).get_json()
    second = reader.report(LESSON, section, 40).get_json()

    assert when(second["last_seen_at"]) >= when(first["last_seen_at"])
    first.pop("last_seen_at")
    second.pop("last_seen_at")
    assert second == first
    rows = progress_rows(progress_app, guest_id=reader.guest_id())
    assert [(r.lesson, r.furthest_section, r.percent_read) for r in rows] == [(LESSON, section, 40)]


# ---------- refused reports ----------


def test_percent_read_0_and_100_are_accepted(progress_app: Flask) -> None:
    """The bounds are in range; 100 with the questions unanswered does not complete."""
    reader = Reader(progress_app)

    top = reader.report(LESSON, None, 0)
    end = reader.report(LESSON, headings(progress_app)[-1], 100)

    assert (top.status_code, top.get_json()["percent_read"]) == (200, 0)
    assert (end.status_code, end.get_json()["percent_read"]) == (200, 100)
    assert end.get_json()["completed_at"] is None


BAD_PERCENTS = [
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param(50.0, id="float"),
    pytest.param(12.5, id="fraction"),
    pytest.param("50", id="string"),
    pytest.param(-1, id="minus-one"),
    pytest.param(101, id="hundred-and-one"),
    pytest.param(10**20, id="huge"),
    pytest.param(None, id="null"),
    pytest.param([50], id="list"),
]


@pytest.mark.parametrize("percent", BAD_PERCENTS)
def test_percent_read_outside_0_to_100_is_refused(progress_app: Flask, percent: Any) -> None:
    reader = Reader(progress_app)
    reader.report(LESSON, headings(progress_app)[1], 10)
    before = state(row_of(progress_app, guest_id=reader.guest_id()))

    response = reader.report(LESSON, headings(progress_app)[3], percent)

    assert "percent_read must be a whole number from 0 to 100" in error_of(response, 400)
    assert state(row_of(progress_app, guest_id=reader.guest_id())) == before


def test_a_report_without_percent_read_is_refused(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    reader.open(LESSON)

    response = reader.post(LESSON, json={"section": headings(progress_app)[1]})

    assert "percent_read" in error_of(response, 400)


@pytest.mark.parametrize(
    "section",
    [
        pytest.param("h-converters", id="heading-of-another-lesson"),
        pytest.param("h-no-such-heading", id="unknown-id"),
        pytest.param("#h-recap", id="with-hash"),
        pytest.param("", id="empty"),
        pytest.param(3, id="number"),
        pytest.param(["h-recap"], id="list"),
    ],
)
def test_a_section_that_is_no_heading_of_the_lesson_is_refused(
    progress_app: Flask, section: Any
) -> None:
    assert section not in headings(progress_app)
    reader = Reader(progress_app)
    reader.report(LESSON, headings(progress_app)[1], 10)
    before = state(row_of(progress_app, guest_id=reader.guest_id()))

    response = reader.report(LESSON, section, 20)

    assert "section must be the id of a heading in this lesson" in error_of(response, 400)
    assert state(row_of(progress_app, guest_id=reader.guest_id())) == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(
            b"section=h-recap&percent_read=5", "application/x-www-form-urlencoded", id="form"
        ),
        pytest.param(b'{"section": null, "percent_read": 5}', "text/plain", id="json-as-text"),
        pytest.param(b"", None, id="no-body"),
    ],
)
def test_a_body_that_is_not_json_is_415(
    progress_app: Flask, body: bytes, content_type: str | None
) -> None:
    reader = Reader(progress_app)
    reader.open(LESSON)

    response = reader.post(
        LESSON, data=body, content_type=content_type, headers={"X-CSRFToken": reader.csrf}
    )

    assert "Send a JSON object" in error_of(response, 415)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'[{"section": null, "percent_read": 5}]', id="list"),
        pytest.param(b'"h-recap"', id="string"),
        pytest.param(b"50", id="number"),
        pytest.param(b"null", id="null"),
    ],
)
def test_json_that_is_not_an_object_is_400(progress_app: Flask, body: bytes) -> None:
    reader = Reader(progress_app)
    reader.open(LESSON)

    response = reader.post(
        LESSON, data=body, content_type="application/json", headers={"X-CSRFToken": reader.csrf}
    )

    assert "must be a JSON object" in error_of(response, 400)


def test_malformed_json_is_a_json_400(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    reader.open(LESSON)

    response = reader.post(
        LESSON,
        data=b'{"percent_read": ',
        content_type="application/json",
        headers={"X-CSRFToken": reader.csrf},
    )

    assert error_of(response, 400)


@pytest.mark.parametrize(
    ("course", "lesson", "message"),
    [
        pytest.param("no-such-course", LESSON, "There is no such course.", id="course"),
        pytest.param(
            COURSE, "no-such-lesson", "There is no such lesson in this course.", id="lesson"
        ),
    ],
)
def test_reporting_on_an_unknown_course_or_lesson_is_404(
    progress_app: Flask, course: str, lesson: str, message: str
) -> None:
    reader = Reader(progress_app)
    reader.open(LESSON)
    guest_id = reader.guest_id()
    before = [state(row) for row in progress_rows(progress_app, guest_id=guest_id)]

    response = reader.post(lesson, course=course, json={"section": None, "percent_read": 5})

    assert error_of(response, 404) == message
    assert [state(row) for row in progress_rows(progress_app, guest_id=guest_id)] == before


# ---------- CSRF ----------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-CSRFToken": "not-a-token"}, id="garbage"),
        pytest.param({"X-CSRFToken": ""}, id="empty"),
    ],
)
def test_a_report_without_a_valid_csrf_header_is_refused(
    progress_app: Flask, headers: dict[str, str]
) -> None:
    reader = Reader(progress_app)
    reader.report(LESSON, headings(progress_app)[1], 10)
    before = state(row_of(progress_app, guest_id=reader.guest_id()))

    response = reader.post(
        LESSON, json={"section": headings(progress_app)[5], "percent_read": 60}, headers=headers
    )

    assert "security token" in error_of(response, 400)
    assert state(row_of(progress_app, guest_id=reader.guest_id())) == before


def test_a_csrf_token_from_another_session_is_refused(progress_app: Flask) -> None:
    mine, theirs = Reader(progress_app), Reader(progress_app)
    mine.report(LESSON, headings(progress_app)[1], 10)
    theirs.open(LESSON)
    before = state(row_of(progress_app, guest_id=mine.guest_id()))

    response = mine.post(
        LESSON,
        json={"section": headings(progress_app)[5], "percent_read": 60},
        headers={"X-CSRFToken": theirs.csrf},
    )

    assert "security token" in error_of(response, 400)
    assert state(row_of(progress_app, guest_id=mine.guest_id())) == before


def test_a_refused_first_report_mints_no_guest_and_stores_nothing(progress_app: Flask) -> None:
    client = progress_app.test_client()
    with progress_app.app_context():
        total = len(db.session.scalars(select(LessonProgress.id)).all())

    response = client.post(f"{PROGRESS_URL}/{LESSON}", json={"section": None, "percent_read": 5})

    assert "security token" in error_of(response, 400)
    with client.session_transaction() as session:
        assert "guest_id" not in session
    with progress_app.app_context():
        assert len(db.session.scalars(select(LessonProgress.id)).all()) == total


# ---------- one learner's progress only ----------


def test_a_guest_sees_and_changes_nothing_of_another_guest(progress_app: Flask) -> None:
    ids = headings(progress_app)
    ann, ben = Reader(progress_app), Reader(progress_app)
    ann.report(LESSON, ids[6], 80)
    anns_row = state(row_of(progress_app, guest_id=ann.guest_id()))

    assert Reader(progress_app).progress()["last_synced_at"] is None
    ben.open(OTHER_LESSON)
    seen = ben.progress()
    assert [e["lesson"] for e in seen["lessons"] if e["started_at"]] == [OTHER_LESSON]
    assert ben.entry(LESSON)["percent_read"] == 0
    entry = ben.report(LESSON, ids[1], 15).get_json()

    assert (entry["furthest_section"], entry["percent_read"]) == (ids[1], 15)
    assert ben.guest_id() != ann.guest_id()
    assert state(row_of(progress_app, guest_id=ann.guest_id())) == anns_row
    assert (ann.entry(LESSON)["furthest_section"], ann.entry(LESSON)["percent_read"]) == (
        ids[6],
        80,
    )
    bens = progress_rows(progress_app, guest_id=ben.guest_id())
    assert sorted(r.lesson for r in bens) == sorted([LESSON, OTHER_LESSON])


def test_an_account_and_a_guest_never_see_each_others_progress(progress_app: Flask) -> None:
    ids = headings(progress_app)
    user_id = add_user(progress_app, "reader@example.org")
    account, guest = Reader(progress_app), Reader(progress_app)
    account.login("reader@example.org")
    account.report(LESSON, ids[7], 75)
    accounts_row = state(row_of(progress_app, user_id=user_id))

    assert guest.entry(LESSON)["started_at"] is None
    guest.report(LESSON, ids[2], 30, user_id=user_id, guest_id=None)  # ignored fields

    assert state(row_of(progress_app, user_id=user_id)) == accounts_row
    guests = row_of(progress_app, guest_id=guest.guest_id())
    assert (guests.user_id, guests.percent_read) == (None, 30)
    mine = account.entry(LESSON)
    assert (mine["furthest_section"], mine["percent_read"]) == (ids[7], 75)
    theirs = guest.entry(LESSON)
    assert (theirs["furthest_section"], theirs["percent_read"]) == (ids[2], 30)


def test_a_guest_who_signs_in_sees_the_accounts_progress(progress_app: Flask) -> None:
    """The guest's rows fold into the account's: the further section and higher percent."""
    ids, others = headings(progress_app), headings(progress_app, OTHER_LESSON)
    user_id = add_user(progress_app, "merger@example.org")
    account = Reader(progress_app)
    account.login("merger@example.org")
    account.report(LESSON, ids[6], 40)
    guest = Reader(progress_app)
    guest.report(LESSON, ids[2], 90)
    guest.report(OTHER_LESSON, others[3], 35)
    guest_id = guest.guest_id()
    earlier = datetime.now(UTC) - timedelta(hours=2)  # the guest started the lesson first
    set_times(progress_app, row_of(progress_app, guest_id=guest_id).id, started_at=earlier)
    accounts_visit = account.entry(LESSON)["last_seen_at"]
    guests_visit = guest.entry(LESSON)["last_seen_at"]

    guest.login("merger@example.org")

    both = [account.progress(), guest.progress()]
    assert both[0] == both[1]
    by_lesson = {e["lesson"]: e for e in both[0]["lessons"]}
    assert when(by_lesson[LESSON]["started_at"]) == earlier
    assert when(by_lesson[LESSON]["last_seen_at"]) == max(when(accounts_visit), when(guests_visit))
    assert (by_lesson[LESSON]["furthest_section"], by_lesson[LESSON]["percent_read"]) == (
        ids[6],
        90,
    )
    assert (
        by_lesson[OTHER_LESSON]["furthest_section"],
        by_lesson[OTHER_LESSON]["percent_read"],
    ) == (others[3], 35)
    rows = progress_rows(progress_app, user_id=user_id)
    assert sorted(r.lesson for r in rows) == sorted([LESSON, OTHER_LESSON])
    assert progress_rows(progress_app, guest_id=guest_id) == []


def test_a_copied_guest_cookie_shows_nothing_once_its_progress_was_claimed(
    progress_app: Flask,
) -> None:
    """After sign-in the old guest cookie neither reads nor changes the account's rows."""
    user_id = add_user(progress_app, "claimed@example.org")
    guest = Reader(progress_app)
    guest.report(LESSON, headings(progress_app)[5], 55)
    old_cookie = guest.client.get_cookie("session")
    assert old_cookie is not None
    guest.login("claimed@example.org")
    accounts = [state(row) for row in progress_rows(progress_app, user_id=user_id)]
    assert len(accounts) == 1

    replay = Reader(progress_app)
    replay.client.set_cookie("session", old_cookie.value)

    assert all(e["started_at"] is None for e in replay.progress()["lessons"])
    entry = replay.report(LESSON, headings(progress_app)[1], 10).get_json()
    assert (entry["furthest_section"], entry["percent_read"]) == (headings(progress_app)[1], 10)
    assert [state(row) for row in progress_rows(progress_app, user_id=user_id)] == accounts
    assert guest.entry(LESSON)["percent_read"] == 55


# ---------- opening a lesson ----------


@pytest.mark.parametrize("who", ["guest", "account"])
def test_opening_a_lesson_marks_it_started(progress_app: Flask, who: str) -> None:
    reader = Reader(progress_app)
    if who == "account":
        user_id = add_user(progress_app, "opener@example.org")
        reader.login("opener@example.org")
        learner: dict[str, Any] = {"user_id": user_id}

    reader.open(OTHER_LESSON)

    if who == "guest":
        learner = {"guest_id": reader.guest_id()}
    entry = reader.entry(OTHER_LESSON)
    assert recent(entry["started_at"]) and recent(entry["last_seen_at"])
    assert when(entry["started_at"]) <= when(entry["last_seen_at"])
    assert (entry["percent_read"], entry["furthest_section"], entry["completed_at"]) == (
        0,
        None,
        None,
    )
    data = reader.progress()
    assert [e["lesson"] for e in data["lessons"] if e["started_at"]] == [OTHER_LESSON]
    assert data["last_synced_at"] == entry["last_seen_at"]
    assert [r.lesson for r in progress_rows(progress_app, **learner)] == [OTHER_LESSON]


def test_reopening_a_lesson_keeps_how_far_it_was_read(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    reader.report(LESSON, headings(progress_app)[4], 45)
    row = row_of(progress_app, guest_id=reader.guest_id())
    earlier = datetime.now(UTC) - timedelta(hours=1)
    set_times(progress_app, row.id, started_at=earlier, last_seen_at=earlier)

    reader.open(LESSON)

    entry = reader.entry(LESSON)
    assert (entry["furthest_section"], entry["percent_read"]) == (headings(progress_app)[4], 45)
    assert when(entry["started_at"]) == earlier
    assert recent(entry["last_seen_at"])


# ---------- the 10-minute write throttle ----------


def test_a_lesson_get_writes_at_most_once_per_10_minutes(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    with statements(progress_app) as first:
        reader.open(LESSON)
    assert any(s.startswith("INSERT INTO lesson_progress") for s in progress_writes(first))
    row = row_of(progress_app, guest_id=reader.guest_id())

    with statements(progress_app) as again:
        reader.open(LESSON)

    assert any("lesson_progress" in s for s in again)  # the listener saw this request
    assert progress_writes(again) == []
    assert state(row_of(progress_app, guest_id=reader.guest_id())) == state(row)


def test_a_visit_9_minutes_after_the_last_one_writes_nothing(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    reader.report(LESSON, headings(progress_app)[3], 30)
    row = row_of(progress_app, guest_id=reader.guest_id())
    moved = datetime.now(UTC) - timedelta(minutes=9)
    set_times(progress_app, row.id, started_at=moved, last_seen_at=moved)

    with statements(progress_app) as sent:
        reader.open(LESSON)

    assert progress_writes(sent) == []
    assert when(reader.entry(LESSON)["last_seen_at"]) == moved


def test_a_visit_11_minutes_after_the_last_one_updates_last_seen_at(progress_app: Flask) -> None:
    reader = Reader(progress_app)
    section = headings(progress_app)[3]
    reader.report(LESSON, section, 30)
    row = row_of(progress_app, guest_id=reader.guest_id())
    moved = datetime.now(UTC) - timedelta(minutes=11)
    set_times(progress_app, row.id, started_at=moved, last_seen_at=moved)

    with statements(progress_app) as sent:
        reader.open(LESSON)

    writes = progress_writes(sent)
    assert writes and all(s.startswith(("INSERT", "UPDATE")) for s in writes)
    after = row_of(progress_app, guest_id=reader.guest_id())
    assert after.id == row.id
    assert aware(after.last_seen_at) > moved + timedelta(minutes=10)
    entry = reader.entry(LESSON)
    assert recent(entry["last_seen_at"])
    assert when(entry["started_at"]) == moved
    assert (entry["furthest_section"], entry["percent_read"]) == (section, 30)

    with statements(progress_app) as next_visit:
        reader.open(LESSON)
    assert progress_writes(next_visit) == []  # the throttle counts from the new visit
