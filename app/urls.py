"""``url_for`` for templates, remembered: a lesson page builds about thirty links.

Building a URL walks Werkzeug's rules each time; the same endpoint and arguments always
give the same path under the same URL map and script root, so templates look it up in a
bounded table instead. External URLs, anchors and other ``_`` options are built as usual.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Flask, current_app, request, url_for


def init_app(app: Flask) -> None:
    app.jinja_env.globals["url_for"] = template_url_for


def template_url_for(endpoint: str, **values: Any) -> str:
    if endpoint.startswith(".") or any(key.startswith("_") for key in values):
        return url_for(endpoint, **values)
    try:
        key = tuple(sorted(values.items()))
        hash(key)
    except TypeError:
        return url_for(endpoint, **values)
    return _built(id(current_app.url_map), request.script_root, endpoint, key)


@lru_cache(maxsize=4096)
def _built(_url_map: int, _script_root: str, endpoint: str, values: tuple[Any, ...]) -> str:
    return url_for(endpoint, **dict(values))
