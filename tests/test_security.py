"""Security defaults: headers, cookies per mode, CSRF, body size limit, HTTPS switch."""

from __future__ import annotations

import pytest
from flask import Flask, session

from tests.conftest import MakeApp

PAGES = [
    "/",
    "/courses/flask-fundamentals/",
    "/courses/flask-fundamentals/what-is-flask/",
    "/nope",
    "/healthz",
    "/readyz",
]


def add_session_route(app: Flask) -> None:
    """A test-only route that writes the session, so a Set-Cookie is sent."""

    @app.get("/_test/session")
    def set_session():
        session["seen"] = True
        return "ok"

    @app.post("/_test/echo")
    def echo():
        from flask import request

        return str(len(request.form.get("data", "")))


@pytest.mark.parametrize("path", PAGES)
def test_security_headers_on_every_response(client, path: str) -> None:
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers
    if response.content_type.startswith("text/"):
        assert "charset=utf-8" in response.headers["Content-Type"]


def test_local_mode_cookies_stay_insecure_after_requests(make_app: MakeApp) -> None:
    app = make_app(TESTING=False)
    add_session_route(app)
    client = app.test_client()
    for path in [
        "/",
        "/courses/flask-fundamentals/what-is-flask/",
        "/_test/session",
        "/_test/session",
    ]:
        client.get(path)
    assert app.config["SESSION_COOKIE_SECURE"] is False
    response = client.get("/_test/session")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies, "the test route must set the session cookie"
    for cookie in cookies:
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert "secure" not in attributes
        assert "httponly" in attributes and "samesite=lax" in attributes


def test_production_cookies_are_secure(make_app: MakeApp, monkeypatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    app = make_app(TESTING=False)
    add_session_route(app)
    response = app.test_client().get("/_test/session")
    (cookie,) = response.headers.getlist("Set-Cookie")
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert {"secure", "httponly", "samesite=lax"} <= set(attributes)
    assert "Strict-Transport-Security" not in response.headers  # only with FORCE_HTTPS


def test_force_https_redirects_and_sends_hsts(make_app: MakeApp) -> None:
    app = make_app(FORCE_HTTPS="1", TESTING=False)
    client = app.test_client()
    response = client.get("/courses/flask-fundamentals/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://")
    secure = client.get("/courses/flask-fundamentals/", base_url="https://localhost")
    assert secure.status_code == 200
    assert "max-age=" in secure.headers["Strict-Transport-Security"]


def test_force_https_trusts_a_proxy_that_terminated_tls(make_app: MakeApp) -> None:
    app = make_app(FORCE_HTTPS="1", TESTING=False)
    client = app.test_client()
    proxied = client.get("/courses/flask-fundamentals/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert proxied.headers["Content-Security-Policy"].startswith("default-src 'self'")
    plain = client.get("/courses/flask-fundamentals/?page=2", headers={"X-Forwarded-Proto": "http"})
    assert plain.status_code == 302
    assert plain.headers["Location"] == "https://localhost/courses/flask-fundamentals/?page=2"


def test_csrf_protects_posts(make_app: MakeApp) -> None:
    app = make_app()
    add_session_route(app)
    response = app.test_client().post("/_test/echo", data={"data": "x"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def add_token_routes(app: Flask) -> None:
    """A page that hands out the session's CSRF token, and a JSON write that needs it."""

    @app.get("/_test/token")
    def token():
        from app.fragments import signed_csrf_token

        return signed_csrf_token()

    @app.post("/_test/write")
    def write():
        return "written"


@pytest.mark.parametrize("verified_before", [True, False], ids=["remembered", "first-time"])
def test_a_verified_token_is_valid_only_with_its_own_session(
    make_app: MakeApp, verified_before: bool
) -> None:
    """A worker remembers tokens it verified; that never lets one pass for another session,
    nor a token altered by a character, whether it was verified before or not."""
    app = make_app()
    add_token_routes(app)
    mine, theirs = app.test_client(), app.test_client()
    token, their_token = mine.get("/_test/token").text, theirs.get("/_test/token").text
    if verified_before:
        assert mine.post("/_test/write", headers={"X-CSRFToken": token}).text == "written"
        assert theirs.post("/_test/write", headers={"X-CSRFToken": their_token}).status_code == 200
    else:
        from app import csrf

        csrf._verified.clear()  # as in a worker that never saw these tokens

    assert mine.post("/_test/write", headers={"X-CSRFToken": their_token}).status_code == 400
    # One character in the middle of the signature (the last one may only carry padding bits).
    head, signature = token.rsplit(".", 1)
    middle = len(signature) // 2
    altered = "A" if signature[middle] != "A" else "B"
    forged = f"{head}.{signature[:middle]}{altered}{signature[middle + 1 :]}"
    assert mine.post("/_test/write", headers={"X-CSRFToken": forged}).status_code == 400
    assert mine.post("/_test/write", json={"csrf_token": token}).status_code == 400  # not a form
    assert mine.post("/_test/write", data={"csrf_token": token}).text == "written"
    assert mine.post("/_test/write", headers={"X-CSRFToken": token}).text == "written"


def test_a_remembered_token_is_not_decoded_again(make_app: MakeApp, monkeypatch) -> None:
    import flask_wtf.csrf

    app = make_app()
    add_token_routes(app)
    client = app.test_client()
    token = client.get("/_test/token").text
    decoded: list[str] = []
    validate = flask_wtf.csrf.validate_csrf
    monkeypatch.setattr(
        flask_wtf.csrf, "validate_csrf", lambda data: decoded.append(data) or validate(data)
    )
    from app import csrf

    csrf._verified.clear()  # as in a worker that has not seen the token yet
    for _ in range(3):
        assert client.post("/_test/write", headers={"X-CSRFToken": token}).text == "written"
    assert decoded == [token]


def test_a_remembered_token_still_needs_a_same_origin_referrer_over_https(
    make_app: MakeApp,
) -> None:
    app = make_app()
    add_token_routes(app)
    client = app.test_client()
    token = client.get("/_test/token", base_url="https://localhost").text
    secure = {"base_url": "https://localhost", "headers": {"X-CSRFToken": token}}
    assert client.post("/_test/write", **secure).status_code == 400  # no referrer
    foreign = {"X-CSRFToken": token, "Referer": "https://elsewhere.example/"}
    assert (
        client.post("/_test/write", base_url="https://localhost", headers=foreign).status_code
        == 400
    )
    own = {"X-CSRFToken": token, "Referer": "https://localhost/courses/"}
    assert client.post("/_test/write", base_url="https://localhost", headers=own).text == "written"


def test_request_body_over_one_megabyte_is_refused(make_app: MakeApp) -> None:
    app = make_app()
    add_session_route(app)
    client = app.test_client()
    big = client.post("/_test/echo", data={"data": "x" * (1024 * 1024 + 1)})
    assert big.status_code == 413
    small = client.post("/_test/echo", data={"data": "x" * 1000})
    assert small.status_code == 400  # within the limit, then refused for the missing token


def test_production_errors_hide_details_and_console_is_absent(
    make_app: MakeApp, monkeypatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    app = make_app(TESTING=False)

    @app.get("/_test/fail")
    def fail():
        raise ValueError("secret internals")

    client = app.test_client()
    response = client.get("/_test/fail")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    for leak in ("Traceback", "werkzeug", 'File "', "secret internals", str(app.root_path)):
        assert leak not in body
    assert client.get("/console").status_code == 404
