"""Every runnable example in the bundled course runs and prints what its lesson says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BUNDLED_CONTENT, PROJECT_ROOT
from tests.example_runner import Example, examples_in, normalised, run_example


def bundled_examples() -> list[Example]:
    return [
        example
        for path in sorted(BUNDLED_CONTENT.rglob("*.md"))
        for example in examples_in(path.relative_to(PROJECT_ROOT))
    ]


def check(example: Example, workdir: Path) -> None:
    output = run_example(example, workdir)
    if example.expected is not None:
        assert normalised(output) == normalised(example.expected), (
            f"{example.where}: the output differs from the lesson's output block"
        )


@pytest.mark.parametrize("example", bundled_examples(), ids=lambda e: e.where)
def test_lesson_example_runs_as_shown(example: Example, tmp_path: Path) -> None:
    check(example, tmp_path)


LESSON = """\
---
title: Demo
---
Some prose.

```python run
print("Hello from an example")
```

```text output
Hello from an example
```

```python run request="GET /hi; GET /gone"
from flask import Flask

app = Flask(__name__)


@app.get("/hi")
def hi():
    return "Hi!"


@app.get("/gone")
def gone():
    return "Gone for good", 410
```

```text output
200 OK
Hi!

410 GONE
Gone for good
```

```python
print("a fragment: never run")
```

```python run
print("wrong")
```

```text output
right
```

```python run
raise SystemExit("boom")
```
"""


@pytest.fixture
def demo_examples(tmp_path: Path) -> list[Example]:
    lesson = tmp_path / "01-demo.md"
    lesson.write_text(LESSON, encoding="utf-8")
    return examples_in(lesson)


def test_runnable_fences_are_found_with_their_output_and_line(
    demo_examples: list[Example],
) -> None:
    assert [(e.line, e.requests, e.expected is not None) for e in demo_examples] == [
        (6, (), True),
        (14, ("GET /hi", "GET /gone"), True),
        (42, (), True),
        (50, (), False),
    ]


def test_a_printed_output_and_requests_are_checked(
    demo_examples: list[Example], tmp_path: Path
) -> None:
    for name, example in zip("ab", demo_examples[:2], strict=True):
        (tmp_path / name).mkdir()
        check(example, tmp_path / name)


def test_a_wrong_output_names_the_lesson_line(demo_examples: list[Example], tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"01-demo\.md:42: the output differs"):
        check(demo_examples[2], tmp_path)


def test_a_failing_example_names_the_lesson_line_and_shows_the_error(
    demo_examples: list[Example], tmp_path: Path
) -> None:
    with pytest.raises(AssertionError, match=r"(?s)01-demo\.md:50: the example failed.*boom"):
        check(demo_examples[3], tmp_path)
