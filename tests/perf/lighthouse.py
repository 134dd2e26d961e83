"""Lighthouse scores of the catalog, a lesson and a learner's dashboard, desktop and mobile.

    python -m tests.perf.lighthouse [--reports DIR]    (``make lighthouse``)

Prepares a fresh instance folder as ``make run`` does (``flask db upgrade``, ``flask
content build``, ``APP_ENV=local``), serves it with gunicorn (2 workers) on a free loopback
port and seeds a learner over HTTP: registers with the real form, signs in, answers two
questions of the first lesson through the answer endpoint and opens the dashboard (which
also takes the sign-in's welcome message out of the session). Then Lighthouse 12 (from
``tests/perf/lighthouse/node_modules``, installed by ``make lighthouse`` with ``npm ci``)
audits each page with its desktop preset and its default (mobile) one, Chromium at
``CHROME_PATH`` (``/usr/bin/chromium`` unless set) in a fresh profile for every run. The
dashboard gets the learner's cookies through ``--extra-headers``.

A run passes with performance >= 95, accessibility = 100, best practices = 100 and SEO >= 95.
The dashboard is private: it tells search engines ``noindex`` (and robots.txt disallows
it), which Lighthouse's ``is-crawlable`` audit counts as an SEO failure for any page. Its
SEO score is therefore computed as Lighthouse computes a category score (the weighted mean
of the scored audits) with ``is-crawlable`` left out; the JSON summary keeps Lighthouse's
own figure as ``seo_lighthouse``, and the table marks the adjusted score with ``*``. That
audit must still fail there: a dashboard that Lighthouse finds crawlable fails the run.

Prints a table of the scores on stdout and, for each category below its threshold, the
audits that cost points (id, title, score). Writes the scores and those audits as JSON to
``tests/perf/results/lighthouse-<UTC timestamp>.json`` (``--reports DIR`` also keeps
Lighthouse's full report of each run). Exit status: 0 when every run meets
every threshold, 1 when one does not, 2 when the pages could not be audited. The server's
process group is always stopped, and every request and Lighthouse run has a time limit.

The npm project pins ``lighthouse`` to one version in ``package.json`` and
``package-lock.json``. One of its packages asks for ``third-party-web`` at the registry's
``latest`` tag, which ``npm ci`` would check against the registry on every install; the
``overrides`` entry pins it to the version Lighthouse itself depends on.
"""

from __future__ import annotations

import argparse
import html
import http.client
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.chromium import CHROMIUM_ARGS
from tests.perf.loadtest import COURSE, ROOT, gunicorn, local_app, log, prepare, server_env

LIGHTHOUSE = ROOT / "tests" / "perf" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
RESULTS = ROOT / "tests" / "perf" / "results"
LESSON = "what-is-flask"
PAGES = (
    ("catalog", "/", False),
    ("lesson", f"/courses/{COURSE}/{LESSON}/", False),
    ("dashboard", "/dashboard", True),
)
PRESETS = ("desktop", "mobile")  # mobile is Lighthouse's default
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
THRESHOLDS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 95}
# Audits left out of a page's score, and why (see the module docstring).
EXCLUDED = {"dashboard": {"seo": ("is-crawlable",)}}
CHROME_FLAGS = ("--headless", *CHROMIUM_ARGS)
LIGHTHOUSE_TIMEOUT_S = 240.0  # one page with one preset
REQUEST_TIMEOUT_S = 10.0
EMAIL = "lighthouse.learner@example.org"
PASSWORD = "a long passphrase for the lighthouse learner"
ANSWERS = 2


class SetupError(RuntimeError):
    """The pages could not be audited (exit status 2)."""


# --- the learner ------------------------------------------------------------------------


