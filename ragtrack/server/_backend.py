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
from ragtrack.storage.sql._schema import SCHEMA_REVISION

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
        raise SchemaVersionError(
            e.message.replace("`ragtrack db upgrade`", upgrade_command(location))
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


def checked_schema_revision(store: Store) -> str | None:
    """:func:`schema_revision`, raising :class:`SchemaVersionError` when it is not
    the revision this ragtrack needs: the schema changed under a running server
    (another process migrated the database, or dropped it)."""
    revision = schema_revision(store)
    if revision == SCHEMA_REVISION or sql_engine(store) is None:
        return revision
    from ragtrack.storage.sql._migrations import known_revisions

    found = (
        f"the database is at schema revision {revision!r}"
        if revision
        else "the database has no ragtrack schema"
    )
    if revision is not None and revision not in known_revisions():
        raise SchemaVersionError(
            f"{found}, which this server's ragtrack does not know (it needs "
            f"{SCHEMA_REVISION!r}): a newer ragtrack migrated it; upgrade this server "
            f"(`pip install -U ragtrack`) and restart it"
        )
    raise SchemaVersionError(schema_changed(found))


def schema_changed(found: str, location: str = "") -> str:
    """The message for a schema that is not what this server started with:
    ``found`` says what is wrong, the rest what to do."""
    return (
        f"{found}, this server needs {SCHEMA_REVISION!r}: the schema changed under the "
        f"running server; run {upgrade_command(location)} and restart the server"
    )


def upgrade_command(location: str = "") -> str:
    """The command that migrates the database at ``location`` (password hidden)."""
    if not location:
        return "`ragtrack db upgrade --uri <this server's database>`"
    return f"`ragtrack db upgrade --uri {_display(location)}`"


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
