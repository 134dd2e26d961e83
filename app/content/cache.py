"""Rendered-content cache: in memory for this process, and on disk across restarts.

Entries are keyed by a hash of everything the output depends on: the file's bytes, the
link context, the versions of the markdown libraries and the source of the content and
quiz packages.
So a key never goes stale; a changed input simply asks for a different key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
KEY_PACKAGES = ("markdown-it-py", "mdit-py-plugins", "Pygments", "PyYAML")
SOURCE_PACKAGES = ("content", "quiz_types")  # folders of app/ whose code shapes the output
# Where ``fetch`` found a value (LoadStats counts each).
RENDERED = "rendered"
FROM_MEMORY = "memory"
FROM_DISK = "disk"


@lru_cache(maxsize=1)
def renderer_fingerprint() -> str:
    """Changes whenever a dependency version or the code of those packages changes."""
    digest = hashlib.sha256(f"format={CACHE_FORMAT}".encode())
    for package in KEY_PACKAGES:
        digest.update(f"{package}={version(package)}".encode())
    app_dir = Path(__file__).parent.parent
    for folder in SOURCE_PACKAGES:
        for source in sorted((app_dir / folder).glob("*.py")):
            digest.update(f"{folder}/{source.name}".encode() + source.read_bytes())
    return digest.hexdigest()


def cache_key(*parts: str) -> str:
    digest = hashlib.sha256(renderer_fingerprint().encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:40]


class RenderCache:
    """``fetch(key, build)`` returns the cached value for ``key`` or builds and stores it."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.memory: dict[str, dict[str, Any]] = {}
        self.used: set[str] = set()  # keys fetched since the last retain()

    def fetch(self, key: str, build: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], str]:
        self.used.add(key)
        if key in self.memory:
            return self.memory[key], FROM_MEMORY
        value = self._read(key)
        source = FROM_DISK
        if value is None:
            value, source = build(), RENDERED
            self._write(key, value)
        self.memory[key] = value
        return value, source

    def retain_used(self) -> None:
        """Forget entries not fetched since the last call (older versions of edited files)."""
        keep, self.used = self.used, set()
        self.memory = {key: value for key, value in self.memory.items() if key in keep}
        if self.directory is None or not self.directory.is_dir():
            return
        for entry in self.directory.glob("*.json"):
            if entry.stem not in keep:
                entry.unlink(missing_ok=True)

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.json" if self.directory else None

    def _read(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None
        return value if isinstance(value, dict) else None

    def _write(self, key: str, value: dict[str, Any]) -> None:
        """Write to a temporary file and rename it: readers never see half an entry."""
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(value, fh, ensure_ascii=False)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not write cache entry %s: %s", path, exc)
