"""The loader: course discovery, order, slugs, front matter and diagnostics positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.content.diagnostics import Severity
from app.content.loader import lesson_slug, load_catalog
from tests.conftest import SAMPLE_COURSE, WriteContent

# Warnings about what a complete lesson has; tested in test_quiz_diagnostics, filtered here
# so that these tests read as the one problem each is about.
COMPLETENESS = frozenset({"missing-summary", "few-objectives", "no-knowledge-check"})


def relevant(catalog) -> tuple:
    return tuple(d for d in catalog.diagnostics if d.code not in COMPLETENESS)


def codes(catalog) -> list[tuple[str, int, int, str]]:
    return [(Path(d.path).name, d.line, d.col, d.code) for d in relevant(catalog)]


@pytest.mark.parametrize(
    ("file_name", "slug"),
    [
        ("03-wsgi.md", "wsgi"),
        ("intro.md", "intro"),
        ("10-what-micro-means.md", "what-micro-means"),
        ("2024-notes.md", "notes"),
        ("01-02-double.md", "02-double"),
    ],
)
def test_slug_drops_the_numeric_prefix_once(file_name: str, slug: str) -> None:
    assert lesson_slug(file_name) == slug


def test_sample_course_loads_with_metadata(sample_content: Path) -> None:
    catalog = load_catalog(sample_content)
    assert relevant(catalog) == ()
    course = catalog.course("demo")
    assert course is not None
    assert (course.title, course.summary, course.level) == (
        "Demo Course",
        "A course used by the tests.",
        "beginner",
    )
    assert [lesson.slug for lesson in course.lessons] == ["first", "second", "third"]
    first = course.lessons[0]
    assert first.title == "First lesson"
    assert first.summary == "The first one."
    assert first.objectives_html[0] == "Use <code>code</code> in an objective"
    assert first.tags == ("one",)
    assert course.minutes == sum(lesson.minutes for lesson in course.lessons)


def test_default_order_compares_prefixes_as_integers(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\n",
            "c/10-ten.md": "# Ten\n",
            "c/2-two.md": "# Two\n",
            "c/01-one.md": "# One\n",
            "c/appendix.md": "# Appendix\n",
            "c/README.md": "# Not a lesson\n",
            "c/_draft.md": "# Not a lesson either\n",
        }
    )
    course = load_catalog(root).course("c")
    assert [lesson.slug for lesson in course.lessons] == ["one", "two", "ten", "appendix"]


def test_lessons_list_sets_the_order(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\nlessons:\n  - two\n  - one\n",
            "c/01-one.md": "# One\n",
            "c/02-two.md": "# Two\n",
        }
    )
    catalog = load_catalog(root)
    assert [lesson.slug for lesson in catalog.course("c").lessons] == ["two", "one"]
    assert relevant(catalog) == ()


def test_unknown_entry_in_lessons_is_an_error_at_its_position(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\nlessons:\n  - one\n  - ghost\n",
            "c/01-one.md": "# One\n",
            "c/02-two.md": "# Two\n",
        }
    )
    catalog = load_catalog(root)
    course = catalog.course("c")
    # the broken entry does not take the course down; the unlisted lesson comes last
    assert [lesson.slug for lesson in course.lessons] == ["one", "two"]
    assert codes(catalog) == [
        ("course.yml", 2, 1, "lesson-not-listed"),
        ("course.yml", 4, 5, "unknown-lesson"),
    ]
    severities = {d.code: d.severity for d in relevant(catalog)}
    assert severities == {"unknown-lesson": Severity.ERROR, "lesson-not-listed": Severity.WARNING}


def test_duplicate_slugs_are_an_error_and_the_first_file_wins(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\n",
            "c/01-intro.md": "# Intro one\n",
            "c/intro.md": "# Intro two\n",
        }
    )
    catalog = load_catalog(root)
    course = catalog.course("c")
    assert [(lesson.slug, lesson.title) for lesson in course.lessons] == [("intro", "Intro one")]
    assert codes(catalog) == [("intro.md", 1, 1, "duplicate-slug")]
    assert catalog.errors[0].severity is Severity.ERROR


def test_unknown_front_matter_keys_are_warnings_at_the_key(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\n",
            "c/01-a.md": "---\ntitle: A\nauthor: Someone\nminutes: soon\n---\nText.\n",
        }
    )
    catalog = load_catalog(root)
    lesson = catalog.course("c").lessons[0]
    assert lesson.title == "A"
    assert codes(catalog) == [("01-a.md", 3, 1, "unknown-key"), ("01-a.md", 4, 10, "invalid-field")]
    assert all(d.severity is Severity.WARNING for d in relevant(catalog))


def test_minutes_in_front_matter_override_the_estimate(write_content: WriteContent) -> None:
    root = write_content(
        {"c/course.yml": "title: C\n", "c/01-a.md": "---\nminutes: 42\n---\n# A\n"}
    )
    assert load_catalog(root).course("c").lessons[0].minutes == 42


def test_lesson_without_front_matter_takes_its_first_heading(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\n",
            "c/01-a.md": "Some intro.\n\n### Deep heading first\n\nText.\n",
            "c/02-b.md": "# Leading title\n\n## Section\n",
        }
    )
    course = load_catalog(root).course("c")
    first, second = course.lessons
    assert first.title == "Deep heading first"
    assert second.title == "Leading title"
    # the leading h1 becomes the page title instead of appearing twice
    assert "Leading title" not in second.html
    assert [entry.title for entry in second.toc] == ["Section"]


def test_invalid_yaml_front_matter_breaks_only_that_lesson(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\n",
            "c/01-good.md": "# Good\n",
            "c/02-bad.md": '---\ntitle: "unclosed\nsummary: x\n---\nBody\n',
        }
    )
    catalog = load_catalog(root)
    course = catalog.course("c")
    assert [lesson.slug for lesson in course.lessons] == ["good"]
    assert [broken.slug for broken in course.broken] == ["bad"]
    (diagnostic,) = relevant(catalog)
    assert diagnostic.code == "yaml-syntax"
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.path.endswith("c/02-bad.md")
    # line/col count from the first line of the file, front matter included
    assert (diagnostic.line, diagnostic.col) == (4, 1)
    assert str(diagnostic).startswith(f"{diagnostic.path}:4:1: error: invalid YAML")


def test_yaml_error_position_in_the_middle_of_front_matter(write_content: WriteContent) -> None:
    text = '---\ntitle: A\nsummary: "Micro" means small\n---\nBody\n'
    root = write_content({"c/course.yml": "title: C\n", "c/01-a.md": text})
    (diagnostic,) = relevant(load_catalog(root))
    assert (diagnostic.line, diagnostic.col, diagnostic.code) == (3, 18, "yaml-syntax")


def test_front_matter_must_be_a_mapping(write_content: WriteContent) -> None:
    root = write_content({"c/course.yml": "title: C\n", "c/01-a.md": "---\n- a\n- b\n---\nBody\n"})
    catalog = load_catalog(root)
    assert codes(catalog) == [("01-a.md", 2, 1, "yaml-not-mapping")]
    assert catalog.course("c").lessons == ()


def test_unclosed_front_matter_is_an_error(write_content: WriteContent) -> None:
    root = write_content({"c/course.yml": "title: C\n", "c/01-a.md": "---\ntitle: A\n\nBody\n"})
    assert codes(load_catalog(root)) == [("01-a.md", 1, 1, "front-matter-unclosed")]


def test_invalid_utf8_is_reported_at_the_byte(write_content: WriteContent) -> None:
    root = write_content(
        {
            "c/course.yml": "title: C\n",
            "c/01-ok.md": "# OK\n",
            "c/02-latin1.md": b"# Caf" + b"\xe9 au lait\n\nText\n",
        }
    )
    catalog = load_catalog(root)
    assert codes(catalog) == [("02-latin1.md", 1, 6, "invalid-utf8")]
    assert [lesson.slug for lesson in catalog.course("c").lessons] == ["ok"]


def test_invisible_characters_are_removed_with_a_warning(write_content: WriteContent) -> None:
    source = "# T\n\n```python\nimport y\bose\n```\n\nA \u202eB\n"
    root = write_content({"c/course.yml": "title: C\n", "c/01-a.md": source})
    catalog = load_catalog(root)
    lesson = catalog.course("c").lessons[0]
    assert "\b" not in lesson.html and "\u202e" not in lesson.html
    assert codes(catalog) == [
        ("01-a.md", 4, 9, "invisible-character"),
        ("01-a.md", 7, 3, "invisible-character"),
    ]


def test_oversized_file_is_rejected(write_content: WriteContent) -> None:
    root = write_content({"c/course.yml": "title: C\n", "c/01-a.md": "word " * 300_000})
    catalog = load_catalog(root)
    assert codes(catalog) == [("01-a.md", 1, 1, "file-too-large")]


def test_broken_course_yml_hides_only_that_course(write_content: WriteContent) -> None:
    root = write_content(
        {
            "good/course.yml": "title: Good\n",
            "good/01-a.md": "# A\n",
            "bad/course.yml": "title: [unclosed\n",
            "bad/01-a.md": "# A\n",
        }
    )
    catalog = load_catalog(root)
    assert [course.slug for course in catalog.courses] == ["good"]
    assert [(Path(d.path).parent.name, d.code) for d in relevant(catalog)] == [
        ("bad", "yaml-syntax")
    ]


def test_course_yml_unknown_keys_and_levels_are_warnings(write_content: WriteContent) -> None:
    root = write_content({"c/course.yml": "title: C\nlevel: expert\nowner: me\n"})
    catalog = load_catalog(root)
    assert codes(catalog) == [
        ("course.yml", 2, 8, "unknown-level"),
        ("course.yml", 3, 1, "unknown-key"),
    ]
    assert catalog.course("c").level == "expert"


def test_folder_without_course_yml_is_skipped_with_a_warning(write_content: WriteContent) -> None:
    root = write_content({"notes/01-a.md": "# A\n", "_drafts/course.yml": "title: Draft\n"})
    catalog = load_catalog(root)
    assert catalog.courses == ()
    assert [(Path(d.path).name, d.code) for d in relevant(catalog)] == [
        ("notes", "course-file-missing")
    ]


def test_missing_content_directory_gives_an_empty_catalog(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path / "nowhere")
    assert catalog.courses == ()
    assert [d.code for d in relevant(catalog)] == ["content-missing"]


def test_broken_links_and_anchors_are_warnings_with_positions(write_content: WriteContent) -> None:
    files = dict(SAMPLE_COURSE)
    files["demo/02-second.md"] = (
        "## Details\n\nSee [gone](09-gone.md) and [bad anchor](01-first.md#nope).\n"
        "Also [here](#missing) and ![pic](images/none.png) and [code](../../app/config.py).\n"
    )
    catalog = load_catalog(write_content(files))
    assert codes(catalog) == [
        ("02-second.md", 3, 12, "broken-link"),
        ("02-second.md", 3, 41, "broken-anchor"),
        ("02-second.md", 4, 13, "broken-anchor"),
        ("02-second.md", 4, 34, "missing-image"),
        ("02-second.md", 4, 62, "path-outside-course"),
    ]
    assert all(d.severity is Severity.WARNING for d in relevant(catalog))
    # the lesson still serves
    assert catalog.course("demo").lesson("second") is not None


def test_diagnostic_text_form(write_content: WriteContent) -> None:
    root = write_content({"c/course.yml": "title: C\n", "c/01-a.md": "---\nfoo: 1\n---\n# A\n"})
    (diagnostic,) = relevant(load_catalog(root))
    assert str(diagnostic) == (
        f"{diagnostic.path}:2:1: warning: unknown key 'foo' in front matter is ignored "
        "(known keys: title, summary, objectives, minutes, tags) [unknown-key]"
    )
