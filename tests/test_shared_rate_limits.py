"""The per-address limits counted in a shared Redis: one count for every worker.

With ``memory://`` each process counts on its own, so two gunicorn workers let twice the
limit through; with ``RATELIMIT_STORAGE_URI=redis://...`` they share one count. The tests
start a private ``redis-server`` (the Debian package ``redis-server``) on a free port.

To know which worker answers, the gunicorn test occupies one worker at a time with a
request that announces ``Expect: 100-continue``: gunicorn answers ``100 Continue`` once a
worker has taken the connection, and that worker then waits for the body. A sync worker
serves one connection at a time, so every other request goes to the other worker. The
access log names the worker (by pid) that served each request, and the test checks it.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.account_client import Browser, csrf_tokens, migrated_app
from tests.conftest import MakeApp
from tests.test_quiz_gunicorn import Browser as HttpBrowser
from tests.test_quiz_gunicorn import free_port, gunicorn, stop

REDIS_PACKAGE = "redis-server"  # the Debian package that provides /usr/bin/redis-server
REDIS_START_TIMEOUT = 10.0
LIMIT = 5
EMAIL, WRONG = "nobody-here@example.com", "not the right password at all"
HEADING_429 = "Slow down a little"  # the 429 heading of errors/error.html
STEP_HEADER = "X-Test-Step"
# One line per request: the worker's pid, the step the test was in, method, path, status.
ACCESS_FORMAT = f"access %(p)s %({{{STEP_HEADER.lower()}}}i)s %(m)s %(U)s %(s)s"
ACCESS_LINE = re.compile(r"^access <(\d+)> (\S+) (\S+) (\S+) (\d+)$", re.MULTILINE)


# ---------- a private Redis ----------


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A throwaway ``redis-server`` on 127.0.0.1 that keeps nothing on disk; yields its port."""
    executable = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(executable).exists():
        pytest.fail(
            f"redis-server is not installed: install the Debian package {REDIS_PACKAGE!r} "
            f"(apt-get install -y --no-install-recommends {REDIS_PACKAGE})"
        )
    workdir = tmp_path_factory.mktemp("redis")
    log = workdir / "redis.log"
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                executable,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(workdir),
            ],
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_redis(port, process, log)
        yield port
    finally:
        stop(process)


def wait_for_redis(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + REDIS_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"redis-server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with redis_client(port) as client:
                if client.ping():
                    return
        except redis.exceptions.ConnectionError:
            pass
        time.sleep(0.05)
    pytest.fail(f"redis-server did not answer PING within {REDIS_START_TIMEOUT} s")


def redis_client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, db=0, socket_timeout=5)


@pytest.fixture
def redis_url(redis_server: int) -> str:
    """The storage URI of an empty database on the private Redis."""
    with redis_client(redis_server) as client:
        client.flushdb()
    return f"redis://127.0.0.1:{redis_server}/0"


def limiter_keys(redis_url: str) -> list[str]:
    with redis.Redis.from_url(redis_url) as client:
        return sorted(key.decode() for key in client.keys("LIMITS:*"))


def assert_429(status: int, headers: dict[str, str], body: str) -> None:
    assert status == 429
    assert HEADING_429 in body
    assert "Too many attempts from your network" in body
    assert 0 < int(headers["Retry-After"]) <= 60


# ---------- in process: the count lives in Redis ----------


def test_login_limit_is_counted_in_redis(make_app: MakeApp, redis_url: str) -> None:
    app = make_app(RATELIMIT_STORAGE_URI=redis_url, LOGIN_RATE_LIMIT=f"{LIMIT} per minute")
    browser = Browser(app)
    statuses = [browser.login(EMAIL, WRONG).status_code for _ in range(LIMIT)]
    assert statuses == [400] * LIMIT
    response = browser.login(EMAIL, WRONG)
    assert_429(response.status_code, dict(response.headers), response.get_data(as_text=True))

    keys = limiter_keys(redis_url)
    assert len(keys) == 1, keys
    assert keys[0].startswith("LIMITS:LIMITER/127.0.0.1/auth.login/"), keys


def test_two_apps_on_one_redis_share_the_count(tmp_path: Path, redis_url: str) -> None:
    """Two app instances stand for two workers: the second continues the first one's count.

    ``test_each_app_has_its_own_limiter_storage`` shows the opposite with ``memory://``.
    """
    config = {"RATELIMIT_STORAGE_URI": redis_url, "LOGIN_RATE_LIMIT": f"{LIMIT} per minute"}
    first = Browser(migrated_app(tmp_path / "first", **config))
    second = Browser(migrated_app(tmp_path / "second", **config))

    assert [first.login(EMAIL, WRONG).status_code for _ in range(3)] == [400] * 3
    assert [second.login(EMAIL, WRONG).status_code for _ in range(2)] == [400] * 2
    for browser in (second, first):
        response = browser.login(EMAIL, WRONG)
        assert_429(response.status_code, dict(response.headers), response.get_data(as_text=True))


