"""Browser tests: Debian's Chromium driven by Playwright against the app on a live server.

Playwright's own browser downloads are not used: the tests launch the system Chromium
(``/usr/bin/chromium``, or ``CHROMIUM_PATH``), which CI installs from the distribution's
packages. Without it the tests are skipped on a developer machine, and fail when the
environment variable ``CI`` is ``true`` or ``1``: CI must not pass by skipping them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.lessons.store import catalog
from tests.chromium import CHROMIUM_ARGS
from tests.conftest import PROJECT_ROOT, MakeApp, migrated_app


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options (``--headed``, ``--slowmo``) on system Chromium."""
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(executable, os.X_OK):
        message = (
            f"Chromium not found at {executable}: install the Debian packages "
            "(apt-get install chromium fonts-liberation, as .ci/run does) or set "
            "CHROMIUM_PATH to a Chromium executable."
        )
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message, pytrace=False)
        pytest.skip(f"BROWSER TESTS SKIPPED. {message}")
    return {**browser_type_launch_args, "executable_path": executable, "args": list(CHROMIUM_ARGS)}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the bundled course with a migrated database, served over real HTTP.

    Yields the base URL, such as ``http://127.0.0.1:41234``, without a trailing slash.
    """
    instance = tmp_path_factory.mktemp("live-instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(PROJECT_ROOT)  # Flask-Migrate finds migrations/ from the working folder
        app = migrated_app(instance, TESTING=False)
    with serve(app, "live-server") as url:
        yield url


@contextmanager
def serve(app: Flask, name: str) -> Iterator[str]:
    """``app`` on a free port of 127.0.0.1 in a background thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """Pages open relative to the live server: ``page.goto("/courses/")``.

    This replaces pytest-playwright's own ``base_url`` fixture (from ``--base-url``), which
    pytest 9 deprecates (it is a session fixture defined as an instance method; with
    ``filterwarnings = error`` that would fail every browser test), and which would point
    the browser at some other server anyway.
    """
    return live_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Reduced motion: no smooth scrolling to ``#q-...`` for clicks to wait out."""
    return {**browser_context_args, "reduced_motion": "reduce"}


@pytest.fixture
def choices(make_app: MakeApp) -> dict[bool, str]:
    """A wrong (``False``) and the correct (``True``) option id of the single-choice
    question ``string-view-response-defaults`` in the lesson ``what-is-flask``."""
    with make_app().app_context():
        lesson = catalog().course("flask-fundamentals").lesson("what-is-flask")
        question = lesson.question("string-view-response-defaults")
        options = question.options
    return {
        False: next(option.id for option in options if not option.correct),
        True: next(option.id for option in options if option.correct),
    }
