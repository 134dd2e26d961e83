"""The loaded catalog for one process: loaded once, reloaded on edits when authoring."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from app.content.cache import RenderCache
from app.content.loader import load_catalog
from app.content.model import Catalog
from app.quiz_types import DEFAULT_REGISTRY, Registry

log = logging.getLogger(__name__)


class ContentStore:
    """Holds the current ``Catalog``; thread-safe, cheap to read.

    With ``auto_reload`` (debug mode) each read compares a fingerprint of the content
    tree (every file's name, size and modification time; images too, since a new image
    settles a missing-image warning) and reloads when it changed; unchanged
    files come from the cache, so only edited lessons are rendered again.
    """

    def __init__(
        self,
        content_dir: Path,
        cache_dir: Path | None,
        auto_reload: bool,
        registry: Registry = DEFAULT_REGISTRY,
    ) -> None:
        self.content_dir = content_dir
        self.registry = registry
        self.auto_reload = auto_reload
        self.cache = RenderCache(cache_dir)
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._fingerprint: tuple[tuple[str, int, int], ...] | None = None

    def catalog(self) -> Catalog:
        current = self._catalog
        if current is not None and not self.auto_reload:
            return current
        with self._lock:
            fingerprint = self._tree_fingerprint() if self.auto_reload else None
            if self._catalog is None or fingerprint != self._fingerprint:
                self._catalog = load_catalog(self.content_dir, self.cache, self.registry)
                self.cache.retain_used()
                self._fingerprint = fingerprint
                self._log(self._catalog)
            return self._catalog

    def _tree_fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        entries: list[tuple[str, int, int]] = []
        if not self.content_dir.is_dir():
            return ()
        for root, dirs, files in os.walk(self.content_dir):
            dirs.sort()
            for name in sorted(files):
                stat = os.stat(os.path.join(root, name))
                entries.append((os.path.join(root, name), stat.st_mtime_ns, stat.st_size))
        return tuple(entries)

    def _log(self, catalog: Catalog) -> None:
        stats = catalog.stats
        lessons = sum(len(course.lessons) for course in catalog.courses)
        log.info(
            "content: %d course(s), %d lesson(s) from %s in %.0f ms "
            "(%d rendered, %d from disk cache, %d from memory); %d error(s), %d warning(s)",
            len(catalog.courses),
            lessons,
            self.content_dir,
            stats.milliseconds,
            stats.rendered,
            stats.from_disk,
            stats.from_memory,
            len(catalog.errors),
            len(catalog.warnings),
        )
        for diagnostic in catalog.diagnostics:
            level = logging.ERROR if diagnostic.is_error else logging.WARNING
            log.log(level, "%s", diagnostic)
