"""The suite on PostgreSQL: one database per app, copied from a template at the head migration.

``TEST_DATABASE_URL`` (a ``postgresql+psycopg://`` URL whose role may CREATE DATABASE) turns
this mode on; ``tests/pg.sh run -- CMD`` starts a throwaway server and sets it. The template is
built once, by the real Alembic migrations; ``CREATE DATABASE ... TEMPLATE`` then copies it in
a few milliseconds, which is what makes a database per test affordable.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import Any

import psycopg
from flask import Flask
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from app.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
DROP_ATTEMPTS = 5


def dispose(app: Flask) -> None:
    """Close every pooled connection of ``app``, so its database can be dropped."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


class Databases:
    """Creates and drops the suite's databases on the server that ``url`` names."""

    def __init__(self, url: str, migrate: Callable[[str], None]) -> None:
        self.url: URL = make_url(url)
        if self.url.get_backend_name() != "postgresql":
            raise ValueError(f"TEST_DATABASE_URL must be a postgresql+psycopg:// URL; got {url}")
        self.migrate = migrate  # brings the database at a URL to the head migration
        self.prefix = f"test_{os.getpid()}"
        self.names = (f"{self.prefix}_{n}" for n in itertools.count(1))
        self.template: str | None = None
        self.apps: dict[str, list[Flask]] = {}  # database -> apps to dispose before DROP
        self._admin: psycopg.Connection[Any] | None = None

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def admin(self) -> psycopg.Connection[Any]:
        if self._admin is None or self._admin.closed:
            url = self.url.set(drivername="postgresql")
            self._admin = psycopg.connect(
                url.render_as_string(hide_password=False), autocommit=True
            )
        return self._admin

    def create(self, *, migrated: bool) -> str:
        """A new database: a copy of the template at head, or an empty one; returns its name."""
        if migrated and self.template is None:
            self.template = self._build_template()
        name = next(self.names)
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if migrated:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(self.template))
        if self.admin().info.server_version >= 150000:
            # Copying the files beats WAL-logging every page for a database this small.
            statement += sql.SQL(" STRATEGY FILE_COPY")
        self.admin().execute(statement)
        self.apps[name] = []
        return name

    def _build_template(self) -> str:
        name = f"{self.prefix}_template"
        self.admin().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.apps[name] = []
        self.migrate(self.url_of(name))
        return name

    def track(self, app: Flask) -> None:
        """If ``app`` uses one of our databases, close its connections before that DROP."""
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() == "postgresql" and url.database in self.apps:
            self.apps[url.database].append(app)

    def drop(self, name: str) -> None:
        for app in self.apps.pop(name, []):
            dispose(app)
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        for attempt in range(DROP_ATTEMPTS):
            try:
                self.admin().execute(statement)
                return
            except psycopg.errors.InsufficientPrivilege:
                # FORCE may not end a server process of another role that is working in
                # the database (an autovacuum worker, when a cluster runs one): it soon
                # leaves, so try again.
                if attempt == DROP_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def close(self) -> None:
        """Drop whatever is left (the template last) and disconnect."""
        for name in [n for n in self.apps if n != self.template]:
            self.drop(name)
        if self.template is not None:
            self.drop(self.template)
            self.template = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None
