"""Code blocks: fence info strings, server-side Pygments highlighting, and its CSS."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import escape
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import _TokenType
from pygments.util import ClassNotFound

# A language name is a plain word; anything else (quotes, angle brackets) is not trusted.
LANG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+#.-]{0,39}")
FIRST_WORD_RE = re.compile(r"[^\s,{]*")
ATTR_RE = re.compile(r"""([A-Za-z][\w-]*)=(?:"([^"]*)"|'([^']*)'|([^\s,}]+))""")

# Past this size a block is shown escaped but without colours: highlighting costs lexer
# time that grows with the text (seconds for a block near the 1 MiB file limit).
MAX_HIGHLIGHT_CHARS = 100_000

LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"

# Friendlier labels than some Pygments lexer names.
LABELS: Mapping[str, str] = {
    "bash": "Shell",
    "sh": "Shell",
    "shell": "Shell",
    "zsh": "Shell",
    "console": "Terminal",
    "shell-session": "Terminal",
    "text": "Text",
    "plain": "Text",
    "txt": "Text",
    "html+jinja": "Jinja template",
    "jinja": "Jinja template",
    "jinja2": "Jinja template",
    "yml": "YAML",
}


@dataclass(frozen=True)
class FenceInfo:
    """A fence info string split into language, flags and ``key=value`` attributes."""

    lang: str = ""
    flags: tuple[str, ...] = ()
    attrs: Mapping[str, str] = field(default_factory=dict)

    @property
    def requests(self) -> tuple[str, ...]:
        """``request="GET /a; POST /b"`` of a runnable example: the requests it is sent."""
        return tuple(r.strip() for r in self.attrs.get("request", "").split(";") if r.strip())


def parse_info(info: str) -> FenceInfo:
    """``python title="app.py"``, ``rust,ignore``, ``text output`` → language plus the rest."""
    info = info.strip()
    first = FIRST_WORD_RE.match(info)
    word = first.group(0) if first else ""
    lang = word.lower() if LANG_RE.fullmatch(word) else ""
    rest = info[len(word) :]
    attrs = {
        m.group(1): next(g for g in m.groups()[1:] if g is not None) for m in ATTR_RE.finditer(rest)
    }
    flags = tuple(w for w in re.split(r"[\s,{}]+", ATTR_RE.sub(" ", rest)) if w)
    return FenceInfo(lang, flags, attrs)


@lru_cache(maxsize=128)
def lexer_for(lang: str) -> Lexer | None:
    if not lang:
        return None
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def label_for(fence: FenceInfo) -> str:
    if "output" in fence.flags:
        return "Output"
    if "run" in fence.flags and fence.lang == "python":
        return "Python · tested example"  # the test suite runs it and checks its output
    if fence.lang in LABELS:
        return LABELS[fence.lang]
    lexer = lexer_for(fence.lang)
    if lexer is None:
        return fence.lang  # shown (escaped) so the reader still knows what it is
    return lexer.name


_FORMATTER = HtmlFormatter(nowrap=True)
# Declarations that show on whitespace too: a space in such a token keeps its span.
_BOX_PROPERTIES = ("background", "border", "text-decoration")


def _rules(style: str) -> dict[str, set[str]]:
    """Token class → its CSS declarations in ``style`` ("" is the code block itself)."""
    defs = HtmlFormatter(style=style).class2style
    return {
        name: {d.strip() for d in decls.split(";") if d.strip()}
        for name, (decls, *_) in defs.items()
    }


@lru_cache(maxsize=1)
def _class_looks() -> tuple[frozenset[str], frozenset[str]]:
    """Token classes that change how text looks in the light or dark colours, and those of
    them that also show on whitespace. A class whose rule repeats the code block's own
    colour (or that has no rule) adds nothing, so its span is left out."""
    styled, boxed = set(), set()
    for rules in (_rules(LIGHT_STYLE), _rules(DARK_STYLE)):
        base = rules.get("", set())
        for name, decls in rules.items():
            if name and decls - base:
                styled.add(name)
            if name and any(d.startswith(_BOX_PROPERTIES) for d in decls):
                boxed.add(name)
    return frozenset(styled), frozenset(boxed)


