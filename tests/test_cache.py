"""Markdown is rendered once per content version: in memory, on disk, and on edits."""

from __future__ import annotations

import os
from pathlib import Path

from app.content.cache import RenderCache
from app.content.loader import load_catalog
from app.content.store import ContentStore
from tests.conftest import MakeApp


def lesson_html(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_second_start_renders_nothing(
    make_app: MakeApp, sample_content: Path, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    first = make_app(sample_content, instance=instance)
    lesson_html(first.test_client(), "/courses/demo/first/")
    stats = first.extensions["content"].catalog().stats
    assert stats.rendered == 4 and stats.from_disk == 0  # 3 lessons + the course description
    assert len(list((instance / "render-cache").glob("*.json"))) == 4

    second = make_app(sample_content, instance=instance)
    html = lesson_html(second.test_client(), "/courses/demo/first/")
    stats = second.extensions["content"].catalog().stats
    assert (stats.rendered, stats.from_disk) == (0, 4)
    assert "Intro paragraph." in html


def test_requests_never_render(make_app: MakeApp, sample_content: Path) -> None:
    app = make_app(sample_content)
    client = app.test_client()
    for _ in range(3):
        lesson_html(client, "/courses/demo/second/")
    store = app.extensions["content"]
    catalog = store.catalog()
    assert catalog.stats.rendered == 4
    assert store.catalog() is catalog  # the same object serves every request


def test_changed_file_gets_a_new_entry_and_others_are_reused(
    sample_content: Path, tmp_path: Path
) -> None:
    store = ContentStore(sample_content, tmp_path / "cache", auto_reload=True)
    assert store.catalog().stats.rendered == 4
    lesson = sample_content / "demo" / "03-third.md"
    lesson.write_text("# Third, revised\n\nNew text.\n", encoding="utf-8")
    again = store.catalog()
    assert (again.stats.rendered, again.stats.from_memory) == (1, 3)
    assert again.course("demo").lesson("third").title == "Third, revised"
    # the stale entry is pruned from memory and disk
    assert len(store.cache.memory) == 4
    assert len(list((tmp_path / "cache").glob("*.json"))) == 4


def test_content_check_never_prunes_the_served_cache(
    make_app: MakeApp, sample_content: Path, tmp_path: Path
) -> None:
    app = make_app(sample_content)
    app.test_client().get("/")
    cache_dir = Path(app.instance_path) / "render-cache"
    before = sorted(cache_dir.glob("*.json"))
    assert len(before) == 4
    other_content = tmp_path / "other-content" / "other"
    other_content.mkdir(parents=True)
    (other_content / "course.yml").write_text("title: Other\n", encoding="utf-8")
    (other_content / "01-a.md").write_text("# A\n", encoding="utf-8")
    other = make_app(other_content.parent)
    assert other.test_cli_runner().invoke(args=["content", "check"]).exit_code == 0
    assert set(before) <= set(cache_dir.glob("*.json"))


def test_unreadable_cache_entry_is_rebuilt(sample_content: Path, tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    load_catalog(sample_content, RenderCache(directory))
    for entry in directory.glob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    catalog = load_catalog(sample_content, RenderCache(directory))
    assert catalog.stats.rendered == 4
    assert catalog.course("demo").lesson("first").title == "First lesson"


def test_cache_writes_are_atomic_files(sample_content: Path, tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    load_catalog(sample_content, RenderCache(directory))
    names = [path.name for path in directory.iterdir()]
    assert names and all(name.endswith(".json") and not name.startswith(".") for name in names)


def test_debug_mode_rerenders_an_edited_lesson_on_the_next_request(
    make_app: MakeApp, sample_content: Path
) -> None:
    app = make_app(sample_content, DEBUG=True)
    client = app.test_client()
    assert "Intro paragraph." in lesson_html(client, "/courses/demo/first/")
    path = sample_content / "demo" / "01-first.md"
    path.write_text(path.read_text().replace("Intro paragraph.", "Edited intro."), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert "Edited intro." in lesson_html(client, "/courses/demo/first/")
    assert app.extensions["content"].catalog().stats.rendered == 1


def test_without_debug_edits_wait_for_a_restart(make_app: MakeApp, sample_content: Path) -> None:
    app = make_app(sample_content)
    client = app.test_client()
    lesson_html(client, "/courses/demo/first/")
    path = sample_content / "demo" / "01-first.md"
    path.write_text(path.read_text().replace("Intro paragraph.", "Edited intro."), encoding="utf-8")
    assert "Intro paragraph." in lesson_html(client, "/courses/demo/first/")
