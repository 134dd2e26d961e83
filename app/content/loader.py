"""Read the course tree into a ``Catalog``; every problem becomes a ``Diagnostic``.

A broken file never takes the site down: it is reported and left out, the rest loads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from markupsafe import Markup

from app.content.cache import FROM_DISK, FROM_MEMORY, RENDERED, RenderCache, cache_key
from app.content.diagnostics import Diagnostic, Problem, Severity, error, warning
from app.content.markdown import (
    LinkContext,
    normalise_newlines,
    problem_row,
    render_inline,
    render_markdown,
)
from app.content.metadata import (
    COURSE_FIELDS,
    LESSON_FIELDS,
    check_fields,
    parse_mapping,
    split_front_matter,
)
from app.content.model import (
    BrokenLesson,
    BrokenQuestion,
    Catalog,
    Course,
    KnowledgeCheck,
    Lesson,
    LinkRef,
    LoadStats,
    TocEntry,
)
from app.content.reading import reading_minutes
from app.content.validation import check_links
from app.quiz_types import DEFAULT_REGISTRY, Registry
from app.quiz_types.spec import QuizSpec

log = logging.getLogger(__name__)

COURSE_FILE = "course.yml"
MAX_FILE_BYTES = 1024 * 1024
MIN_OBJECTIVES = 3
PREFIX_RE = re.compile(r"^(\d+)-")
SLUG_PATTERN = r"[A-Za-z0-9_-]+"
SLUG_RE = re.compile(SLUG_PATTERN)
LEVELS = ("beginner", "intermediate", "advanced")
# C0 controls other than tab/newline/CR, DEL, and bidi overrides (copy-paste hazards).
INVISIBLE_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def lesson_slug(file_name: str) -> str:
    """``03-wsgi.md`` → ``wsgi``; ``intro.md`` → ``intro``."""
    return PREFIX_RE.sub("", file_name.removesuffix(".md"), count=1)


def lesson_files(course_dir: Path) -> list[Path]:
    """Markdown files directly in the course folder, in default order.

    Default order: the numeric prefix compared as an integer (unprefixed files last),
    then the file name. ``README.md`` and ``_*.md`` are not lessons.
    """
    files = [
        path
        for path in course_dir.glob("*.md")
        if path.is_file() and path.name != "README.md" and not path.name.startswith("_")
    ]

    def order(path: Path) -> tuple[int, str]:
        match = PREFIX_RE.match(path.name)
        return (int(match.group(1)) if match else 10**9, path.name)

    return sorted(files, key=order)


def display_path(path: Path) -> str:
    """Relative to the working directory when below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


@dataclass
class _Load:
    """Mutable state of one load: diagnostics and cache statistics."""

    cache: RenderCache
    registry: Registry = field(default_factory=lambda: DEFAULT_REGISTRY)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {RENDERED: 0, FROM_MEMORY: 0, FROM_DISK: 0}
    )

    def report(self, path: Path, problems: list[Problem]) -> None:
        shown = display_path(path)
        self.diagnostics.extend(problem.at(shown) for problem in problems)

    def fetch(self, key: str, build: Any) -> dict[str, Any]:
        value, source = self.cache.fetch(key, build)
        self.counts[source] += 1
        return value


def load_catalog(
    content_dir: Path, cache: RenderCache | None = None, registry: Registry | None = None
) -> Catalog:
    """Load every course below ``content_dir``; quiz blocks are parsed by ``registry``."""
    started = time.perf_counter()
    state = _Load(cache or RenderCache(None), registry or DEFAULT_REGISTRY)
    courses: list[Course] = []
    if not content_dir.is_dir():
        problem = error(1, 1, "content-missing", "content directory does not exist")
        state.report(content_dir, [problem])
    else:
        for course_dir in sorted(p for p in content_dir.iterdir() if p.is_dir()):
            if course_dir.name.startswith((".", "_")):
                continue
            if not SLUG_RE.fullmatch(course_dir.name):
                message = "a course folder name may only use letters, digits, '-' and '_'"
                state.report(course_dir, [error(1, 1, "invalid-slug", message)])
                continue
            course = _load_course(course_dir, state)
            if course is not None:
                courses.append(course)
    stats = LoadStats(
        rendered=state.counts[RENDERED],
        from_memory=state.counts[FROM_MEMORY],
        from_disk=state.counts[FROM_DISK],
        milliseconds=(time.perf_counter() - started) * 1000,
    )
    return Catalog(tuple(courses), tuple(sorted(state.diagnostics)), stats)


