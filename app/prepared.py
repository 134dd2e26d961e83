"""Statements of the hot paths, compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy Core executes a statement through a cache-key lookup, an execution context and
a ``Result``: about 100 µs around a statement that SQLite answers in 20 µs. A lesson page
reads the learner's state in one statement and an answer writes one and reads two, so on
those paths that machinery was the larger part of the database time. ``Prepared`` keeps,
per dialect, the compiled SQL, the order of its parameters and the type processors of its
parameters and columns (SQLAlchemy's own: JSON, dates on SQLite, booleans), and runs the
SQL on the connection's DBAPI cursor:

- in the ORM session's transaction (``rows``), so writes commit or roll back with it;
- or on a pooled connection of its own (``read``), for a read outside any session;
- or in a transaction of its own (``transaction``) for a request whose writes are all
  prepared statements, such as an answer: the ORM session's bookkeeping (its connection,
  commit and teardown) cost that request about as much as its INSERT.

``here`` runs a statement where the request's writes are: in its open ``transaction``, in
the session's transaction once the session has begun one, or else (a read) on a pooled
connection.

Rows are named tuples with the statement's column names. While the engine logs its
statements (``SQLALCHEMY_ECHO``) or has cursor event listeners (tracing, tests counting
statements), ``Prepared`` runs the statement through SQLAlchemy instead, so that no
statement escapes them. Errors of the driver are raised as SQLAlchemy's
(``sqlalchemy.exc.OperationalError`` for a locked database), and a connection the
database dropped is invalidated, as ``Connection.execute`` does. Statements with
expanding (``IN``) parameters are not supported.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

from app.extensions import db

Processor = Callable[[Any], Any] | None
_GIVEN = object()  # a parameter the caller passes, as opposed to a literal of the statement
_OPEN = "prepared_transaction"  # on ``g``: the request's open ``transaction``


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    names: tuple[str, ...]
    binds: tuple[tuple[str, Any, Processor], ...]  # name, literal value or _GIVEN, processor
    row: type
    processors: tuple[Processor, ...]  # per column
    dbapi_error: type[Exception]


@dataclass(frozen=True)
class _Own:
    """The pooled connection of an open ``transaction``."""

    dbapi_connection: Any
    dialect: Dialect
    invalidate: Callable[[BaseException], None]


class Prepared:
    """A statement built once (``select``, ``insert … returning``, ``update … returning``)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def here(self, params: Mapping[str, Any], write: bool = False) -> list[Any]:
        """Run where the request's writes are (see the module's doc); a ``write`` outside
        an open ``transaction`` joins the session's, which the caller commits."""
        own = g.get(_OPEN)
        if own is not None:
            return self.rows(own, params)
        if write or _session_transaction_begun():
            return self.rows(db.session.connection(), params)
        return self.read(db.engine, params)

    def rows(self, connection: Connection | _Own, params: Mapping[str, Any]) -> list[Any]:
        """Run in ``connection``'s transaction (``db.session.connection()``)."""
        if isinstance(connection, _Own):
            own = connection
            return self._run(own.dbapi_connection, own.dialect, params, own.invalidate)
        if _observed(connection.engine):
            return list(connection.execute(self.statement, params))
        dbapi_connection = connection.connection.dbapi_connection
        return self._run(dbapi_connection, connection.dialect, params, connection.invalidate)

    def read(self, engine: Engine, params: Mapping[str, Any]) -> list[Any]:
        """Run on a pooled connection, given back (and its transaction ended) right after."""
        if _observed(engine):
            with engine.connect() as connection:
                return list(connection.execute(self.statement, params))
        pooled = engine.raw_connection()
        try:
            return self._run(pooled.dbapi_connection, engine.dialect, params, pooled.invalidate)
        finally:
            pooled.close()

    def _run(
        self,
        dbapi_connection: Any,
        dialect: Dialect,
        params: Mapping[str, Any],
        invalidate: Callable[[BaseException], None],
    ) -> Any:
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        values = []
        for name, literal, process in compiled.binds:
            value = params[name] if literal is _GIVEN else literal
            values.append(value if process is None else process(value))  # as SQLAlchemy does
        arguments = (
            values if compiled.positional else dict(zip(compiled.names, values, strict=True))
        )
        cursor = None
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute(compiled.sql, arguments)
            fetched = cursor.fetchall() if cursor.description else []
        except compiled.dbapi_error as exc:
            dropped = dialect.is_disconnect(exc, dbapi_connection, cursor)
            if dropped:
                invalidate(exc)  # never handed out again
            raise DBAPIError.instance(
                compiled.sql,
                arguments,
                exc,
                compiled.dbapi_error,
                connection_invalidated=dropped,
                dialect=dialect,
            ) from exc
        finally:
            if cursor is not None:
                cursor.close()
        make, processors = compiled.row._make, compiled.processors
        if not any(processors):
            return [make(row) for row in fetched]
        return [
            make(
                [
                    v if p is None or v is None else p(v)
                    for p, v in zip(processors, row, strict=True)
                ]
            )
            for row in fetched
        ]

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        expanding = [name for name, bind in compiled.binds.items() if bind.expanding]
        if expanding:
            raise ValueError(f"expanding parameters {expanding}: not supported")
        if compiled.post_compile_params:  # literals rendered into the SQL (LIMIT on some)
            compiled = self.statement.compile(
                dialect=dialect, compile_kwargs={"render_postcompile": True}
            )
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        binds = []
        for name in names or ():
            bind = compiled.binds[name]
            literal = _GIVEN if bind.required else bind.effective_value
            binds.append((name, literal, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        columns = list(self.statement.exported_columns)  # type: ignore[attr-defined]
        made = _Compiled(
            sql=str(compiled),
            positional=compiled.positional,
            names=tuple(name for name, _, _ in binds),
            binds=tuple(binds),
            row=namedtuple("Row", [c.key or f"c{n}" for n, c in enumerate(columns)], rename=True),
            processors=tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            ),
            dbapi_error=dialect.loaded_dbapi.Error,
        )
        self._compiled[dialect.name] = made
        return made


def _observed(engine: Engine) -> bool:
    """Someone watches the engine's statements (``echo``, a tracer's cursor events): they
    go through SQLAlchemy's execution then, which logs them and runs the listeners."""
    events = engine.dispatch
    return bool(engine.echo or events.before_cursor_execute or events.after_cursor_execute)


@contextmanager
def transaction(engine: Engine) -> Iterator[None]:
    """The block's ``Prepared.here`` statements in one transaction on a pooled connection of
    their own, outside the ORM session: committed when the block ends, rolled back when it
    raises. For a write made of prepared statements alone (the session may still read)."""
    if g.get(_OPEN) is not None:
        raise RuntimeError("a prepared transaction is open already")
    if _observed(engine):
        with engine.begin() as connection:
            setattr(g, _OPEN, connection)
            try:
                yield
            finally:
                setattr(g, _OPEN, None)
        return
    pooled = engine.raw_connection()
    dbapi_connection = pooled.dbapi_connection
    setattr(g, _OPEN, _Own(dbapi_connection, engine.dialect, pooled.invalidate))
    try:
        yield
        try:
            dbapi_connection.commit()
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                "COMMIT", None, exc, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect
            ) from exc
    finally:
        setattr(g, _OPEN, None)
        pooled.close()  # rolls back what was not committed, unless it was invalidated


def _session_transaction_begun() -> bool:
    """The request's ORM session exists and has begun a transaction (none is made here)."""
    return db.session.registry.has() and db.session().in_transaction()
