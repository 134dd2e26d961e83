"""Binds the content store to the app: one per app, in ``app.extensions["content"]``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from app.content.model import Catalog
from app.content.store import ContentStore
from app.quiz_types import registry_for

EXTENSION_KEY = "content"


def init_app(app: Flask) -> None:
    auto_reload = app.config["CONTENT_AUTO_RELOAD"]
    app.extensions[EXTENSION_KEY] = ContentStore(
        content_dir=Path(app.config["CONTENT_DIR"]),
        cache_dir=Path(app.instance_path) / "render-cache",
        auto_reload=app.debug if auto_reload is None else bool(auto_reload),
        registry=registry_for(app),
    )


def content_store(app: Flask | None = None) -> ContentStore:
    return (app or current_app).extensions[EXTENSION_KEY]


def catalog() -> Catalog:
    """The current catalog (loaded on first use, then shared by every request)."""
    return content_store().catalog()