def _load_course(course_dir: Path, state: _Load) -> Course | None:
    yml = course_dir / COURSE_FILE
    if not yml.is_file():
        message = f"folder {course_dir.name!r} has no {COURSE_FILE}, so it is not a course"
        state.report(course_dir, [warning(1, 1, "course-file-missing", message)])
        return None
    files = lesson_files(course_dir)
    slugs = {path.name: lesson_slug(path.name) for path in files}
    raw = yml.read_bytes()
    context = LinkContext(lesson_files=slugs, on_lesson_page=False)
    key = cache_key("course", _sha(raw), _context_fingerprint(context))
    meta = state.fetch(key, lambda: _build_course_meta(raw, course_dir.name, context))
    problems = [_problem(p) for p in meta["problems"]]
    if meta["broken"]:
        state.report(yml, problems)
        return None

    ordered, order_problems = _order(files, slugs, meta)
    state.report(yml, problems + order_problems)
    lessons: list[Lesson] = []
    broken: list[BrokenLesson] = []
    seen: dict[str, str] = {}
    links_by_file: dict[str, list[LinkRef]] = {}
    for path in ordered:
        slug = slugs[path.name]
        problem = None
        if slug in seen:
            message = f"slug {slug!r} is also the slug of {seen[slug]}; rename one file"
            problem = error(1, 1, "duplicate-slug", message)
        elif not SLUG_RE.fullmatch(slug):
            message = f"slug {slug!r} may only use letters, digits, '-' and '_'; rename the file"
            problem = error(1, 1, "invalid-slug", message)
        if problem is not None:
            state.report(path, [problem])
            broken.append(BrokenLesson(course_dir.name, slug, path.name, (state.diagnostics[-1],)))
            continue
        seen[slug] = path.name
        lesson, links = _load_lesson(path, course_dir.name, slug, slugs, state)
        if isinstance(lesson, BrokenLesson):
            broken.append(lesson)
        else:
            lessons.append(lesson)
            links_by_file[path.name] = links

    lessons = _drop_duplicate_ids(lessons, course_dir, state)
    broken_files = frozenset(lesson.file_name for lesson in broken)
    for lesson in lessons:
        links = links_by_file[lesson.file_name]
        problems = check_links(links, lesson, lessons, course_dir, broken_files)
        state.report(course_dir / lesson.file_name, problems)
    fields = meta["fields"]
    return Course(
        slug=course_dir.name,
        title=fields["title"],
        summary=fields.get("summary", ""),
        description_html=meta["description_html"],
        level=fields.get("level", ""),
        lessons=tuple(lessons),
        broken=tuple(broken),
        path=course_dir,
    )


def _drop_duplicate_ids(lessons: list[Lesson], course_dir: Path, state: _Load) -> list[Lesson]:
    """A question id is unique in its course; later duplicates are errors and left out."""
    first: dict[str, tuple[str, int]] = {}
    result: list[Lesson] = []
    for lesson in lessons:
        checks: list[KnowledgeCheck] = []
        for check in lesson.checks:
            items: list[QuizSpec | BrokenQuestion] = []
            for item in check.items:
                if item.id and item.id in first:
                    file_name, line = first[item.id]
                    where = (
                        f"line {line}" if file_name == lesson.file_name else f"{file_name}:{line}"
                    )
                    problem = error(
                        item.line,
                        item.id_col,
                        "duplicate-id",
                        f"duplicate id {item.id!r} (first at {where})",
                    )
                    state.report(course_dir / lesson.file_name, [problem])
                    diagnostic = state.diagnostics[-1]
                    if isinstance(item, QuizSpec):
                        item = BrokenQuestion(item.id, item.line, item.col, item.id_col, ())
                    item = replace(item, diagnostics=(*item.diagnostics, diagnostic))
                elif item.id:
                    first[item.id] = (lesson.file_name, item.line)
                items.append(item)
            checks.append(replace(check, items=tuple(items)))
        result.append(replace(lesson, checks=tuple(checks)))
    return result


def _order(
    files: list[Path], slugs: dict[str, str], meta: dict[str, Any]
) -> tuple[list[Path], list[Problem]]:
    """Apply ``lessons:`` from course.yml, if given, on top of the default order."""
    entries = meta["lesson_entries"]
    if entries is None:
        return files, []
    by_slug: dict[str, Path] = {}
    for path in files:
        by_slug.setdefault(slugs[path.name], path)
    problems: list[Problem] = []
    ordered: list[Path] = []
    for slug, line, col in entries:
        path = by_slug.get(slug)
        if path is None:
            message = f"lessons: {slug!r} names no lesson in this course"
            problems.append(error(line, col, "unknown-lesson", message))
        elif path in ordered:
            problems.append(
                warning(line, col, "duplicate-entry", f"lessons: {slug!r} is listed twice")
            )
        else:
            ordered.append(path)
    line, col = meta["lessons_key_pos"]
    for path in files:
        if path not in ordered:
            message = (
                f"lesson {slugs[path.name]!r} ({path.name}) is missing from lessons: and comes last"
            )
            problems.append(warning(line, col, "lesson-not-listed", message))
            ordered.append(path)
    return ordered, problems


