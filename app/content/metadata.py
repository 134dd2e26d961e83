"""YAML metadata with positions: lesson front matter and ``course.yml``.

PyYAML's composed node tree keeps a mark for every key and value, so each problem is
reported at the exact line and column of the file, front matter included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.content.diagnostics import Problem, error, warning

# Field kinds: what a value must look like, in words for the diagnostic.
KIND_TEXT = "a text"
KIND_TEXT_LIST = "a list of texts"
KIND_POSITIVE_INT = "a whole number greater than 0"

LESSON_FIELDS: Mapping[str, str] = {
    "title": KIND_TEXT,
    "summary": KIND_TEXT,
    "objectives": KIND_TEXT_LIST,
    "minutes": KIND_POSITIVE_INT,
    "tags": KIND_TEXT_LIST,
}
COURSE_FIELDS: Mapping[str, str] = {
    "title": KIND_TEXT,
    "summary": KIND_TEXT,
    "description": KIND_TEXT,
    "level": KIND_TEXT,
    "lessons": KIND_TEXT_LIST,
}


@dataclass
class YamlDoc:
    """A parsed YAML mapping plus where each key and value sits in the file."""

    data: dict[str, Any] = field(default_factory=dict)
    key_pos: dict[str, tuple[int, int]] = field(default_factory=dict)
    value_nodes: dict[str, yaml.Node] = field(default_factory=dict)
    first_line: int = 1

    def pos(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + self.first_line, node.start_mark.column + 1


@dataclass(frozen=True)
class FrontMatterSplit:
    yaml_text: str | None
    body: str
    body_offset: int  # lines of the file before the body starts


def split_front_matter(text: str) -> tuple[FrontMatterSplit | None, list[Problem]]:
    """Separate a leading ``---`` ... ``---`` block from the markdown body."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return FrontMatterSplit(None, text, 0), []
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            body = "\n".join(lines[index + 1 :])
            return FrontMatterSplit("\n".join(lines[1:index]) + "\n", body, index + 1), []
    problem = error(
        1, 1, "front-matter-unclosed", "front matter opened by '---' on line 1 is never closed"
    )
    return None, [problem]


def parse_mapping(text: str, first_line: int, what: str) -> tuple[YamlDoc | None, list[Problem]]:
    """Parse ``text`` (which starts at file line ``first_line``) as a YAML mapping."""
    doc = YamlDoc(first_line=first_line)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return doc, []
        if not isinstance(node, yaml.MappingNode):
            line, col = doc.pos(node)
            return None, [error(line, col, "yaml-not-mapping", f"{what} must be a mapping")]
        data = yaml.SafeLoader(text).construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else first_line
        col = mark.column + 1 if mark else 1
        reason = exc.problem or exc.context or "syntax error"
        return None, [error(line, col, "yaml-syntax", f"invalid YAML in {what}: {reason}")]

    problems: list[Problem] = []
    for key_node, value_node in node.value:
        key = str(key_node.value)
        line, col = doc.pos(key_node)
        if key in doc.key_pos:
            problems.append(warning(line, col, "duplicate-key", f"{key!r} is given twice"))
        doc.key_pos[key] = (line, col)
        doc.value_nodes[key] = value_node
    doc.data = {str(key): value for key, value in data.items()}
    return doc, problems


def check_fields(
    doc: YamlDoc, schema: Mapping[str, str], what: str
) -> tuple[dict[str, Any], list[Problem]]:
    """Keep the known, well-typed fields; warn about the rest (which are ignored)."""
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in doc.data.items():
        line, col = doc.key_pos[key]
        kind = schema.get(key)
        if kind is None:
            known = ", ".join(schema)
            message = f"unknown key {key!r} in {what} is ignored (known keys: {known})"
            problems.append(warning(line, col, "unknown-key", message))
            continue
        converted = _convert(value, kind)
        if converted is None:
            vline, vcol = doc.pos(doc.value_nodes[key])
            message = f"{key!r} must be {kind}; the value is ignored"
            problems.append(warning(vline, vcol, "invalid-field", message))
            continue
        clean[key] = converted
    return clean, problems


def _convert(value: Any, kind: str) -> Any:
    if kind == KIND_TEXT:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        text = str(value).strip()
        return text or None
    if kind == KIND_TEXT_LIST:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return None
        items = [str(item).strip() for item in value if isinstance(item, str | int | float)]
        if len(items) != len(value) or not all(items):
            return None
        return tuple(items)
    if kind == KIND_POSITIVE_INT:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return None
        return value
    raise ValueError(f"unknown field kind {kind!r}")
