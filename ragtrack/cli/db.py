"""``ragtrack db upgrade`` and ``ragtrack db current``: the store's schema revision.

The embedded store migrates itself on open, so ``db upgrade`` matters most for a
shared PostgreSQL database, which ragtrack never migrates behind the operator's
back. Neither command opens a store: opening one would already upgrade it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import sqlalchemy as sa

from ragtrack.cli._state import CliState, pass_state
from ragtrack.exceptions import InvalidArgumentError, StoreError
from ragtrack.storage._registry import StoreLocation, resolve_location
from ragtrack.storage.sql._engine import create_engine
from ragtrack.storage.sql._migrations import current_revision, ensure_schema, known_revisions
from ragtrack.storage.sql._schema import SCHEMA_REVISION

_URI_HELP = (
    "Database URL (sqlite:///path/ragtrack.db, postgresql+psycopg://user@host/db) or a store "
    "directory; default: --dir, else $RAGTRACK_URI, $RAGTRACK_DIR, ./.ragtrack."
)


@contextmanager
def _engine(db: StoreLocation) -> Iterator[sa.Engine]:
    if db.remote:
        raise InvalidArgumentError(
            f"{db.url} is a ragtrack server, not a database: run `ragtrack db` on the "
            f"server's host with --uri naming its database",
            field="uri",
        )
    try:
        engine = create_engine(db.url)
    except ModuleNotFoundError as e:
        raise StoreError(
            f"the database driver {e.name!r} for {db.display} is not installed: "
            f"pip install 'psycopg[binary]' for PostgreSQL"
        ) from e
    try:
        yield engine
    except sa.exc.SQLAlchemyError as e:
        cause = getattr(e, "orig", None) or e
        raise StoreError(f"cannot use the database {db.display}: {cause}") from e
    finally:
        engine.dispose()


@click.group("db")
def db_group() -> None:
    """Inspect and migrate the store's database schema."""


@db_group.command("upgrade")
@click.option("--uri", help=_URI_HELP)
@pass_state
def upgrade(state: CliState, uri: str | None) -> None:
    """Migrate the database schema to the newest revision this ragtrack knows.

    Safe to run repeatedly and concurrently: an up-to-date database is left alone.
    """
    db = resolve_location(state.dir, uri)
    if db.file is not None:
        try:
            db.file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the directory {str(db.file.parent)!r}: {e}") from e
    with _engine(db) as engine:
        before = current_revision(engine)
        ensure_schema(engine, upgrade=True, lock_path=db.lock_path)
        after = current_revision(engine)
    click.echo(f"database: {db.display}")
    click.echo(f"before:   {before or 'none (empty database)'}")
    click.echo(f"after:    {after}")
    click.echo("Already up to date." if before == after else f"Upgraded to {after}.")


@db_group.command("current")
@click.option("--uri", help=_URI_HELP)
@pass_state
def current(state: CliState, uri: str | None) -> None:
    """Print the database's schema revision and the one this ragtrack needs."""
    db = resolve_location(state.dir, uri)
    click.echo(f"database: {db.display}")
    if db.file is not None and not db.file.exists():
        # Connecting would create an empty file; say so instead.
        click.echo(
            "current:  none (no database yet: the first run or `ragtrack db upgrade` makes it)"
        )
        click.echo(f"head:     {SCHEMA_REVISION}")
        return
    with _engine(db) as engine:
        revision = current_revision(engine)
    if revision == SCHEMA_REVISION:
        note = "(up to date)"
    elif revision is not None and revision not in known_revisions():
        note = "(newer than this ragtrack: pip install -U ragtrack)"
    else:
        note = "(run `ragtrack db upgrade`)"
    click.echo(f"current:  {revision or 'none (empty database)'} {note}")
    click.echo(f"head:     {SCHEMA_REVISION}")