def _load_lesson(
    path: Path, course: str, slug: str, slugs: dict[str, str], state: _Load
) -> tuple[Lesson | BrokenLesson, list[LinkRef]]:
    raw = path.read_bytes()
    context = LinkContext(lesson_files=slugs, self_file=path.name)
    content_hash = _sha(raw)
    key = cache_key(
        "lesson", slug, content_hash, _context_fingerprint(context), state.registry.fingerprint
    )
    data = state.fetch(key, lambda: build_lesson(raw, slug, context, state.registry))
    problems = [_problem(p) for p in data["problems"]]
    before = len(state.diagnostics)
    state.report(path, problems)
    if data["broken"]:
        return BrokenLesson(course, slug, path.name, tuple(state.diagnostics[before:])), []
    lesson = Lesson(
        course_slug=course,
        slug=slug,
        file_name=path.name,
        title=data["title"],
        summary=data["summary"],
        summary_html=data["summary_html"],
        objectives_html=tuple(data["objectives_html"]),
        tags=tuple(data["tags"]),
        minutes=data["minutes"],
        html=data["html"],
        toc=tuple(TocEntry(*entry) for entry in data["toc"]),
        heading_ids=tuple(data["heading_ids"]),
        words=data["words"],
        code_blocks=data["code_blocks"],
        content_hash=content_hash,
        checks=tuple(_check_from(index, check, path) for index, check in enumerate(data["checks"])),
    )
    return lesson, [LinkRef(*ref) for ref in data["links"]]


def _check_from(index: int, data: dict[str, Any], path: Path) -> KnowledgeCheck:
    items: list[QuizSpec | BrokenQuestion] = []
    shown = display_path(path)
    for item in data["items"]:
        if "spec" in item:
            items.append(QuizSpec.from_dict(item["spec"]))
        else:
            broken = item["broken"]
            diagnostics = tuple(_problem(row).at(shown) for row in broken["problems"])
            items.append(
                BrokenQuestion(
                    broken["id"], broken["line"], broken["col"], broken["id_col"], diagnostics
                )
            )
    return KnowledgeCheck(index, data["section"], tuple(items))


# --- builders: pure functions from bytes to JSON-ready dicts (what the cache stores) -----


def build_lesson(
    raw: bytes, slug: str, context: LinkContext, registry: Registry | None = None
) -> dict[str, Any]:
    """Parse and render one lesson file; the result is cached keyed by its inputs."""
    result: dict[str, Any] = {"slug": slug, "content_hash": _sha(raw), "broken": True}
    text, problems = decode_source(raw)
    if text is None:
        return result | {"problems": _dump(problems)}
    split, split_problems = split_front_matter(text)
    problems += split_problems
    if split is None:
        return result | {"problems": _dump(problems)}
    fields: dict[str, Any] = {}
    objectives_pos = (1, 1)
    if split.yaml_text is not None:
        doc, yaml_problems = parse_mapping(split.yaml_text, 2, "front matter")
        problems += yaml_problems
        if doc is None:
            return result | {"problems": _dump(problems)}
        fields, field_problems = check_fields(doc, LESSON_FIELDS, "front matter")
        problems += field_problems
        objectives_pos = doc.key_pos.get("objectives", (1, 1))

    offset = split.body_offset
    rendered = render_markdown(split.body, context, registry, offset)
    problems += [problem.shifted(offset) for problem in rendered.problems]
    problems += _lesson_warnings(fields, objectives_pos, bool(rendered.checks))
    title = fields.get("title") or rendered.first_heading
    if not title:
        title = slug.replace("-", " ").capitalize()
        message = f"no title in front matter and no heading; using {title!r}"
        problems.append(warning(1, 1, "missing-title", message))
    minutes = fields.get("minutes") or reading_minutes(rendered.words, rendered.code_blocks)
    summary_html = render_inline(fields.get("summary", ""), context)
    return result | {
        "broken": False,
        "problems": _dump(problems),
        "title": title,
        "summary": Markup(summary_html).striptags(),  # noqa: S704 - plain text out, not markup
        "summary_html": summary_html,
        "objectives_html": [render_inline(item, context) for item in fields.get("objectives", ())],
        "tags": list(fields.get("tags", ())),
        "minutes": minutes,
        "html": rendered.html,
        "toc": [[e.id, e.title, e.level] for e in rendered.toc],
        "heading_ids": list(rendered.heading_ids),
        "words": rendered.words,
        "code_blocks": rendered.code_blocks,
        "links": [
            [ref.line + offset, ref.col, ref.kind, ref.target, ref.anchor] for ref in rendered.links
        ],
        "checks": [_shift_check(check, offset) for check in rendered.checks],
    }