# ---------- through gunicorn with two workers ----------


class HeldWorker:
    """A request that keeps one gunicorn sync worker busy until ``release``.

    It sends a POST's headers with ``Expect: 100-continue`` and holds back the one-byte
    body: gunicorn answers ``100 Continue`` from the worker that took the connection,
    which then waits for the body and accepts nothing else. The endpoint is not
    rate-limited, and the released request ends in a CSRF 400 that changes nothing.
    """

    def __init__(self, port: int, step: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(
            (
                "POST /auth/logout HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 1\r\n"
                "Expect: 100-continue\r\n"
                f"{STEP_HEADER}: {step}\r\n"
                "\r\n"
            ).encode()
        )
        interim = self._read_until(b"\r\n\r\n")
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim

    def _read_until(self, end: bytes | None) -> bytes:
        data = b""
        while end is None or end not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def release(self) -> int:
        """Send the body; returns the final status once the worker has answered."""
        with self.sock:
            self.sock.sendall(b"x")
            response = self._read_until(None)  # the worker closes the connection
        status = re.match(rb"HTTP/1\.1 (\d{3}) ", response)
        assert status, response[:200]
        return int(status.group(1))


def sign_in(browser: HttpBrowser, step: str) -> tuple[int, dict[str, str], str]:
    """Load the sign-in form, then post a wrong password with its CSRF token."""
    browser.opener.addheaders = [(STEP_HEADER, step)]
    page = browser.request("/auth/login")
    assert page.status == 200
    form = [("csrf_token", csrf_tokens(page.body)["csrf_token"])]
    response = browser.request("/auth/login", [*form, ("email", EMAIL), ("password", WRONG)])
    return response.status, response.headers, response.body


def served_by(log: str) -> dict[str, set[str]]:
    """Step -> the pids of the workers that served that step's requests."""
    workers: dict[str, set[str]] = {}
    for pid, step, _method, _path, _status in ACCESS_LINE.findall(log):
        workers.setdefault(step, set()).add(pid)
    return workers


@pytest.fixture
def served_instance(tmp_path: Path) -> Path:
    instance = tmp_path / "served"
    migrated_app(instance)  # the database and secret key both workers will use
    return instance


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_login_limit_across_two_gunicorn_workers(
    storage: str, served_instance: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Worker A serves 3 sign-ins, then worker B serves 5 more.

    With Redis, B sees A's 3 and lets only 2 more through: 5 in total. With ``memory://``
    (the control) B starts its own count and lets all 5 through: 8 in total.
    """
    storage_uri = request.getfixturevalue("redis_url") if storage == "redis" else "memory://"
    log = tmp_path / "gunicorn.log"
    with gunicorn(
        served_instance,
        log,
        RATELIMIT_STORAGE_URI=storage_uri,
        FLASK_LOGIN_RATE_LIMIT=f"{LIMIT} per minute",
        GUNICORN_CMD_ARGS=f"--access-logfile - --access-logformat '{ACCESS_FORMAT}'",
    ) as port:
        browser = HttpBrowser(port)  # a cookie jar; every request on a fresh connection

        hold_b = HeldWorker(port, "hold-b")  # worker B waits, so worker A serves
        first = [sign_in(browser, "a") for _ in range(3)]
        hold_a = HeldWorker(port, "hold-a")  # only worker A is free to take this one
        assert hold_b.release() == 400  # now worker B is the only free one
        second = [sign_in(browser, "b") for _ in range(LIMIT)]
        assert hold_a.release() == 400

    workers = served_by(log.read_text())
    assert workers["a"] == workers["hold-a"], workers
    assert workers["b"] == workers["hold-b"], workers
    assert len(workers["a"]) == len(workers["b"]) == 1, workers
    assert workers["a"] != workers["b"], workers

    assert [status for status, _, _ in first] == [400] * 3
    if storage == "redis":
        assert [status for status, _, _ in second] == [400] * 2 + [429] * 3
        for response in second[2:]:
            assert_429(*response)
        assert any("/auth.login/" in key for key in limiter_keys(storage_uri))
    else:
        assert [status for status, _, _ in second] == [400] * LIMIT