class Client:
    """A browser-like client: one cookie jar, loopback only, bounded timeouts."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        csrf: str = "",
    ) -> tuple[int, str]:
        """Status and text of the reply, redirects followed; a form or JSON (with ``csrf``
        in the ``X-CSRFToken`` header, as the page's scripts send it)."""
        headers = {"Accept": "text/html"}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Accept"] = "application/json"
            headers["Content-Type"] = "application/json"
            headers["X-CSRFToken"] = csrf
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1:<port>
            self.base + path, data=data, headers=headers, method=method
        )
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            raise SetupError(f"{method} {path}: {exc}") from exc

    def page(self, path: str) -> str:
        status, body = self.request("GET", path)
        if status != 200:
            raise SetupError(f"GET {path}: HTTP {status}")
        return body

    def submit(self, path: str, fields: dict[str, str]) -> str:
        """Fill in the form on ``path`` (its CSRF token included) and follow the redirect."""
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', self.page(path))
        if token is None:
            raise SetupError(f"GET {path}: no csrf_token field")
        status, body = self.request("POST", path, {"csrf_token": html.unescape(token[1]), **fields})
        if status != 200:  # the redirect after a successful POST lands on a 200 page
            raise SetupError(f"POST {path}: HTTP {status}")
        return body

    def cookie_header(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)


def right_answers(instance: Path) -> list[tuple[str, Any]]:
    """The first ``ANSWERS`` questions of the lesson with a typed or chosen right answer."""
    from app.lessons.store import catalog
    from tests.quiz_client import correct_answer

    with local_app(instance, "").app_context():
        course = catalog().course(COURSE)
        lesson = course.lesson(LESSON) if course is not None else None
        if lesson is None:
            raise SetupError(f"the bundled content has no lesson {COURSE}/{LESSON}")
        answers = []
        for spec in lesson.questions:
            try:
                answers.append((spec.id, correct_answer(spec)))
            except StopIteration:  # only patterns accept it: no answer to type in
                continue
            if len(answers) == ANSWERS:
                return answers
    raise SetupError(f"{COURSE}/{LESSON} has fewer than {ANSWERS} questions to answer")


def seed_learner(base: str, instance: Path) -> str:
    """A learner with answered questions and a lesson opened; returns its Cookie header."""
    newcomer = Client(base)
    newcomer.submit(
        "/auth/register",
        {"email": EMAIL, "display_name": "Lighthouse Learner", "password": PASSWORD},
    )
    learner = Client(base)
    learner.submit("/auth/login", {"email": EMAIL, "password": PASSWORD})
    path = f"/courses/{COURSE}/{LESSON}/"
    page = learner.page(path)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    if meta is None:
        raise SetupError(f"GET {path}: no csrf-token meta tag")
    csrf = html.unescape(meta[1])
    for question_id, answer in right_answers(instance):
        form = re.search(
            rf'action="{re.escape(path)}quiz/{re.escape(question_id)}/answer"'
            r'.*?name="revision" value="([^"]+)"',
            page,
            re.DOTALL,
        )
        if form is None:
            raise SetupError(f"GET {path}: no answer form for {question_id}")
        body = {
            "submission_id": str(uuid.uuid4()),
            "revision": html.unescape(form[1]),
            "answer": answer,
        }
        url = f"{path}quiz/{question_id}/answer"
        status, reply = learner.request("POST", url, json_body=body, csrf=csrf)
        if status != 200 or json.loads(reply).get("correct") is not True:
            raise SetupError(f"POST {url}: HTTP {status} {reply[:200]}")
    dashboard = learner.page("/dashboard")  # also shows (and so clears) the welcome message
    if "Lighthouse Learner" not in dashboard or f"/courses/{COURSE}/" not in dashboard:
        raise SetupError("the dashboard does not show the seeded learner and their course")
    if "Welcome back" in learner.page("/dashboard"):
        raise SetupError("the sign-in message is still in the session")
    return learner.cookie_header()


# --- Lighthouse ---------------------------------------------------------------------------


@dataclass
class Run:
    page: str
    path: str
    preset: str
    scores: dict[str, int | None] = field(default_factory=dict)
    failing: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # fail the run whatever the scores
    error: str = ""

    @property
    def passed(self) -> bool:
        return (
            not self.error
            and not self.problems
            and all((self.scores.get(name) or 0) >= minimum for name, minimum in THRESHOLDS.items())
        )


