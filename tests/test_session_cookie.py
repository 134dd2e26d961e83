"""The session cookie is re-sent when it changes, or once its signature is a day old."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from tests.account_client import Browser, add_user
from tests.conftest import MakeApp

LESSON = "/courses/flask-fundamentals/what-is-flask/"
COURSE = "/courses/flask-fundamentals/"


def session_cookies(response) -> list[str]:  # noqa: ANN001 - a test response
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]


def test_a_returning_guest_gets_no_new_cookie_on_every_page(client: FlaskClient) -> None:
    first = client.get(LESSON)
    assert session_cookies(first), "a new visitor gets a guest session"
    assert "Expires=" in session_cookies(first)[0], "a guest session is permanent"
    # Flask-Login notes once that the (non-login) session is not "fresh": one more cookie.
    client.get(LESSON)
    for url in (LESSON, COURSE, "/", LESSON):
        response = client.get(url)
        assert response.status_code == 200
        assert session_cookies(response) == [], url
        assert "cookie" in response.vary, "pages still depend on the cookie"


def test_the_guest_keeps_their_work_without_a_re_sent_cookie(client: FlaskClient) -> None:
    client.get(LESSON)
    client.get(LESSON)
    guest = client.get_cookie("session")
    assert guest is not None
    client.get(COURSE)
    assert client.get_cookie("session").value == guest.value
    progress = client.get("/api/v1/progress/flask-fundamentals").get_json()
    assert any(lesson["started_at"] for lesson in progress["lessons"])


def test_an_old_signature_is_renewed_and_the_expiry_moves(make_app: MakeApp) -> None:
    # A signature's time is in whole seconds: signed at 12.9 s, it reads as 12 s. With an
    # interval of 2 s, any request less than a second after a signature keeps it.
    app = make_app(SESSION_REFRESH_INTERVAL=timedelta(seconds=2))
    client = app.test_client()
    first = session_cookies(client.get(LESSON))
    assert first
    client.get(LESSON)
    assert session_cookies(client.get(LESSON)) == []
    time.sleep(3)  # the first signature is now at least 3 s old
    renewed = session_cookies(client.get(LESSON))
    assert len(renewed) == 1
    assert renewed != first, "re-signed with a new timestamp and a later expiry"
    assert session_cookies(client.get(LESSON)) == []


def test_a_changed_session_is_always_sent(app: Flask) -> None:
    add_user(app, "ada@example.com")
    browser = Browser(app)
    browser.client.get(LESSON)
    browser.client.get(LESSON)
    assert session_cookies(browser.client.get(LESSON)) == []
    response = browser.login("ada@example.com")
    assert response.status_code in (302, 303)
    assert session_cookies(response), "signing in changes the session, so it is sent"
    signed_in = browser.client.get(LESSON)
    assert "Sign out" in signed_in.get_data(as_text=True)


def test_a_tampered_cookie_starts_a_fresh_guest(client: FlaskClient) -> None:
    client.get(LESSON)
    guest = client.get_cookie("session")
    assert guest is not None
    client.set_cookie("session", guest.value[:-2] + "xx")
    response = client.get(LESSON)
    assert response.status_code == 200
    renewed = session_cookies(response)
    assert renewed and guest.value not in renewed[0]


def test_a_cookie_read_again_holds_what_it_held(make_app: MakeApp) -> None:
    """A worker remembers cookies it verified; a request that changes its session (a flash
    message appended to the list the cookie held) never changes what that cookie holds."""
    app = make_app()
    browser = Browser(app)
    first, second = f"{COURSE}what-is-flask/", f"{COURSE}wsgi/"
    browser.client.get(first)
    token = browser.token(second)
    assert browser.client.post(f"{first}complete", data={"csrf_token": token}).status_code == 303
    one_message = browser.client.get_cookie("session")
    assert one_message is not None
    # Sent with the cookie that holds the first message: the second is appended to its list.
    assert browser.client.post(f"{second}complete", data={"csrf_token": token}).status_code == 303
    browser.client.set_cookie("session", one_message.value)
    page = browser.client.get(first).get_data(as_text=True)
    assert page.count("is marked as complete.") == 1, "only the message that cookie held"


def test_a_remembered_cookie_still_expires(make_app: MakeApp) -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    client = app.test_client()
    client.get(LESSON)
    client.get(LESSON)
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert session_cookies(client.get(LESSON)) == [], "read and remembered, nothing to send"
    time.sleep(1.2)
    client.set_cookie("session", cookie.value)
    response = client.get(LESSON)
    renewed = session_cookies(response)
    assert renewed and cookie.value not in renewed[0], "an expired cookie starts a new session"