@lru_cache(maxsize=512)
def _token_class(ttype: _TokenType) -> tuple[str, bool]:
    """The classes a token's span needs ("" for none) and whether they show on whitespace."""
    styled, boxed = _class_looks()
    names = [name for name in _FORMATTER._get_css_classes(ttype).split() if name in styled]
    return " ".join(names), any(name in boxed for name in names)


def highlight_html(code: str, lexer: Lexer) -> str:
    """Pygments' tokens as escaped text and ``<span class>``: only the classes the colours
    use, whitespace in the neighbouring span or none, adjacent same-class tokens merged."""
    runs: list[list[str]] = []  # [class, text], class "" for plain text
    pending = ""  # whitespace that looks the same in or out of a span
    for ttype, value in lexer.get_tokens(code):
        name, boxed = _token_class(ttype)
        if not boxed and (not value or value.isspace()):
            pending += value
            continue
        if runs and runs[-1][0] == name and not boxed:
            runs[-1][1] += pending + value
        elif pending and runs and not runs[-1][0]:
            runs[-1][1] += pending
            runs.append([name, value])
        else:
            if pending and name:
                runs.append(["", pending])
                pending = ""
            runs.append([name, pending + value])
        pending = ""
    if pending:
        runs.append(["", pending])
    # Text inside <pre>: only &, < and > need escaping, quotes stay as they are.
    return "".join(
        f'<span class="{name}">{html.escape(text, quote=False)}</span>'
        if name
        else html.escape(text, quote=False)
        for name, text in runs
    )


def render_code_block(code: str, fence: FenceInfo) -> str:
    """HTML for one code block: caption (language, title), then a focusable ``<pre>``."""
    lexer = lexer_for(fence.lang) if len(code) <= MAX_HIGHLIGHT_CHARS else None
    body = highlight_html(code, lexer) if lexer else str(escape(code))
    label = label_for(fence) if fence.lang or fence.flags else ""
    title = fence.attrs.get("title", "")
    code_class = f' class="language-{fence.lang}"' if lexer else ""
    pre = f'<pre class="highlight" tabindex="0"><code{code_class}>{body}</code></pre>'
    if not (label or title):
        return f'<div class="code-block">{pre}</div>\n'
    caption = ""
    if label:
        caption += f'<span class="code-lang">{escape(label)}</span>'
    if title:
        caption += f'<span class="code-title">{escape(title)}</span>'
    figcaption = f'<figcaption class="code-caption">{caption}</figcaption>'
    return f'<figure class="code-block">{figcaption}{pre}{_requests_note(fence)}</figure>\n'


def _requests_note(fence: FenceInfo) -> str:
    """For a runnable app: the requests the test client sends it, in order."""
    if "run" not in fence.flags or not fence.requests:
        return ""
    sent = ", then ".join(f"<code>{escape(r)}</code>" for r in fence.requests)
    return f'<p class="code-requests">Requests sent by the test client: {sent}</p>'


def pygments_css() -> str:
    """Token colours: light by default, dark under ``prefers-color-scheme``, light in print."""
    light = _used_rules(HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".highlight"))
    dark = _used_rules(HtmlFormatter(style=DARK_STYLE).get_style_defs(".highlight"))
    dark_indented = "\n".join("  " + line for line in dark.splitlines())
    return (
        "/* Generated by `flask assets build` from Pygments styles "
        f"{LIGHT_STYLE!r} (light) and {DARK_STYLE!r} (dark). Do not edit. */\n"
        f"{light}\n"
        f"@media screen and (prefers-color-scheme: dark) {{\n{dark_indented}\n}}\n"
    )


_RULE_RE = re.compile(r"\.highlight(?: \.(\S+))? \{")


def _used_rules(css: str) -> str:
    """The code block's own rule and those of the token classes spans can have: no line
    numbers or highlighted lines (never rendered), no classes that change nothing."""
    styled, _ = _class_looks()
    kept = []
    for line in css.splitlines():
        rule = _RULE_RE.match(line)
        if rule and (rule.group(1) is None or rule.group(1) in styled):
            kept.append(line)
    return "\n".join(kept)
