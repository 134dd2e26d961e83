"""Runnable lesson examples: find them in lesson files, run them, compare their output.

A runnable example is a fence whose info string is ``python run``, optionally with
``request="GET /hello"`` (several requests separated by ``;``). The fence that follows
it, when it is a ``text output`` fence, holds the expected output: what the program
prints, or, with ``request=``, for each request the response status line and the body,
requests separated by a blank line. Trailing whitespace is ignored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from app.content.highlight import parse_info

TIMEOUT_S = 20
REQUEST_RUNNER = """\
import sys

sys.path.insert(0, ".")
import example

client = example.app.test_client()
blocks = []
for request in sys.argv[1:]:
    method, _, path = request.strip().partition(" ")
    response = client.open(path.strip(), method=method.upper())
    blocks.append(response.status + "\\n" + response.get_data(as_text=True))
print("\\n\\n".join(block.rstrip() for block in blocks))
"""


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    requests: tuple[str, ...]
    expected: str | None  # None: no output fence follows

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def examples_in(path: Path) -> list[Example]:
    """Every ``python run`` fence of a lesson file, with the output fence after it."""
    tokens = [
        t for t in MarkdownIt("commonmark").parse(path.read_text("utf-8")) if t.type == "fence"
    ]
    found: list[Example] = []
    for index, token in enumerate(tokens):
        info = parse_info(token.info)
        if info.lang != "python" or "run" not in info.flags:
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        expected = None
        if following is not None:
            after = parse_info(following.info)
            if after.lang == "text" and "output" in after.flags:
                expected = following.content
        line = (token.map[0] if token.map else 0) + 1
        found.append(Example(path, line, token.content, info.requests, expected))
    return found


def normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).rstrip()


def run_example(example: Example, workdir: Path) -> str:
    """Run the example in ``workdir`` with this interpreter; returns what it printed.

    Raises ``AssertionError`` naming the lesson file and line when it fails or times out.
    """
    (workdir / "example.py").write_text(example.code, encoding="utf-8")
    command = [sys.executable, "-W", "error::DeprecationWarning"]
    if example.requests:
        (workdir / "run_requests.py").write_text(REQUEST_RUNNER, encoding="utf-8")
        command += ["run_requests.py", *example.requests]
    else:
        command += ["example.py"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    # No network: any attempt to reach the internet through a proxy fails at once.
    env.update(http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")
    try:
        done = subprocess.run(  # noqa: S603 - our interpreter, our lesson's code
            command, cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{example.where}: the example ran longer than {TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise AssertionError(
            f"{example.where}: the example failed (exit {done.returncode}):\n{done.stderr}"
        )
    return done.stdout
