"""The generated stylesheet and the colours in it."""

from __future__ import annotations

import re

import pytest
from pygments.styles import get_style_by_name
from pygments.token import Error, Whitespace

from app.assets import STYLE_OUTPUT, build_stylesheet
from app.content.highlight import DARK_STYLE, LIGHT_STYLE


def test_generated_stylesheet_is_up_to_date() -> None:
    """app/static/css/site.css must be rebuilt (`make css`) whenever its sources change."""
    assert STYLE_OUTPUT.read_text(encoding="utf-8") == build_stylesheet()


def test_stylesheet_has_dark_and_print_rules() -> None:
    css = build_stylesheet()
    # dark colours (site and Pygments) apply on screens only: print stays black on white
    assert "@media screen and (prefers-color-scheme: dark)" in css
    assert "@media (prefers-color-scheme: dark)" not in css
    assert "@media print" in css
    assert ".highlight .k" in css


def _luminance(colour: str) -> float:
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    channels = [int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("style_name", [LIGHT_STYLE, DARK_STYLE])
def test_code_colours_meet_wcag_aa_contrast(style_name: str) -> None:
    style = get_style_by_name(style_name)
    background = style.background_color
    worst = min(
        _contrast("#" + definition["color"], background)
        for token, definition in style
        if definition["color"] and token not in Whitespace and token not in Error
    )
    assert worst >= 4.5


def test_no_external_urls_in_static_assets() -> None:
    for path in STYLE_OUTPUT.parent.parent.rglob("*"):
        if path.suffix in {".css", ".js", ".svg"}:
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), path
