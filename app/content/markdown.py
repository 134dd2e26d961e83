"""The one markdown renderer: markdown-it-py configured on purpose for lessons.

Policy, pinned by tests:
- raw HTML is off: ``<script>`` and ``onerror=`` come out as text, ``javascript:`` links
  are not links (markdown-it's ``validateLink``);
- output obeys our CSP: no ``style=`` attributes (table alignment becomes a class);
- heading ids carry the ``h-`` prefix so they never clobber ids the page uses;
- fences with the ``quiz`` info string hold answer keys: they are parsed into questions
  (``app.quiz_types``) and leave only a marker in the HTML, where the page renders
  each knowledge check without its key;
- lesson markdown is never passed through Jinja.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import escape
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.anchors.index import slugify
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from app.content.diagnostics import Problem, warning
from app.content.highlight import LABELS, FenceInfo, lexer_for, parse_info, render_code_block
from app.content.model import LinkRef, TocEntry, check_marker
from app.quiz_types import DEFAULT_REGISTRY, Registry, parse_block, read_block

HEADING_PREFIX = "h-"
CALLOUT_KINDS = {"note": "Note", "tip": "Tip", "warning": "Warning"}
CALLOUT_RE = re.compile(r"([A-Za-z][\w-]*)(?:\s+(.*))?")
IMAGE_SIZE_RE = re.compile(r"\d{1,4}")
WORD_RE = re.compile(r"\w+(?:['’.-]\w+)*")
QUIZ_LANG = "quiz"


@dataclass(frozen=True)
class LinkContext:
    """Where the HTML will be shown, so relative links can be written relative to it.

    All URLs are relative (``../wsgi/``), which keeps them right under any mount point.
    """

    lesson_files: Mapping[str, str] = field(default_factory=dict)  # file name -> slug
    self_file: str = ""  # the lesson being rendered, empty for a course description
    on_lesson_page: bool = True

    def lesson_url(self, slug: str) -> str:
        return f"../{slug}/" if self.on_lesson_page else f"{slug}/"

    def asset_url(self, path: str) -> str:
        return f"../{path}" if self.on_lesson_page else path


@dataclass(frozen=True)
class Rendered:
    """What rendering one markdown body produced; ``line`` values count from the body."""

    html: str
    toc: tuple[TocEntry, ...]
    heading_ids: tuple[str, ...]
    first_heading: str
    words: int
    code_blocks: int
    links: tuple[LinkRef, ...]
    problems: tuple[Problem, ...] = ()
    # Knowledge checks, JSON-ready: {"section": id, "items": [{"spec": {...}} or
    # {"broken": {"id", "line", "col", "problems"}}]}; positions count from the body.
    checks: tuple[dict[str, Any], ...] = ()


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF, as markdown-it reads them, so line numbers agree."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def heading_id(anchor: str) -> str:
    """The id of a heading whose author-visible anchor is ``anchor`` (``wsgi`` → ``h-wsgi``)."""
    return HEADING_PREFIX + anchor


def _slug(title: str) -> str:
    return heading_id(slugify(title).strip("-") or "section")


def _inline_text(token: Token) -> str:
    return "".join(c.content for c in token.children or () if c.type in ("text", "code_inline"))


# --- core rules ---------------------------------------------------------------------------


def _extract_quizzes(state: StateCore) -> None:
    """Parse each ``quiz`` fence; a run of them becomes one knowledge-check marker."""
    env = state.env
    if env.get("in_quiz"):
        return  # a question's own fragments hold no questions
    result: list[Token] = []
    previous_was_quiz = False
    for token in state.tokens:
        if token.type != "fence" or parse_info(token.info).lang != QUIZ_LANG:
            result.append(token)
            previous_was_quiz = False
            continue
        if not previous_was_quiz:
            marker = Token("knowledge_check", "", 0)
            marker.map, marker.level = token.map, token.level
            marker.meta = {"index": len(env["checks"])}
            env["checks"].append({"section": "", "items": []})
            result.append(marker)
        env["checks"][-1]["items"].append(_quiz_item(token, env))
        previous_was_quiz = True
    state.tokens = result


def _quiz_item(token: Token, env: dict[str, Any]) -> dict[str, Any]:
    line = (token.map[0] if token.map else 0) + 1
    block = read_block(
        token.info, token.content, line, env["source_lines"], token.markup, env["line_offset"]
    )
    block.render_block = _fragment_renderer(env, inline=False)
    block.render_inline = _fragment_renderer(env, inline=True)
    spec = parse_block(block, env["quiz_registry"])
    env["problems"].extend(block.problems)
    if spec is not None and not block.has_errors:
        return {"spec": spec.to_dict()}
    located = block.attrs.get("id")
    return {
        "broken": {
            "id": located.text if located else "",
            "id_col": located.col if located else 0,
            "line": block.line,
            "col": block.col,
            "problems": [problem_row(p) for p in block.problems if p.severity == "error"],
        }
    }


def _fragment_renderer(env: dict[str, Any], *, inline: bool) -> Any:
    """Render a prompt, option or explanation with this renderer; keep its findings."""

    def render(text: str, line: int, col: int) -> str:
        sub = _new_env(text, env["link_context"], env["quiz_registry"])
        sub["in_quiz"] = True
        md = markdown_parser()
        html = md.renderInline(text, sub) if inline else md.render(text, sub)
        for ref in sub["links"]:
            env["links"].append(
                LinkRef(ref.line + line - 1, ref.col + col - 1, ref.kind, ref.target, ref.anchor)
            )
        for problem in sub["problems"]:
            env["problems"].append(
                Problem(
                    problem.line + line - 1,
                    problem.col + col - 1,
                    problem.severity,
                    problem.code,
                    problem.message,
                )
            )
        env["words"] += sub["words"]
        return html

    return render


def problem_row(problem: Problem) -> list[Any]:
    return [problem.line, problem.col, str(problem.severity), problem.code, problem.message]


def _take_leading_heading(state: StateCore) -> None:
    """The first heading (any level) is the fallback title; a leading h1 *is* the title.

    The page prints the title as its h1, so a body that opens with ``# Title`` loses that
    heading instead of showing the title twice.
    """
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            state.env["first_heading"] = _inline_text(tokens[index + 1]).strip()
            if index == 0 and token.tag == "h1":
                del tokens[0:3]
            return


def _collect(state: StateCore) -> None:
    """One pass after ids are assigned: TOC, words, code blocks, tables, links, images."""
    env = state.env
    ctx: LinkContext = env["link_context"]
    source_lines: list[str] = env["source_lines"]
    tokens = state.tokens
    section = ""
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            title = _inline_text(tokens[index + 1]).strip()
            hid = token.attrGet("id") or ""
            env["heading_ids"].append(hid)
            if token.tag in ("h2", "h3"):
                env["toc"].append(TocEntry(hid, title, int(token.tag[1])))
                section = hid
        elif token.type == "knowledge_check":
            env["checks"][token.meta["index"]]["section"] = section
        elif token.type in ("fence", "code_block"):
            env["code_blocks"] += 1
            if token.type == "fence":
                _check_language(token, source_lines, env["problems"])
        elif token.type in ("th_open", "td_open"):
            _alignment_to_class(token)
        elif token.type == "table_open":
            token.meta["label"] = _table_label(tokens, index)
        elif token.type == "inline":
            env["words"] += len(WORD_RE.findall(_inline_text(token)))
            _rewrite_urls(token, ctx, source_lines, env["links"])


def _check_language(token: Token, source_lines: list[str], problems: list[Problem]) -> None:
    lang = parse_info(token.info).lang
    if not lang or lang in LABELS or lang == QUIZ_LANG or lexer_for(lang) is not None:
        return
    line = (token.map[0] if token.map else 0) + 1
    source = source_lines[line - 1] if line - 1 < len(source_lines) else ""
    marker = max(source.find(token.markup), 0)
    col = source.lower().find(lang, marker + len(token.markup))
    col = col + 1 if col >= 0 else marker + len(token.markup) + 1
    message = f"unknown code language {lang!r}; the block is shown without highlighting"
    problems.append(warning(line, col, "unknown-language", message))


def _alignment_to_class(token: Token) -> None:
    style = str(token.attrs.pop("style", ""))
    if style.startswith("text-align:"):
        token.attrJoin("class", "align-" + style.removeprefix("text-align:"))


def _table_label(tokens: Sequence[Token], start: int) -> str:
    headers: list[str] = []
    for token in tokens[start + 1 :]:
        if token.type == "thead_close":
            break
        if token.type == "inline":
            headers.append(_inline_text(token).strip())
    named = [h for h in headers if h]
    return "Table: " + ", ".join(named) if named else "Table"


def _rewrite_urls(
    inline: Token, ctx: LinkContext, source_lines: list[str], links: list[LinkRef]
) -> None:
    start_line = inline.map[0] if inline.map else 0
    end_line = inline.map[1] if inline.map else start_line + 1
    cursor = (start_line, 0)
    for child in inline.children or ():
        if child.type == "link_open":
            attr = "href"
        elif child.type == "image":
            attr = "src"
            _keep_image_attrs(child)
        else:
            continue
        url = str(child.attrGet(attr) or "")
        new_url, ref = _resolve(url, ctx, is_image=attr == "src")
        child.attrSet(attr, new_url)
        if ref is not None:
            (line, col), cursor = _locate(url, source_lines, cursor, end_line)
            links.append(LinkRef(line, col, ref[0], ref[1], ref[2]))


def _keep_image_attrs(image: Token) -> None:
    """Images keep src/alt/title and numeric width/height; everything else is dropped."""
    kept: dict[str, str | int | float] = {}
    for name, value in image.attrs.items():
        if name in ("src", "alt", "title"):
            kept[name] = value
        elif name in ("width", "height") and IMAGE_SIZE_RE.fullmatch(str(value)):
            kept[name] = value
    kept["loading"] = "lazy"
    kept["decoding"] = "async"
    image.attrs = kept


def _resolve(
    url: str, ctx: LinkContext, *, is_image: bool
) -> tuple[str, tuple[str, str, str] | None]:
    """Rewrite a relative URL for the page; return the reference to check, if any."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("/"):
        return url, None
    path = unquote(parts.path)
    fragment = unquote(parts.fragment)
    if not path:
        if not fragment:
            return url, None
        return "#" + quote(heading_id(fragment)), ("anchor", "", fragment)
    target = posixpath.normpath(path)
    if target == ".." or target.startswith("../") or target.startswith("/"):
        return url, ("outside", target, "")
    if target.endswith(".md"):
        slug = ctx.lesson_files.get(target)
        if slug is None:
            return url, ("lesson", target, fragment)
        anchor = "#" + quote(heading_id(fragment)) if fragment else ""
        if target == ctx.self_file and anchor:
            return anchor, ("anchor", "", fragment)
        return ctx.lesson_url(slug) + anchor, ("lesson", target, fragment)
    kind = "image" if is_image else "asset"
    suffix = "#" + parts.fragment if parts.fragment else ""
    return ctx.asset_url(quote(target)) + suffix, (kind, target, "")


