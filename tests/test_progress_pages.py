"""Lesson progress over HTTP: the sync API, when a lesson counts as complete, what the
lesson page, the course page and the dashboard show, starting a course over, and a guest's
progress moving to an account (and out of it again in the export, or with the account)."""

from __future__ import annotations

import html
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from app.content.model import Lesson
from app.extensions import db
from app.lessons.store import catalog
from app.models import CourseReset, LessonProgress, QuizAttempt, User
from app.models.learner import aware, now
from app.quiz_types import QuizSpec
from tests.account_client import Browser, add_user, get_user, migrated_app
from tests.conftest import SNAPSHOT_CONTENT
from tests.quiz_client import answer_form, correct_answer, section_of, text_of, wrong_answer

COURSE = "flask-fundamentals"
L1, L2, L3 = "what-is-flask", "what-micro-means", "werkzeug"
COURSE_PATH = f"/courses/{COURSE}/"
RESET_PATH = f"/courses/{COURSE}/reset"
API = f"/api/v1/progress/{COURSE}"
RULE = (
    "A lesson is complete when you have reached its end and answered each of its 6 questions "
    "correctly before showing the answer. You can also mark it as complete yourself."
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return migrated_app(
        tmp_path_factory.mktemp("progress-pages"),
        CONTENT_DIR=str(SNAPSHOT_CONTENT),
        LOGIN_RATE_LIMIT="1000 per minute",
        ACCOUNT_RATE_LIMIT="1000 per minute",
    )


@dataclass(frozen=True)
class CourseData:
    title: str
    lessons: dict[str, Lesson]


@pytest.fixture(scope="module")
def course(app: Flask) -> CourseData:
    with app.app_context():
        found = catalog().course(COURSE)
        assert found is not None
        lessons = {lesson.slug: lesson for lesson in found.lessons}
    assert list(lessons) == [L1, L2, L3]
    assert all(len(lesson.questions) == 6 for lesson in lessons.values())
    return CourseData(found.title, lessons)


# ---------- a visitor driving the pages ----------


class Visitor:
    """One browser (guest, or signed in through ``browser``) reading and answering."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.browser = Browser(app)
        self.client = self.browser.client

    def open(self, lesson: str) -> str:
        response = self.client.get(f"/courses/{COURSE}/{lesson}/")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def page(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, path
        return response.get_data(as_text=True)

    def token(self, lesson: str = L1) -> str:
        """The CSRF token scripts read from the lesson page's ``<meta>``."""
        match = re.search(r'<meta name="csrf-token" content="([^"]+)">', self.open(lesson))
        assert match, "no csrf-token meta on the lesson page"
        return match.group(1)

    def sync(
        self, lesson: str, section: str | None, percent_read: Any, token: str | None = None
    ) -> TestResponse:
        headers = {"X-CSRFToken": token or self.token(lesson)}
        body = {"section": section, "percent_read": percent_read}
        return self.client.post(f"{API}/{lesson}", json=body, headers=headers)

    def synced(self, lesson: str, section: str | None, percent_read: int) -> dict[str, Any]:
        response = self.sync(lesson, section, percent_read)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def answer(self, lesson: str, spec: QuizSpec, correct: bool, page: str | None = None) -> Any:
        """Answer through the JSON endpoint, with the form fields the lesson page gives."""
        form = answer_form(section_of(page or self.open(lesson), spec.id))
        body = {
            "submission_id": str(uuid.uuid4()),  # as the script does: a new one per answer
            "revision": form.fields["revision"],
            "answer": correct_answer(spec) if correct else wrong_answer(spec),
        }
        response = self.client.post(
            f"/courses/{COURSE}/{lesson}/quiz/{spec.id}/answer",
            json=body,
            headers={"X-CSRFToken": form.csrf},
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.get_json()["correct"] is correct
        return response.get_json()

    def answer_all(self, lesson: Lesson, skip: int = 0) -> None:
        """Answer the lesson's questions correctly (all but the last ``skip``)."""
        page = self.open(lesson.slug)
        for spec in lesson.questions[: len(lesson.questions) - skip]:
            self.answer(lesson.slug, spec, True, page)

    def reveal(self, lesson: str, spec: QuizSpec) -> None:
        form = answer_form(section_of(self.open(lesson), spec.id))
        response = self.client.post(
            f"/courses/{COURSE}/{lesson}/quiz/{spec.id}/reveal",
            data={"csrf_token": form.csrf, "revision": form.fields["revision"]},
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:500]

    def mark_complete(self, lesson: str) -> TestResponse:
        path = f"/courses/{COURSE}/{lesson}/"
        return self.browser.submit(path, {}, action=f"{path}complete")

    def reset(self) -> TestResponse:
        return self.browser.submit(RESET_PATH, {})

    def api(self) -> dict[str, Any]:
        response = self.client.get(API)
        assert response.status_code == 200
        return response.get_json()

    def guest_id(self) -> str:
        with self.client.session_transaction() as session:
            guest_id = session.get("guest_id")
        assert isinstance(guest_id, str)
        return guest_id


# ---------- reading pages ----------


def text(page: str) -> str:
    """The words of a page fragment, without the space tags leave before punctuation."""
    return re.sub(r" (?=[.,])", "", text_of(page))


def found(pattern: str, page: str) -> str:
    match = re.search(pattern, page)
    assert match, f"nothing matches {pattern!r}"
    return match.group(1)


def progress_box(page: str) -> str:
    match = re.search(r'<section class="lesson-progress.*?</section>', page, re.DOTALL)
    assert match, "no completion box on the lesson page"
    return match.group(0)


def box_complete(page: str) -> bool:
    return progress_box(page).startswith('<section class="lesson-progress is-complete"')


def checklist(page: str) -> list[tuple[bool, str]]:
    items = re.findall(r'<li class="checklist-item( is-done)?"[^>]*>(.*?)</li>', page, re.DOTALL)
    return [(bool(done), text_of(body)) for done, body in items]


def sidebar(page: str) -> dict[str, bool]:
    """Each lesson in the course navigation: whether it has the ✓ (class is-complete)."""
    nav = re.search(r'<ol class="course-nav-list".*?</ol>', page, re.DOTALL)
    assert nav, "no course navigation"
    links = re.findall(r'<a href="/courses/[\w-]+/([\w-]+)/"([^>]*)>', nav.group(0))
    return {slug: 'class="is-complete"' in attributes for slug, attributes in links}


def header_meta(page: str) -> str:
    match = re.search(r'<p class="lesson-meta">(.*?)</p>', page, re.DOTALL)
    assert match, "no lesson meta line"
    return text_of(match.group(1))


def resume_link(page: str) -> tuple[str, str] | None:
    """(href, label) of the summary's "Continue"/"Start" button."""
    match = re.search(
        r'<p class="progress-resume">\s*<a class="button button-primary" href="([^"]+)" '
        r'aria-label="([^"]+)">',
        page,
    )
    return (match.group(1), text_of(match.group(2))) if match else None


def activity(page: str) -> list[str]:
    items = re.findall(r'<li class="activity activity-\w+">(.*?)</li>', page, re.DOTALL)
    return [text_of(item) for item in items]


def lesson_states(page: str) -> list[str]:
    sides = re.findall(r'<span class="lesson-item-side">(.*?)</span>\s*</li>', page, re.DOTALL)
    return [text_of(side) for side in sides]


def flashes(page: str) -> list[str]:
    return [text_of(m) for m in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', page)]


# ---------- the database ----------


def progress_rows(app: Flask, **where: Any) -> list[LessonProgress]:
    with app.app_context():
        query = select(LessonProgress).filter_by(**where).order_by(LessonProgress.lesson)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
        return found


def one_row(app: Flask, **where: Any) -> LessonProgress:
    (row,) = progress_rows(app, **where)
    return row


def count(app: Flask, model: type, **where: Any) -> int:
    with app.app_context():
        return len(list(db.session.scalars(select(model).filter_by(**where))))


def attempts_of(app: Flask, **where: Any) -> list[QuizAttempt]:
    with app.app_context():
        found = list(db.session.scalars(select(QuizAttempt).filter_by(**where).order_by("id")))
        db.session.expunge_all()
        return found


def set_columns(app: Flask, model: type, row_id: int, **values: Any) -> None:
    """Move stored timestamps to simulate time passing."""
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(**values))
        db.session.commit()


def ago(**delta: float) -> datetime:
    return now() - timedelta(**delta)


# ---------- the sync API ----------


def test_sync_records_the_furthest_section_and_percent_and_never_moves_back(
    app: Flask, course: CourseData
) -> None:
    visitor = Visitor(app)
    token = visitor.token(L1)
    sections = course.lessons[L1].heading_ids
    response = visitor.sync(L1, sections[3], 40, token)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    first = response.get_json()
    assert first["lesson"] == L1
    assert (first["furthest_section"], first["percent_read"], first["completed_at"]) == (
        sections[3],
        40,
        None,
    )
    assert first["started_at"] is not None and first["last_seen_at"] is not None

    back = visitor.sync(L1, sections[1], 20, token).get_json()
    assert (back["furthest_section"], back["percent_read"]) == (sections[3], 40)
    again = visitor.sync(L1, sections[3], 40, token).get_json()
    assert {k: v for k, v in again.items() if k != "last_seen_at"} == {
        k: v for k, v in first.items() if k != "last_seen_at"
    }
    top = visitor.sync(L1, None, 55, token).get_json()  # null: the top of the lesson
    assert (top["furthest_section"], top["percent_read"]) == (sections[3], 55)

    row = one_row(app, guest_id=visitor.guest_id(), lesson=L1)
    assert (row.furthest_section, row.furthest_index, row.percent_read) == (sections[3], 3, 55)
    assert row.completed_at is None

    # A lesson can be synced before its page was ever opened (another tab, say).
    assert visitor.synced(L2, None, 10)["percent_read"] == 10
    summary = visitor.api()
    assert summary["course"] == COURSE and summary["percent_complete"] == 0
    assert [entry["lesson"] for entry in summary["lessons"]] == [L1, L2, L3]
    assert summary["lessons"][0]["percent_read"] == 55
    assert summary["lessons"][2] == {
        "lesson": L3,
        "started_at": None,
        "completed_at": None,
        "percent_read": 0,
        "furthest_section": None,
        "last_seen_at": None,
    }
    assert summary["last_synced_at"] == summary["lessons"][1]["last_seen_at"]


def test_sync_refuses_bad_reports_and_stores_nothing(app: Flask, course: CourseData) -> None:
    visitor = Visitor(app)
    token = visitor.token(L1)
    visitor.sync(L1, None, 30, token)
    before = one_row(app, guest_id=visitor.guest_id(), lesson=L1)
    other_lesson_heading = course.lessons[L2].heading_ids[0]
    assert other_lesson_heading not in course.lessons[L1].heading_ids

    for bad_percent in (101, -1, True, "50", 50.5, None):
        assert visitor.sync(L1, None, bad_percent, token).status_code == 400, bad_percent
    for bad_section in ("h-no-such-heading", other_lesson_heading, 3, ["h-recap"]):
        assert visitor.sync(L1, bad_section, 90, token).status_code == 400, bad_section
    url = f"{API}/{L1}"
    headers = {"X-CSRFToken": token}
    assert visitor.client.post(url, json=[90], headers=headers).status_code == 400
    plain = visitor.client.post(url, data='{"percent_read": 90}', headers=headers)
    assert plain.status_code == 415
    no_token = visitor.client.post(url, json={"section": None, "percent_read": 90})
    assert no_token.status_code == 400
    assert visitor.sync("no-such-lesson", None, 90, token).status_code == 404
    missing_course = visitor.client.post(
        f"/api/v1/progress/no-such-course/{L1}", json={"percent_read": 90}, headers=headers
    )
    assert missing_course.status_code == 404

    after = one_row(app, guest_id=visitor.guest_id(), lesson=L1)
    assert (after.percent_read, after.furthest_section) == (before.percent_read, None)
    assert after.percent_read == 30


# ---------- when a lesson is complete ----------


def test_reaching_the_end_first_then_the_last_correct_answer_completes_the_lesson(
    app: Flask, course: CourseData
) -> None:
    lesson = course.lessons[L1]
    visitor = Visitor(app)
    page = visitor.open(L1)
    assert RULE in text(progress_box(page))
    assert header_meta(page).startswith(f"{lesson.minutes} min read {lesson.minutes} min left")
    assert checklist(page) == [
        (False, "Reached the end of the lesson : not yet"),
        (False, "0 of 6 questions answered correctly before showing the answer"),
    ]
    # A wrong first attempt does not stop a later correct one from counting.
    second = lesson.questions[1]
    visitor.answer(L1, second, False, page)
    visitor.answer_all(lesson, skip=1)

    last_heading = lesson.heading_ids[-1]
    status = visitor.synced(L1, last_heading, 100)
    assert status["completed_at"] is None  # one question is still unanswered
    page = visitor.open(L1)
    assert not box_complete(page)
    assert checklist(page) == [
        (True, "Reached the end of the lesson : done"),
        (False, "5 of 6 questions answered correctly before showing the answer"),
    ]
    minutes_left = lesson.outline.minutes_left(lesson.minutes, last_heading)
    assert f"{minutes_left} min left" in header_meta(page)
    assert sidebar(page) == {L1: False, L2: False, L3: False}

    visitor.answer(L1, lesson.questions[-1], True, page)
    row = one_row(app, guest_id=visitor.guest_id(), lesson=L1)
    assert row.completed_at is not None and row.marked_complete is False

    page = visitor.open(L1)
    assert box_complete(page)
    assert "You completed this lesson just now." in text(progress_box(page))
    assert "(marked as complete)" not in text(progress_box(page))
    assert "✓ Completed" in header_meta(page) and "min left" not in header_meta(page)
    assert sidebar(page) == {L1: True, L2: False, L3: False}
    assert sidebar(visitor.open(L3)) == {L1: True, L2: False, L3: False}
    assert "Lessons done 1 of 3" in text(visitor.page(COURSE_PATH))


def test_answering_everything_first_then_reaching_the_end_completes_the_lesson(
    app: Flask, course: CourseData
) -> None:
    lesson = course.lessons[L3]
    visitor = Visitor(app)
    visitor.answer_all(lesson)
    page = visitor.open(L3)
    assert not box_complete(page)
    assert checklist(page) == [
        (False, "Reached the end of the lesson : not yet"),
        (True, "6 of 6 questions answered correctly before showing the answer"),
    ]
    assert visitor.synced(L3, lesson.heading_ids[4], 60)["completed_at"] is None
    done = visitor.synced(L3, lesson.heading_ids[-1], 100)
    assert done["completed_at"] is not None
    assert box_complete(visitor.open(L3))
    # Completion stays: a later, smaller report does not undo it.
    assert visitor.synced(L3, None, 10)["completed_at"] == done["completed_at"]


def test_a_question_answered_correctly_only_after_show_answer_keeps_the_lesson_open(
    app: Flask, course: CourseData
) -> None:
    """After "Show answer", every later attempt at that question is after_reveal (until the
    course is started over), so the lesson cannot complete by the rule any more: only "Mark
    as complete" or a reset gets it there."""
    lesson = course.lessons[L1]
    revealed = lesson.questions[-1]
    visitor = Visitor(app)
    visitor.answer_all(lesson, skip=1)
    visitor.answer(L1, revealed, False)
    visitor.reveal(L1, revealed)
    visitor.answer(L1, revealed, True)
    assert visitor.synced(L1, lesson.heading_ids[-1], 100)["completed_at"] is None
    visitor.answer(L1, revealed, True)  # a second correct answer, still after the reveal
    guest_id = visitor.guest_id()
    tries = attempts_of(app, guest_id=guest_id, question_id=revealed.id)
    assert [(a.correct, a.after_reveal) for a in tries] == [
        (False, False),
        (True, True),
        (True, True),
    ]
    page = visitor.open(L1)
    assert not box_complete(page)
    assert checklist(page)[1] == (
        False,
        "5 of 6 questions answered correctly before showing the answer",
    )
    assert one_row(app, guest_id=guest_id, lesson=L1).completed_at is None

    # Starting over hides the answer again: answering everything anew now completes it.
    assert visitor.reset().status_code == 303
    visitor.answer_all(lesson)
    assert attempts_of(app, guest_id=guest_id, question_id=revealed.id)[-1].after_reveal is False
    assert visitor.synced(L1, lesson.heading_ids[-1], 100)["completed_at"] is not None


def test_mark_as_complete_is_a_plain_form(app: Flask, course: CourseData) -> None:
    lesson = course.lessons[L2]
    visitor = Visitor(app)
    page = visitor.open(L2)
    action = f"/courses/{COURSE}/{L2}/complete"
    form = re.search(rf'<form method="post" action="{action}">(.*?)</form>', page, re.DOTALL)
    assert form and 'name="csrf_token"' in form.group(1) and "Mark as complete" in form.group(1)

    assert visitor.client.post(action).status_code == 400  # no CSRF token
    assert one_row(app, guest_id=visitor.guest_id(), lesson=L2).completed_at is None

    response = visitor.mark_complete(L2)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/courses/{COURSE}/{L2}/#lesson-progress"
    page = visitor.open(L2)
    assert flashes(page) == [f"“{lesson.title}” is marked as complete."]
    assert box_complete(page)
    assert "You completed this lesson just now (marked as complete)." in text(progress_box(page))
    assert "✓ Completed" in header_meta(page) and "min left" not in header_meta(page)
    assert sidebar(page) == {L1: False, L2: True, L3: False}

    row = one_row(app, guest_id=visitor.guest_id(), lesson=L2)
    assert (row.marked_complete, row.percent_read) == (True, 0)
    assert visitor.mark_complete(L2).status_code == 303  # again: the first time stands
    assert one_row(app, guest_id=visitor.guest_id(), lesson=L2).completed_at == row.completed_at
    states = lesson_states(visitor.page(COURSE_PATH))
    assert states[1].endswith("✓ Completed") and "Completed" not in states[0] + states[2]


def test_lesson_page_shows_minutes_left_and_where_the_learner_was(
    app: Flask, course: CourseData
) -> None:
    lesson = course.lessons[L1]
    section = lesson.heading_ids[5]
    title = next(entry.title for entry in lesson.toc if entry.id == section)
    visitor = Visitor(app)
    page = visitor.open(L1)
    assert f"{lesson.minutes} min left" in header_meta(page)
    assert "data-resume-notice" not in page
    assert "Progress saved just now" in text(progress_box(page))

    visitor.synced(L1, section, 45)
    page = visitor.open(L1)
    left = lesson.outline.minutes_left(lesson.minutes, section)
    assert 1 <= left < lesson.minutes
    assert f"{left} min left" in header_meta(page)
    assert f"Welcome back! You were reading {title}." in text(page)
    assert f'<a href="#{section}">' in page
    assert '<progress class="reading-progress" max="100" value="45"' in page
    data = json.loads(html.unescape(found(r"data-progress='([^']+)'", page)))
    assert data["furthest_section"] == section and data["percent_read"] == 45
    assert data["sync_url"] == f"{API}/{L1}"


# ---------- the course page and the dashboard ----------


def test_a_visitor_with_no_activity_sees_start_the_course_and_no_summary(app: Flask) -> None:
    visitor = Visitor(app)
    page = visitor.page(COURSE_PATH)
    assert f'href="/courses/{COURSE}/{L1}/">Start the course</a>' in page
    assert "progress-summary" not in page and "% complete" not in text(page)
    assert "progress-invite" not in page
    with visitor.client.session_transaction() as session:
        assert "guest_id" not in session  # reading the course page mints no guest id
    reset = text(visitor.page(RESET_PATH))
    assert "nothing to start over" in reset
    assert f'action="{RESET_PATH}"' not in visitor.page(RESET_PATH)


def test_a_guest_sees_the_summary_with_an_invitation_to_create_an_account(
    app: Flask, course: CourseData
) -> None:
    visitor = Visitor(app)
    visitor.open(L1)
    page = visitor.page(COURSE_PATH)
    words = text(page)
    assert "0% complete" in words and "Lessons done 0 of 3" in words
    assert "No questions answered yet (18 in the course)" in words
    assert "Last synced just now" in words
    total = sum(lesson.minutes for lesson in course.lessons.values())
    assert f"Time left About {total} min" in words
    assert ">Start the course</a>" not in page
    assert resume_link(page) == (
        f"/courses/{COURSE}/{L1}/",
        f"Continue where you left off: {course.lessons[L1].title}",
    )
    invite = re.search(r'<p class="progress-invite">(.*?)</p>', page, re.DOTALL)
    assert invite, "no invitation to create an account"
    assert f'href="/auth/register?next={COURSE_PATH}"' in invite.group(1)
    assert "Create a free account" in text_of(invite.group(1))
    assert activity(page) == [f"Started “{course.lessons[L1].title}” just now"]


def test_course_page_and_dashboard_summarise_a_known_history(
    app: Flask, course: CourseData
) -> None:
    first, second, third = (course.lessons[slug] for slug in (L1, L2, L3))
    visitor = Visitor(app)
    assert visitor.browser.register("history@example.org", display_name="Hester").status_code == 303
    user = get_user(app, "history@example.org")
    assert user is not None

    # Lesson 1: every question right first time, and the end reached: complete.
    visitor.answer_all(first)
    assert visitor.synced(L1, first.heading_ids[-1], 100)["completed_at"] is not None
    # Lesson 2: read to a section; one question right on the second try, one wrong.
    section = second.heading_ids[3]
    page = visitor.open(L2)
    visitor.synced(L2, section, 40)
    q1, q2 = second.questions[:2]
    visitor.answer(L2, q1, False, page)
    visitor.answer(L2, q1, True, page)
    visitor.answer(L2, q2, False, page)
    # Lesson 3: never opened.

    rows = {row.lesson: row for row in progress_rows(app, user_id=user.id)}
    assert set(rows) == {L1, L2}
    set_columns(
        app,
        LessonProgress,
        rows[L1].id,
        started_at=ago(days=3),
        completed_at=ago(days=2),
        last_seen_at=ago(days=2),
    )
    set_columns(
        app, LessonProgress, rows[L2].id, started_at=ago(hours=1), last_seen_at=ago(minutes=5)
    )
    attempts = attempts_of(app, user_id=user.id)
    assert len(attempts) == 9
    for attempt in attempts[:6]:
        set_columns(app, QuizAttempt, attempt.id, created_at=ago(days=2, hours=1))
    for minutes, attempt in zip((30, 29, 28), attempts[6:], strict=True):
        set_columns(app, QuizAttempt, attempt.id, created_at=ago(minutes=minutes))

    lesson_page = visitor.open(L2)  # seen 5 minutes ago: this visit writes nothing
    left = int(found(r"(\d+) min left", header_meta(lesson_page)))
    assert left == second.outline.minutes_left(second.minutes, section)
    expected = [
        "33% complete",
        "Lessons done 1 of 3",
        "Quiz score 75% first try · 87% best (8 of 18 questions answered)",
        f"Time left About {left + third.minutes} min",
        "Last synced 5 minutes ago",
    ]
    recent = [
        f"Answered a question in “{second.title}”, not quite right 28 minutes ago",
        f"Answered a question in “{second.title}” correctly 29 minutes ago",
        f"Answered a question in “{second.title}”, not quite right 30 minutes ago",
        f"Started “{second.title}” 1 hour ago",
        f"Completed “{first.title}” 2 days ago",
        f"Answered a question in “{first.title}” correctly 2 days ago",
    ]
    resume = (f"/courses/{COURSE}/{L2}/#{section}", f"Continue where you left off: {second.title}")

    course_page = visitor.page(COURSE_PATH)
    words = text(course_page)
    for fact in expected:
        assert fact in words
    assert resume_link(course_page) == resume
    assert activity(course_page) == recent
    assert lesson_states(course_page) == [
        f"{first.minutes} min ✓ Completed",
        f"{second.minutes} min 40% read",
        f"{third.minutes} min",
    ]
    assert "progress-invite" not in course_page  # signed in: nothing to invite to
    assert f'href="{RESET_PATH}"' in course_page

    dashboard = visitor.page("/dashboard")
    assert "Hello, Hester" in text(dashboard)
    assert f'<a href="{COURSE_PATH}">{course.title}</a>' in dashboard
    for fact in expected:
        assert fact in text(dashboard)
    assert resume_link(dashboard) == resume
    assert activity(dashboard) == recent

    as_json = visitor.api()
    assert as_json["percent_complete"] == 33
    assert as_json["last_synced_at"] == as_json["lessons"][1]["last_seen_at"]


def test_continue_goes_to_the_next_lesson_when_the_last_one_seen_is_complete(
    app: Flask, course: CourseData
) -> None:
    second = course.lessons[L2]
    visitor = Visitor(app)
    visitor.open(L1)
    visitor.mark_complete(L1)
    page = visitor.page(COURSE_PATH)
    assert resume_link(page) == (
        f"/courses/{COURSE}/{L2}/",
        f"Start the next lesson: {second.title}",
    )

    section = second.heading_ids[6]
    visitor.open(L2)
    visitor.synced(L2, section, 70)
    visitor.mark_complete(L3)  # seen last, and complete: wraps round to lesson 2
    page = visitor.page(COURSE_PATH)
    assert resume_link(page) == (
        f"/courses/{COURSE}/{L2}/#{section}",
        f"Continue where you left off: {second.title}",
    )
    assert "66% complete" in text(page) and "Lessons done 2 of 3" in text(page)
    left = second.outline.minutes_left(second.minutes, section)
    assert f"Time left About {left} min" in text(page)

    visitor.mark_complete(L2)
    page = visitor.page(COURSE_PATH)
    words = text(page)
    assert resume_link(page) is None
    assert "You have completed every lesson of this course." in words
    assert "100% complete" in words and "Lessons done 3 of 3" in words
    assert "Time left None: well done!" in words


# ---------- starting over ----------


def test_reset_asks_first_then_starts_the_course_over_keeping_the_attempts(
    app: Flask, course: CourseData
) -> None:
    first, second = course.lessons[L1], course.lessons[L2]
    visitor = Visitor(app)
    visitor.answer_all(first)
    visitor.synced(L1, first.heading_ids[-1], 100)
    revealed = second.questions[0]
    visitor.answer(L2, revealed, False)
    visitor.reveal(L2, revealed)
    guest_id = visitor.guest_id()
    old_rows = {row.lesson: row for row in progress_rows(app, guest_id=guest_id)}
    assert old_rows[L1].completed_at is not None
    attempts = count(app, QuizAttempt, guest_id=guest_id)
    all_attempts = count(app, QuizAttempt)
    assert attempts == 7
    assert visitor.api()["percent_complete"] == 33

    confirm = visitor.client.get(RESET_PATH)
    assert confirm.status_code == 200
    assert confirm.headers["Cache-Control"] == "no-store"
    page = confirm.get_data(as_text=True)
    assert f"Start “{course.title}” over?" in text(page)
    form = re.search(rf'<form method="post" action="{RESET_PATH}">(.*?)</form>', page, re.DOTALL)
    assert form and 'name="csrf_token"' in form.group(1) and "Start over" in form.group(1)
    assert count(app, CourseReset, guest_id=guest_id) == 0  # asking changes nothing

    assert visitor.client.post(RESET_PATH).status_code == 400  # no CSRF token
    assert count(app, CourseReset, guest_id=guest_id) == 0
    assert visitor.api()["percent_complete"] == 33

    response = visitor.reset()
    assert response.status_code == 303
    assert response.headers["Location"] == COURSE_PATH
    page = visitor.page(COURSE_PATH)
    assert flashes(page) == [
        f"You started “{course.title}” over. Your earlier answers are kept, "
        "but progress and scores now count from here."
    ]
    assert ">Start the course</a>" in page and "progress-summary" not in page
    assert lesson_states(page) == [f"{lesson.minutes} min" for lesson in course.lessons.values()]
    summary = visitor.api()
    assert summary["percent_complete"] == 0 and summary["last_synced_at"] is None
    assert all(entry["started_at"] is None for entry in summary["lessons"])
    # Nothing is deleted: the attempts and the old rows are all still stored.
    assert count(app, QuizAttempt, guest_id=guest_id) == attempts
    assert count(app, QuizAttempt) == all_attempts
    assert count(app, LessonProgress, guest_id=guest_id) == 2
    (reset_row,) = [r for r in _resets(app) if r.guest_id == guest_id]

    # Opening a lesson starts it afresh, in the same row.
    page = visitor.open(L1)
    row = one_row(app, guest_id=guest_id, lesson=L1)
    assert row.id == old_rows[L1].id
    assert aware(row.started_at) >= aware(reset_row.reset_at)
    assert (row.percent_read, row.furthest_section, row.furthest_index) == (0, None, -1)
    assert (row.completed_at, row.marked_complete) == (None, False)
    assert not box_complete(page) and sidebar(page)[L1] is False
    assert f"{first.minutes} min left" in header_meta(page)
    assert checklist(page)[1][1].startswith("0 of 6 questions")
    for spec in first.questions:
        assert "quiz-verdict" not in section_of(page, spec.id), spec.id
    assert "Answer each question and press Check" in text(page)

    page = visitor.page(COURSE_PATH)
    assert "0% complete" in text(page)
    assert "No questions answered yet (18 in the course)" in text(page)
    assert activity(page) == [f"Started “{first.title}” just now"]

    # The answer shown before the reset is hidden again: a correct answer now counts.
    visitor.answer(L2, revealed, True)
    assert attempts_of(app, guest_id=guest_id, question_id=revealed.id)[-1].after_reveal is False
    assert "Quiz score 100% first try · 100% best (1 of 18 questions answered)" in text(
        visitor.page(COURSE_PATH)
    )

    # Starting over again moves the one reset row forward.
    assert visitor.reset().status_code == 303
    (again,) = [r for r in _resets(app) if r.guest_id == guest_id]
    assert again.id == reset_row.id and aware(again.reset_at) > aware(reset_row.reset_at)


def _resets(app: Flask) -> list[CourseReset]:
    with app.app_context():
        found = list(db.session.scalars(select(CourseReset)))
        db.session.expunge_all()
        return found


# ---------- guest progress moves to the account ----------


def test_registering_moves_the_guests_progress_to_the_new_account(
    app: Flask, course: CourseData
) -> None:
    visitor = Visitor(app)
    section = course.lessons[L1].heading_ids[5]
    visitor.open(L1)
    visitor.synced(L1, section, 60)
    visitor.mark_complete(L2)
    guest_id = visitor.guest_id()
    before = {row.lesson: row for row in progress_rows(app, guest_id=guest_id)}
    assert set(before) == {L1, L2}

    assert visitor.browser.register("claimer@example.org").status_code == 303
    user = get_user(app, "claimer@example.org")
    assert user is not None
    assert progress_rows(app, guest_id=guest_id) == []
    after = {row.lesson: row for row in progress_rows(app, user_id=user.id)}
    assert set(after) == {L1, L2}
    for lesson, row in after.items():
        old = before[lesson]
        assert row.guest_id is None
        assert (row.id, row.started_at, row.last_seen_at) == (
            old.id,
            old.started_at,
            old.last_seen_at,
        )
        assert (row.furthest_section, row.percent_read, row.completed_at) == (
            old.furthest_section,
            old.percent_read,
            old.completed_at,
        )
    assert (after[L1].furthest_section, after[L1].percent_read) == (section, 60)
    assert after[L2].marked_complete is True
    dashboard = text(visitor.page("/dashboard"))
    assert "33% complete" in dashboard and "Lessons done 1 of 3" in dashboard


def test_signing_in_merges_guest_progress_keeping_the_more_advanced_state(
    app: Flask, course: CourseData
) -> None:
    headings = course.lessons[L1].heading_ids
    email = "merge@example.org"
    user_id = add_user(app, email)
    account = Visitor(app)
    assert account.browser.login(email).status_code == 303
    account.synced(L1, headings[5], 30)
    account.open(L2)
    account.mark_complete(L3)

    guest = Visitor(app)
    guest.synced(L1, headings[2], 80)
    guest.mark_complete(L2)
    guest.open(L3)
    guest_id = guest.guest_id()

    mine = {row.lesson: row.id for row in progress_rows(app, user_id=user_id)}
    theirs = {row.lesson: row.id for row in progress_rows(app, guest_id=guest_id)}
    times = {
        (L1, "account"): {"started_at": ago(days=2), "last_seen_at": ago(days=1)},
        (L1, "guest"): {"started_at": ago(hours=1), "last_seen_at": ago(minutes=1)},
        (L2, "account"): {"started_at": ago(hours=1), "last_seen_at": ago(hours=1)},
        (L2, "guest"): {
            "started_at": ago(hours=5),
            "last_seen_at": ago(minutes=10),
            "completed_at": ago(minutes=10),
        },
        (L3, "account"): {
            "started_at": ago(hours=4),
            "last_seen_at": ago(minutes=30),
            "completed_at": ago(hours=3),
        },
        (L3, "guest"): {"started_at": ago(hours=3), "last_seen_at": ago(hours=2)},
    }
    for (lesson, who), values in times.items():
        row_id = (mine if who == "account" else theirs)[lesson]
        set_columns(app, LessonProgress, row_id, **values)
    total = count(app, LessonProgress)

    assert guest.browser.login(email).status_code == 303
    assert progress_rows(app, guest_id=guest_id) == []
    assert count(app, LessonProgress) == total - 3
    merged = {row.lesson: row for row in progress_rows(app, user_id=user_id)}
    assert set(merged) == {L1, L2, L3}  # exactly one row per lesson
    assert {row.id for row in merged.values()} == set(mine.values())

    def state(row: LessonProgress) -> tuple[Any, ...]:
        done = aware(row.completed_at) if row.completed_at else None
        return (aware(row.started_at), aware(row.last_seen_at), done, row.marked_complete)

    expected = {
        L1: (times[L1, "account"]["started_at"], times[L1, "guest"]["last_seen_at"], None, False),
        L2: (
            times[L2, "guest"]["started_at"],
            times[L2, "guest"]["last_seen_at"],
            times[L2, "guest"]["completed_at"],
            True,
        ),
        L3: (
            times[L3, "account"]["started_at"],
            times[L3, "account"]["last_seen_at"],
            times[L3, "account"]["completed_at"],
            True,
        ),
    }
    assert {lesson: state(row) for lesson, row in merged.items()} == expected
    assert (merged[L1].furthest_section, merged[L1].furthest_index) == (headings[5], 5)
    assert merged[L1].percent_read == 80
    words = text(guest.page(COURSE_PATH))
    assert "66% complete" in words and "Lessons done 2 of 3" in words


def test_merging_keeps_the_accounts_progress_made_after_its_reset(
    app: Flask, course: CourseData
) -> None:
    email = "merge-reset@example.org"
    user_id = add_user(app, email)
    account = Visitor(app)
    assert account.browser.login(email).status_code == 303
    account.open(L1)
    assert account.reset().status_code == 303
    account.open(L1)
    account.mark_complete(L1)
    assert account.api()["percent_complete"] == 33

    guest = Visitor(app)
    guest.open(L1)  # the same lesson on another device, before the account's reset
    (reset,) = [r for r in _resets(app) if r.user_id == user_id]
    set_columns(app, CourseReset, reset.id, reset_at=ago(hours=1))
    mine = one_row(app, user_id=user_id, lesson=L1)
    set_columns(app, LessonProgress, mine.id, started_at=ago(minutes=30))
    theirs = one_row(app, guest_id=guest.guest_id(), lesson=L1)
    set_columns(app, LessonProgress, theirs.id, started_at=ago(days=1), last_seen_at=ago(days=1))

    assert guest.browser.login(email).status_code == 303
    assert count(app, LessonProgress, user_id=user_id) == 1
    summary = guest.api()
    assert summary["lessons"][0]["completed_at"] is not None
    assert summary["percent_complete"] == 33


# ---------- the export, and deleting the account ----------


def test_export_lists_progress_and_resets_and_deleting_the_account_removes_them(
    app: Flask, course: CourseData
) -> None:
    email = "leaver@example.org"
    visitor = Visitor(app)
    assert visitor.browser.register(email).status_code == 303
    user = get_user(app, email)
    assert user is not None
    section = course.lessons[L1].heading_ids[2]
    visitor.synced(L1, section, 50)
    assert visitor.reset().status_code == 303
    visitor.mark_complete(L2)

    response = visitor.client.get("/account/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.get_data(as_text=True))
    progress = {row["lesson"]: row for row in data["lesson_progress"]}
    assert set(progress) == {L1, L2}
    assert (progress[L1]["furthest_section"], progress[L1]["percent_read"]) == (section, 50)
    assert progress[L1]["completed_at"] is None  # exported as stored, from before the reset
    assert progress[L2]["marked_complete"] is True and progress[L2]["completed_at"]
    for row in data["lesson_progress"]:
        assert row["course"] == COURSE
        assert "user_id" not in row and "guest_id" not in row
    (reset,) = data["course_reset"]
    assert reset["course"] == COURSE and "user_id" not in reset
    stored = [r for r in _resets(app) if r.user_id == user.id]
    assert [aware(r.reset_at).isoformat() for r in stored] == [reset["reset_at"]]

    others = count(app, LessonProgress) - 2, count(app, CourseReset) - 1
    response = visitor.browser.submit(
        "/account",
        {"delete-confirm_email": email},
        action="/account/delete",
        csrf_field="delete-csrf_token",
    )
    assert response.status_code == 303
    assert get_user(app, email) is None
    assert count(app, LessonProgress, user_id=user.id) == 0
    assert count(app, CourseReset, user_id=user.id) == 0
    assert (count(app, LessonProgress), count(app, CourseReset)) == others
    assert count(app, User, id=user.id) == 0
