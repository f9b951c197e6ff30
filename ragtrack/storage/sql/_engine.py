"""Creating SQLAlchemy engines for the SQL store, with the settings each database needs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

#: Execution option marking a transaction that will write (see _begin).
WRITE = {"ragtrack_write": True}


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    SQLite gets WAL mode, a 30 s busy timeout, enforced foreign keys and
    ``BEGIN IMMEDIATE`` for writing transactions. Without the latter, two
    processes that both read and then write deadlock-detect with an immediate
    ``database is locked`` instead of waiting for each other.
    """
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return sa.create_engine(sa_url, pool_pre_ping=True)
    extra: dict[str, Any] = {}
    if sa_url.database in (None, "", ":memory:"):
        # An in-memory database lives and dies with its connection: share one.
        extra["poolclass"] = sa.StaticPool
    engine = sa.create_engine(
        sa_url, connect_args={"timeout": 30.0, "check_same_thread": False}, **extra
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level: we emit BEGIN ourselves in _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode is durable against a process crash (SIGKILL); only an OS
    # crash or power loss can drop the last transactions.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # SQLite's lower() folds ASCII only; `contains` filters compile to
    # lower(x) LIKE lower(y) and should fold "Ü" as PostgreSQL's ILIKE does.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_begin(conn: sa.Connection) -> None:
    if conn.get_execution_options().get("ragtrack_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
