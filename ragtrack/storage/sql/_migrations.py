"""Schema versioning: Alembic migrations shipped in ``migrations/``.

Opening a store compares the database's Alembic revision with
:data:`~ragtrack.storage.sql._schema.SCHEMA_REVISION` with one cheap query, and
only imports Alembic when the database must be created or upgraded.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from ragtrack.exceptions import SchemaVersionError
from ragtrack.storage.sql._schema import SCHEMA_REVISION

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def current_revision(engine: sa.Engine) -> str | None:
    """The database's schema revision, or None for an empty database.

    One query on the usual path (every store open runs it); the catalogue is
    consulted only when it fails, to tell an empty database from a real error.
    """
    with engine.connect() as conn:
        try:
            revision: str | None = conn.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar()
            return revision
        except sa.exc.DBAPIError:
            conn.rollback()  # PostgreSQL refuses anything else in a failed transaction
            if sa.inspect(conn).has_table("alembic_version"):
                raise
            return None


def known_revisions() -> list[str]:
    return sorted(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))


def ensure_schema(engine: sa.Engine, *, upgrade: bool, lock_path: str | None = None) -> None:
    """Make sure the database is at the head revision.

    With ``upgrade`` an empty or older database is migrated (under a file lock for
    SQLite, so concurrent first opens do not race); without it a mismatch raises
    SchemaVersionError saying which command fixes it.
    """
    revision = current_revision(engine)
    if revision == SCHEMA_REVISION:
        return
    if revision is not None and revision not in known_revisions():
        raise SchemaVersionError(
            f"the database is at schema revision {revision!r}, which this version of ragtrack "
            f"does not know (it expects {SCHEMA_REVISION!r}); it was probably written by a newer "
            f"ragtrack: upgrade with `pip install -U ragtrack`"
        )
    if not upgrade:
        raise SchemaVersionError(
            f"the database is at schema revision {revision or 'none'!s}, this ragtrack needs "
            f"{SCHEMA_REVISION!r}: run `ragtrack db upgrade` to migrate it"
        )
    with _file_lock(lock_path):
        if current_revision(engine) != SCHEMA_REVISION:
            upgrade_to_head(engine)


def upgrade_to_head(engine: sa.Engine) -> None:
    """Run every pending Alembic migration."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@contextlib.contextmanager
def _file_lock(path: str | None) -> Iterator[None]:
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own locking must do
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