def category_score(category: dict[str, Any], audits: dict[str, Any], leave_out: tuple) -> int:
    """Lighthouse's weighted mean of the category's scored audits, without ``leave_out``."""
    total = weight = 0.0
    for ref in category["auditRefs"]:
        audit = audits[ref["id"]]
        if ref["id"] in leave_out or not ref.get("weight"):
            continue
        if audit.get("scoreDisplayMode") in ("notApplicable", "informative", "manual"):
            continue
        total += (audit.get("score") or 0) * ref["weight"]
        weight += ref["weight"]
    return round(100 * total / weight) if weight else 0


def costly_audits(
    category: dict[str, Any], audits: dict[str, Any], leave_out: tuple
) -> list[dict[str, Any]]:
    """The category's audits that cost points (weighted, or failed outright), but ``leave_out``."""
    found = []
    for ref in category["auditRefs"]:
        audit = audits[ref["id"]]
        if ref["id"] in leave_out:
            continue
        score = audit.get("score")
        if score is None or score >= 1:
            continue
        if audit.get("scoreDisplayMode") in ("notApplicable", "informative", "manual"):
            continue
        if not ref.get("weight") and audit.get("scoreDisplayMode") != "binary":
            continue
        entry = {"id": ref["id"], "title": audit.get("title", ""), "score": score}
        if audit.get("displayValue"):
            entry["value"] = audit["displayValue"]
        found.append(entry)
    return found


def lighthouse(url: str, preset: str, headers_file: Path | None, work: Path, name: str) -> dict:
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=work))
    output = work / f"{name}.json"
    flags = " ".join((*CHROME_FLAGS, f"--user-data-dir={profile}"))
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={flags}",
        "--quiet",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    if headers_file is not None:
        command.append(f"--extra-headers={headers_file}")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    # Its own process group: on a timeout, Lighthouse and the Chromium it started both stop.
    process = subprocess.Popen(
        command,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        text, _ = process.communicate(timeout=LIGHTHOUSE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"Lighthouse took more than {LIGHTHOUSE_TIMEOUT_S:.0f} s") from exc
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    if process.returncode != 0 or not output.exists():
        tail = "\n".join(text.splitlines()[-15:])
        raise SetupError(f"Lighthouse exited with {process.returncode}:\n{tail}")
    return json.loads(output.read_text(encoding="utf-8"))


def audit_run(
    run: Run, base: str, headers_file: Path | None, work: Path, reports: Path | None
) -> None:
    name = f"{run.page}-{run.preset}"
    log(f"lighthouse: {name} ({run.path})")
    try:
        report = lighthouse(base + run.path, run.preset, headers_file, work, name)
    except SetupError as exc:
        run.error = str(exc)
        return
    if reports is not None:
        shutil.copyfile(work / f"{name}.json", reports / f"{name}.json")
    if report.get("runtimeError"):
        run.error = f"{report['runtimeError'].get('code')}: {report['runtimeError'].get('message')}"
        return
    final_url = report.get("finalDisplayedUrl") or report.get("finalUrl", "")
    if urllib.parse.urlsplit(final_url).path != run.path:
        run.error = f"Lighthouse ended on {final_url}, not {run.path}"
        return
    audits = report["audits"]
    for category_id, category in report["categories"].items():
        leave_out = EXCLUDED.get(run.page, {}).get(category_id, ())
        score = None if category.get("score") is None else round(100 * category["score"])
        run.scores[category_id] = score
        if leave_out:
            run.scores[f"{category_id}_lighthouse"] = score
            run.scores[category_id] = category_score(category, audits, leave_out)
            run.notes.append(f"{category_id} without {', '.join(leave_out)}")
        for audit_id in leave_out:
            # Left out because the page is private; passing, it would say it is not.
            if audits[audit_id].get("score") == 1:
                run.problems.append(f"{audit_id} passed: the private page does not say noindex")
        if (run.scores[category_id] or 0) < THRESHOLDS[category_id]:
            run.failing[category_id] = costly_audits(category, audits, leave_out)


# --- the run ------------------------------------------------------------------------------


def table(runs: list[Run]) -> str:
    header = f"{'page':<10} {'preset':<8} {'perf':>5} {'a11y':>5} {'bp':>5} {'seo':>5}  result"
    lines = [header, "-" * len(header)]
    for run in runs:
        cells = []
        for name in CATEGORIES:
            score = run.scores.get(name)
            mark = "*" if f"{name}_lighthouse" in run.scores else ""
            cells.append(f"{'-' if score is None else score}{mark}".rjust(5))
        result = "error" if run.error else "pass" if run.passed else "FAIL"
        lines.append(f"{run.page:<10} {run.preset:<8} {' '.join(cells)}  {result}")
    if any(run.notes for run in runs):
        lines.append("* private page (noindex): SEO computed without is-crawlable")
    return "\n".join(lines)


def lighthouse_version() -> str:
    package = LIGHTHOUSE.parents[1] / "lighthouse" / "package.json"
    return json.loads(package.read_text(encoding="utf-8"))["version"]


def write_results(runs: list[Run], started: datetime) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"lighthouse-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    summary = {
        "started": started.isoformat(timespec="seconds"),
        "lighthouse": lighthouse_version(),
        "thresholds": THRESHOLDS,
        "passed": all(run.passed for run in runs),
        "runs": [
            {
                "page": run.page,
                "path": run.path,
                "preset": run.preset,
                "scores": run.scores,
                "passed": run.passed,
                "failing_audits": run.failing,
                "notes": run.notes,
                "problems": run.problems,
                **({"error": run.error} if run.error else {}),
            }
            for run in runs
        ],
    }
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return path


