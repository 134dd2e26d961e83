"""``flask content ...``: check and build the course tree from the command line."""

from __future__ import annotations

import json
from dataclasses import asdict

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
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: path:line:col lines and a summary; json: only a JSON array on stdout.",
)
@with_appcontext
def check(strict: bool, output_format: str) -> None:
    """Validate the whole content tree; exit 1 on errors (with --strict, on warnings too).

    Uses the same validator as the site, so what passes here serves as checked.
    """
    store = content_store()
    catalog = load_catalog(store.content_dir, store.cache, store.registry)  # printed below
    errors, warnings = len(catalog.errors), len(catalog.warnings)
    if output_format == "json":
        rows = [asdict(d) | {"severity": str(d.severity)} for d in catalog.diagnostics]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for diagnostic in catalog.diagnostics:
            click.echo(str(diagnostic))
        lessons = sum(len(course.lessons) for course in catalog.courses)
        questions = sum(
            len(lesson.questions) for course in catalog.courses for lesson in course.lessons
        )
        click.echo(
            f"{len(catalog.courses)} course(s), {lessons} lesson(s), {questions} question(s): "
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
