"""Page-serving benchmark: our lesson page against bare Flask, same gunicorn, same run.

    python -m tests.perf.bench_pages [--requests 3000] [--concurrency 4] [--rounds 3]

Starts three gunicorn servers on 127.0.0.1 (one sync worker each), sends the same number
of requests to each with a keep-alive-free HTTP client, and reports requests/second,
p50/p95 latency and the ratio of our pages to the bare references. Medians over rounds.

Our lesson page is measured twice: for a returning learner (the session cookie of an
earlier visit: the page reads their progress and, within ten minutes, writes nothing)
and for a new visitor with no cookie (each request starts a guest and writes a row).
Only loopback addresses are used; every loop is bounded in requests and time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LESSON = "/courses/flask-fundamentals/what-is-flask/"
TIME_LIMIT_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(target: str, env: dict[str, str]) -> Iterator[int]:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket",
        "--log-level", "warning", target,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def hammer(
    port: int, path: str, requests: int, concurrency: int, cookie: str = ""
) -> dict[str, float]:
    """Send ``requests`` GETs from ``concurrency`` threads; return throughput and latency."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_thread = requests // concurrency
    deadline = time.monotonic() + TIME_LIMIT_S

    def worker() -> None:
        nonlocal errors
        mine: list[float] = []
        for _ in range(per_thread):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            response.read()
            connection.close()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)],
        "errors": errors,
    }


def run(requests: int, concurrency: int, rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"INSTANCE_PATH": tmp, "APP_ENV": "local"}
        for command in (["db", "upgrade"], ["content", "build"]):  # as `make run` does
            subprocess.run(
                [sys.executable, "-m", "flask", "--app", "app:create_app", *command],
                cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True,
            )  # fmt: skip
        results: dict[str, list[dict[str, float]]] = {
            "lesson": [], "lesson_new_visitor": [], "same": [], "hello": []
        }  # fmt: skip
        with gunicorn("app:create_app()", env) as ours:
            url = f"http://127.0.0.1:{ours}{LESSON}"
            page = Path(tmp) / "page.html"
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
                page.write_bytes(response.read())
                cookie = response.headers["Set-Cookie"].split(";", 1)[0]
            with gunicorn("tests.perf.bare_app:app", {"BENCH_PAGE_FILE": str(page)}) as bare:
                for _ in range(rounds):
                    results["lesson"].append(hammer(ours, LESSON, requests, concurrency, cookie))
                    results["lesson_new_visitor"].append(
                        hammer(ours, LESSON, requests, concurrency)
                    )
                    results["same"].append(hammer(bare, "/same", requests, concurrency))
                    results["hello"].append(hammer(bare, "/hello", requests, concurrency))
    summary: dict[str, object] = {}
    for name, runs in results.items():
        summary[name] = {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
    lesson_rps = summary["lesson"]["rps"]  # type: ignore[index]
    summary["ratio_lesson_vs_same_bytes"] = round(lesson_rps / summary["same"]["rps"], 3)  # type: ignore[index]
    new_rps = summary["lesson_new_visitor"]["rps"]  # type: ignore[index]
    summary["ratio_new_visitor_vs_same_bytes"] = round(new_rps / summary["same"]["rps"], 3)  # type: ignore[index]
    summary["ratio_lesson_vs_hello"] = round(lesson_rps / summary["hello"]["rps"], 3)  # type: ignore[index]
    summary["settings"] = {"requests": requests, "concurrency": concurrency, "rounds": rounds}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.requests, args.concurrency, args.rounds), indent=2))


if __name__ == "__main__":
    main()