def _shift_check(check: dict[str, Any], offset: int) -> dict[str, Any]:
    """Body-relative positions in a rendered check → file positions."""
    items: list[dict[str, Any]] = []
    for item in check["items"]:
        if "spec" in item:
            items.append({"spec": item["spec"] | {"line": item["spec"]["line"] + offset}})
        else:
            broken = item["broken"]
            rows = [[row[0] + offset, *row[1:]] for row in broken["problems"]]
            items.append({"broken": broken | {"line": broken["line"] + offset, "problems": rows}})
    return check | {"items": items}


def _lesson_warnings(
    fields: dict[str, Any], objectives_pos: tuple[int, int], has_check: bool
) -> list[Problem]:
    """What a complete lesson has: a summary, three objectives, a knowledge check."""
    problems: list[Problem] = []
    if not fields.get("summary"):
        problems.append(warning(1, 1, "missing-summary", "lesson without a summary"))
    objectives = len(fields.get("objectives", ()))
    if objectives < MIN_OBJECTIVES:
        message = f"lesson has {objectives} objectives; give at least {MIN_OBJECTIVES}"
        problems.append(warning(*objectives_pos, "few-objectives", message))
    if not has_check:
        problems.append(warning(1, 1, "no-knowledge-check", "lesson without a knowledge check"))
    return problems


def _build_course_meta(raw: bytes, slug: str, context: LinkContext) -> dict[str, Any]:
    result: dict[str, Any] = {"broken": True}
    text, problems = decode_source(raw)
    if text is None:
        return result | {"problems": _dump(problems)}
    doc, yaml_problems = parse_mapping(text, 1, COURSE_FILE)
    problems += yaml_problems
    if doc is None:
        return result | {"problems": _dump(problems)}
    fields, field_problems = check_fields(doc, COURSE_FIELDS, COURSE_FILE)
    problems += field_problems
    if "title" not in fields:
        fields["title"] = slug.replace("-", " ").title()
        message = f"course has no title; using {fields['title']!r}"
        problems.append(warning(1, 1, "missing-title", message))
    level = fields.get("level", "")
    if level and level.lower() not in LEVELS:
        line, col = doc.pos(doc.value_nodes["level"])
        message = f"level {level!r} is not one of {', '.join(LEVELS)}"
        problems.append(warning(line, col, "unknown-level", message))
    entries = None
    if "lessons" in fields:
        nodes = doc.value_nodes["lessons"].value
        entries = [
            [item, *doc.pos(node)] for item, node in zip(fields["lessons"], nodes, strict=True)
        ]
    description = fields.pop("description", "")
    return result | {
        "broken": False,
        "problems": _dump(problems),
        "fields": {k: v for k, v in fields.items() if k != "lessons"},
        "lesson_entries": entries,
        "lessons_key_pos": list(doc.key_pos.get("lessons", (1, 1))),
        "description_html": render_markdown(description, context).html if description else "",
    }


def decode_source(raw: bytes) -> tuple[str | None, list[Problem]]:
    """UTF-8 text with invisible control characters removed (each one reported)."""
    if len(raw) > MAX_FILE_BYTES:
        message = f"file is larger than {MAX_FILE_BYTES // 1024} KiB"
        return None, [error(1, 1, "file-too-large", message)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start : exc.start].decode("utf-8", "replace")) + 1
        message = f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        return None, [error(line, col, "invalid-utf8", message)]
    text = normalise_newlines(text.removeprefix("\ufeff"))
    problems: list[Problem] = []
    for number, line_text in enumerate(text.split("\n"), start=1):
        for match in INVISIBLE_RE.finditer(line_text):
            message = f"invisible character U+{ord(match.group()):04X} removed"
            problems.append(warning(number, match.start() + 1, "invisible-character", message))
    return INVISIBLE_RE.sub("", text), problems


def _sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _context_fingerprint(context: LinkContext) -> str:
    return json.dumps(
        [sorted(context.lesson_files.items()), context.self_file, context.on_lesson_page]
    )


def _dump(problems: list[Problem]) -> list[list[Any]]:
    return [problem_row(p) for p in problems]


def _problem(row: list[Any]) -> Problem:
    line, col, severity, code, message = row
    return Problem(line, col, Severity(severity), code, message)
