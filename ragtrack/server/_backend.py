"""The server's store and artifact store: opening them, and what the server may
read of a SQL store's engine (schema revision for /healthz, pool for /metrics).

A server never migrates a shared database behind the operator's back:
``open_store`` migrates SQLite only, and a PostgreSQL database at an old, empty
or unknown schema refuses to start with the ``ragtrack db upgrade`` command to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from ragtrack.exceptions import SchemaVersionError
from ragtrack.server.settings import ServerSettings
from ragtrack.storage import Store, open_store

if TYPE_CHECKING:
    from ragtrack.storage.artifacts import ArtifactStore


def open_backends(settings: ServerSettings) -> tuple[Store, ArtifactStore | None]:
    """The store and artifact store that ``settings`` name."""
    store = open_server_store(settings.store)
    if settings.artifacts is None:
        return store, None
    try:
        from ragtrack.storage.artifacts import open_artifact_store

        return store, open_artifact_store(settings.artifacts)
    except BaseException:
        store.close()
        raise


def open_server_store(location: str) -> Store:
    """Open a store directory or database URL without migrating a shared database."""
    try:
        return open_store(uri=location)
    except SchemaVersionError as e:
        if "ragtrack db upgrade" not in e.message or "--uri" in e.message:
            raise
        display = _display(location)
        raise SchemaVersionError(
            e.message.replace("`ragtrack db upgrade`", f"`ragtrack db upgrade --uri {display}`")
        ) from e


def sql_engine(store: Store) -> sa.Engine | None:
    """The SQLAlchemy engine of a SQL store, else ``None``."""
    engine = getattr(store, "_engine", None)
    return engine if isinstance(engine, sa.Engine) else None


def schema_revision(store: Store) -> str | None:
    """The database's schema revision (one query), or ``None`` for a store
    without one. Raises when the database cannot be reached."""
    engine = sql_engine(store)
    if engine is None:
        return None
    from ragtrack.storage.sql._migrations import current_revision

    return current_revision(engine)


def pool_status(store: Store) -> tuple[int, int] | None:
    """``(checked out, size)`` of the store's connection pool, if it has one."""
    engine = sql_engine(store)
    pool = engine.pool if engine is not None else None
    if not isinstance(pool, sa.QueuePool):
        return None
    return pool.checkedout(), pool.size()


def _display(location: str) -> str:
    if "://" not in location:
        return location
    try:
        return sa.make_url(location).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return location
