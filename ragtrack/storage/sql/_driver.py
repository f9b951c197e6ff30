"""Core statements compiled once and executed on the DBAPI cursor.

SQLAlchemy's execution machinery costs ~40 µs per statement on the 2-core
machines we benchmark on, against ~3 µs for the driver itself; a short run
(create, one metric batch, finish) executes about ten statements, so that
overhead alone was a fifth of its time. The statements on those paths are
still written as SQLAlchemy Core and compiled by SQLAlchemy for the
connection's dialect, once; only execution goes straight to the driver, inside
the transaction SQLAlchemy opened.

Only plain values may be bound (str, int, float, bytes, None): no type
processing happens on this path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa


class DriverStatement:
    """A statement built per dialect by ``build`` and run on the raw cursor.

    Example:
        >>> stmt = DriverStatement(lambda dialect: sa.select(sa.literal(1)))
    """

    def __init__(
        self,
        build: Callable[[str], sa.ClauseElement],
        column_keys: Sequence[str] | None = None,
        *,
        binary: bool = False,
    ) -> None:
        self._build = build
        # psycopg only: send parameters in binary (bytea arrays in text format
        # are escaped byte by byte with a regex).
        self._options = {"binary": True} if binary else {}
        # For INSERT/UPDATE without .values(): which columns the statement sets.
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            with self._lock:
                compiled = self._build(dialect.name).compile(
                    dialect=dialect, column_keys=self._column_keys
                )
                positional = dialect.paramstyle in ("qmark", "numeric", "format")
                found = _Compiled(
                    sql=compiled.string,
                    order=tuple(compiled.positiontup or ()) if positional else None,  # type: ignore[attr-defined]
                    # Literals inside the statement (``runs_created + 1``) are
                    # bound parameters with their values fixed at compile time.
                    fixed={k: v for k, v in compiled.params.items() if v is not None},
                )
                self._compiled[dialect.name] = found
        return found

    def execute(self, conn: sa.Connection, params: dict[str, Any]) -> Any:
        """Run once; returns the DBAPI cursor (for ``fetchone`` / ``rowcount``)."""
        compiled = self._compile(conn.dialect)
        cursor = driver_cursor(conn)
        args = compiled.args(params)
        try:
            cursor.execute(compiled.sql, args, **self._options)
        except conn.dialect.loaded_dbapi.Error as e:
            raise translated_error(conn, compiled.sql, args, e) from e
        return cursor

    def executemany(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        compiled = self._compile(conn.dialect)
        cursor = driver_cursor(conn)
        args = [compiled.args(row) for row in rows]
        try:
            cursor.executemany(compiled.sql, args)
        except conn.dialect.loaded_dbapi.Error as e:
            raise translated_error(conn, compiled.sql, args, e) from e
        finally:
            cursor.close()


def fetch_all(conn: sa.Connection, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """Every row of a query built per call (a search), fetched on the raw cursor.

    For thousands of rows SQLAlchemy's result rows cost ~1 µs each on top of
    the driver's tuples. The columns must need no result processing (plain
    numbers and text, as the runs and summaries tables hold).
    """
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if conn.dialect.paramstyle in ("qmark", "numeric", "format"):
        args: Any = [params[name] for name in compiled.positiontup or ()]
    else:
        args = params
    cursor = driver_cursor(conn)
    try:
        cursor.execute(compiled.string, args)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    except conn.dialect.loaded_dbapi.Error as e:
        raise translated_error(conn, compiled.string, args, e) from e
    finally:
        cursor.close()
    return rows


class _Compiled:
    __slots__ = ("fixed", "order", "sql")

    def __init__(self, sql: str, order: tuple[str, ...] | None, fixed: dict[str, Any]) -> None:
        self.sql = sql
        self.order = order
        self.fixed = fixed

    def args(self, params: dict[str, Any]) -> Any:
        if self.fixed:
            params = {**self.fixed, **params}
        return params if self.order is None else [params[name] for name in self.order]


def driver_cursor(conn: sa.Connection) -> Any:
    """The DBAPI cursor of the transaction SQLAlchemy opened on ``conn``."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def translated_error(
    conn: sa.Connection, sql: str, args: Any, error: Exception
) -> sa.exc.StatementError:
    """The SQLAlchemy exception (IntegrityError, OperationalError, ...) that
    executing through SQLAlchemy would have raised, so callers catch one kind."""
    return sa.exc.DBAPIError.instance(
        sql, args, error, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
    )
