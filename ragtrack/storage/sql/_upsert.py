"""INSERT ... ON CONFLICT for the dialects the SQL store supports.

Statements are built once per (dialect, table, columns) and executed through
:class:`DriverStatement`: they run on every run creation and metric batch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ragtrack.storage.sql._driver import DriverStatement


def _insert(dialect: str, table: sa.Table) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@functools.cache
def _upsert_statement(
    dialect: str, table: sa.Table, keys: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    stmt = _insert(dialect, table)
    if not update:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
    )


def insert_ignoring_conflicts_for(dialect: str, table: sa.Table, keys: Sequence[str]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` for a dialect (built once)."""
    return _upsert_statement(dialect, table, tuple(keys), ())


@functools.cache
def _upsert_driver(
    table: sa.Table, columns: tuple[str, ...], keys: tuple[str, ...], update: tuple[str, ...]
) -> DriverStatement:
    return DriverStatement(lambda d: _upsert_statement(d, table, keys, update), columns)


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``rows``; on a conflict of ``keys`` overwrite the ``update`` columns
    (or do nothing when ``update`` is empty). Every row must have the same keys."""
    stmt = _upsert_driver(table, tuple(rows[0]), tuple(keys), tuple(update))
    if len(rows) == 1:
        stmt.execute(conn, rows[0]).close()
    else:
        stmt.executemany(conn, rows)


@functools.cache
def _claim_project_driver(table: sa.Table) -> DriverStatement:
    def build(dialect: str) -> Any:
        stmt = _insert(dialect, table)
        return stmt.on_conflict_do_update(
            index_elements=["name"], set_={"runs_created": table.c.runs_created + 1}
        ).returning(table.c.id, table.c.runs_created)

    return DriverStatement(build, ("name", "created_at", "runs_created"))


def claim_project(conn: sa.Connection, table: sa.Table, name: str, now: float) -> tuple[int, int]:
    """Get or create a project and count one more run in it, in one statement.

    Returns (project id, the new run's number in the project).
    """
    cursor = _claim_project_driver(table).execute(
        conn, {"name": name, "created_at": now, "runs_created": 1}
    )
    row = cursor.fetchone()
    cursor.close()
    return int(row[0]), int(row[1])
