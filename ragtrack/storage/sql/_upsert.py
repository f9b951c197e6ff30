"""INSERT ... ON CONFLICT for the dialects the SQL store supports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_ignoring_conflicts(conn: sa.Connection, table: sa.Table, keys: Sequence[str]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` for the connection's dialect."""
    return _insert(conn, table).on_conflict_do_nothing(index_elements=list(keys))


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str],
) -> sa.CursorResult[Any]:
    """Insert ``rows``; on a conflict of ``keys`` overwrite the ``update`` columns
    (or do nothing when ``update`` is empty)."""
    if update:
        stmt = _insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
        )
    else:
        stmt = insert_ignoring_conflicts(conn, table, keys)
    if len(rows) == 1:
        return conn.execute(stmt.values(rows[0]))
    return conn.execute(stmt, list(rows))