def _locate(
    url: str, lines: list[str], cursor: tuple[int, int], end_line: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """1-based (line, col) of ``url`` in the body source, searching forward from ``cursor``."""
    line_index, col_index = cursor
    while line_index < min(end_line, len(lines)):
        found = lines[line_index].find(url, col_index) if url else -1
        if found >= 0:
            return (line_index + 1, found + 1), (line_index, found + len(url))
        line_index, col_index = line_index + 1, 0
    return (cursor[0] + 1, 1), cursor


# --- render rules -------------------------------------------------------------------------


def _render_fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return render_code_block(tokens[idx].content, parse_info(tokens[idx].info))


def _render_knowledge_check(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    return check_marker(tokens[idx].meta["index"])


def _render_code_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return render_code_block(tokens[idx].content, FenceInfo())


def _render_heading_close(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    opening = tokens[idx - 2]
    hid = opening.attrGet("id")
    tag = tokens[idx].tag
    if hid and tag in ("h2", "h3"):
        title = escape(_inline_text(tokens[idx - 1]).strip())
        link = (
            f'<a class="heading-anchor" href="#{escape(hid)}" '
            f'aria-label="Link to section: {title}">#</a>'
        )
        return f" {link}</{tag}>\n"
    return f"</{tag}>\n"


def _render_table_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    label = escape(tokens[idx].meta.get("label", "Table"))
    return (
        f'<div class="table-wrap" tabindex="0" role="region" aria-label="{label}">'
        + self.renderToken(tokens, idx, options, env)
    )


def _render_table_close(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    return self.renderToken(tokens, idx, options, env) + "</div>\n"


def _render_callout(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.nesting != 1:
        return "</div>\n"
    match = CALLOUT_RE.match(token.info.strip())
    name = match.group(1).lower() if match else "note"
    title = (match.group(2) or "").strip() if match else ""
    kind = name if name in CALLOUT_KINDS else "generic"
    heading = title or CALLOUT_KINDS.get(name, name.replace("-", " ").capitalize())
    return (
        f'<div class="callout callout-{kind}" role="note">'
        f'<p class="callout-title">{escape(heading)}</p>\n'
    )


def _validate_callout(params: str, *args: Any) -> bool:
    return CALLOUT_RE.fullmatch(params.strip()) is not None


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    """The configured parser; built once per process (rendering keeps state in ``env``)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(tasklists_plugin, label=True)
    md.use(attrs_plugin, after=("image",), allowed=("width", "height"))
    md.use(container_plugin, "callout", validate=_validate_callout, render=_render_callout)
    md.core.ruler.after("block", "extract_quizzes", _extract_quizzes)
    md.core.ruler.push("leading_heading", _take_leading_heading)
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=_slug)
    md.core.ruler.push("collect", _collect)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_code_block)
    md.add_render_rule("knowledge_check", _render_knowledge_check)
    md.add_render_rule("heading_close", _render_heading_close)
    md.add_render_rule("table_open", _render_table_open)
    md.add_render_rule("table_close", _render_table_close)
    return md


def _new_env(
    body: str, ctx: LinkContext | None, registry: Registry | None = None
) -> dict[str, Any]:
    return {
        "link_context": ctx or LinkContext(),
        "quiz_registry": registry or DEFAULT_REGISTRY,
        "line_offset": 0,
        "problems": [],
        "checks": [],
        "source_lines": body.split("\n"),
        "toc": [],
        "heading_ids": [],
        "links": [],
        "words": 0,
        "code_blocks": 0,
        "first_heading": "",
    }


def render_markdown(
    body: str,
    ctx: LinkContext | None = None,
    registry: Registry | None = None,
    line_offset: int = 0,
) -> Rendered:
    """Render one markdown body (front matter already removed).

    Positions in the result count from the body; ``line_offset`` (the front matter's
    lines) is used only where a message names another line of the file.
    """
    body = normalise_newlines(body)
    env = _new_env(body, ctx, registry)
    env["line_offset"] = line_offset
    html = markdown_parser().render(body, env)
    return Rendered(
        html=html,
        toc=tuple(env["toc"]),
        heading_ids=tuple(env["heading_ids"]),
        first_heading=env["first_heading"],
        words=env["words"],
        code_blocks=env["code_blocks"],
        links=tuple(env["links"]),
        problems=tuple(env["problems"]),
        checks=tuple(env["checks"]),
    )


def render_inline(text: str, ctx: LinkContext | None = None) -> str:
    """Inline markdown (``code``, *emphasis*, links) for one-line fields like objectives."""
    return markdown_parser().renderInline(text, _new_env(text, ctx))
