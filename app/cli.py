"""``flask content ...``: check and build the course tree from the command line."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from app.content.loader import load_catalog
from app.lessons.store import content_store


def init_app(app: Flask) -> None:
    app.cli.add_command(content_cli)


@click.group("content")
def content_cli() -> None:
    """Check and build the course content."""


@content_cli.command("check")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@with_appcontext
def check(strict: bool) -> None:
    """Print every content problem as path:line:col; exit 1 on errors.

    With --strict, warnings fail the check too (for CI).
    """
    store = content_store()
    catalog = load_catalog(store.content_dir, store.cache)  # not logged: printed below
    for diagnostic in catalog.diagnostics:
        click.echo(str(diagnostic))
    lessons = sum(len(course.lessons) for course in catalog.courses)
    errors, warnings = len(catalog.errors), len(catalog.warnings)
    click.echo(
        f"{len(catalog.courses)} course(s), {lessons} lesson(s): "
        f"{errors} error(s), {warnings} warning(s)"
    )
    if errors or (strict and warnings):
        raise SystemExit(1)


@content_cli.command("build")
@with_appcontext
def build() -> None:
    """Render every lesson into the cache in instance/ so that servers start warm."""
    catalog = content_store().catalog()
    stats = catalog.stats
    lessons = sum(len(course.lessons) for course in catalog.courses)
    click.echo(
        f"{len(catalog.courses)} course(s), {lessons} lesson(s) ready "
        f"({stats.rendered} rendered, {stats.from_disk} from cache) "
        f"in {stats.milliseconds:.0f} ms; "
        f"{len(catalog.errors)} error(s), {len(catalog.warnings)} warning(s): "
        "run `flask content check` for details"
    )