def run_all(reports: Path | None) -> int:
    if not LIGHTHOUSE.exists():
        raise SetupError(f"{LIGHTHOUSE} is missing: run `make lighthouse`")
    started = datetime.now(UTC)
    tmp = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    try:
        instance = tmp / "instance"
        instance.mkdir()
        env = server_env(instance, "")
        log("lighthouse: preparing the database and the lesson cache")
        prepare(env)
        runs: list[Run] = []
        with gunicorn(env, 2, tmp / "server.log") as server:
            base = server.base
            log(f"lighthouse: gunicorn on {base}; seeding a learner")
            headers_file = tmp / "headers.json"
            cookie = seed_learner(base, instance)
            headers_file.write_text(json.dumps({"Cookie": cookie}), encoding="utf-8")
            for page, path, signed_in in PAGES:
                for preset in PRESETS:
                    run = Run(page, path, preset)
                    audit_run(run, base, headers_file if signed_in else None, tmp, reports)
                    runs.append(run)
        print(table(runs), flush=True)
        for run in runs:
            if run.error:
                print(f"\n{run.page} {run.preset}: {run.error}", flush=True)
            for problem in run.problems:
                print(f"\n{run.page} {run.preset}: {problem}", flush=True)
            for name, audits in run.failing.items():
                print(
                    f"\n{run.page} {run.preset}: {name} {run.scores[name]} < {THRESHOLDS[name]}:",
                    flush=True,
                )
                for audit in audits:
                    value = f" ({audit['value']})" if audit.get("value") else ""
                    print(f"  {audit['id']}: {audit['title']}, score {audit['score']}{value}")
        path = write_results(runs, started)
        print(f"\nlighthouse: results in {path.relative_to(ROOT)}", flush=True)
        if any(run.error for run in runs):
            return 2
        return 0 if all(run.passed for run in runs) else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reports",
        type=Path,
        metavar="DIR",
        help="also keep Lighthouse's full JSON report of each run in DIR",
    )
    args = parser.parse_args(argv)
    if args.reports is not None:
        args.reports.mkdir(parents=True, exist_ok=True)

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the cleanup

    signal.signal(signal.SIGTERM, terminate)
    try:
        return run_all(args.reports)
    except (SetupError, RuntimeError) as exc:
        log(f"lighthouse: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
