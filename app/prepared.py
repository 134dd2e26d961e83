"""Statements of the hot paths, compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy Core executes a statement through a cache-key lookup, an execution context and
a ``Result``: about 100 µs around a statement that SQLite answers in 20 µs. A lesson page
reads the learner's state in one statement and an answer writes one and reads two, so on
those paths that machinery was the larger part of the database time. ``Prepared`` keeps,
per dialect, the compiled SQL, the order of its parameters and the type processors of its
parameters and columns (SQLAlchemy's own: JSON, dates on SQLite, booleans), and runs the
SQL on the connection's DBAPI cursor:

- in the ORM session's transaction (``rows``), so writes commit or roll back with it;
- or on a pooled connection of its own (``read``), for a read outside any session.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None
_GIVEN = object()  # a parameter the caller passes, as opposed to a literal of the statement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    names: tuple[str, ...]
    binds: tuple[tuple[str, Any, Processor], ...]  # name, literal value or _GIVEN, processor
    row: type
    processors: tuple[Processor, ...]  # per column
    dbapi_error: type[Exception]


class Prepared:
    """A statement built once (``select``, ``insert … returning``, ``update … returning``)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Run in ``connection``'s transaction (``db.session.connection()``)."""
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
