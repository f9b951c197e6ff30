"""PostgreSQL fixtures: throwaway databases on the real server at 127.0.0.1:5432.

They skip with the reason when no server is reachable or psycopg is missing; CI
has both, and sets CI=true, which turns a skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from ragtrack.storage.sql import SqlStore
from ragtrack.storage.sql._schema import metadata

ADMIN_URL = os.environ.get(
    "RAGTRACK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available ({reason}); set RAGTRACK_TEST_POSTGRES")


@pytest.fixture(scope="module")
def new_postgres_database() -> Iterator[Callable[[], str]]:
    """Make empty databases (URLs) on demand; all are dropped after the module."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'ragtrack[postgres]'")
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def create() -> str:
        name = f"ragtrack_test_{uuid.uuid4().hex[:12]}"
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.OperationalError as e:
            _unavailable(str(e.orig).splitlines()[0])
        names.append(name)
        return sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="module")
def database_url(new_postgres_database: Callable[[], str]) -> str:
    """One database per test module, shared by its tests (see postgres_store)."""
    return new_postgres_database()


@pytest.fixture
def postgres_store(database_url: str) -> Iterator[SqlStore]:
    """A fresh, empty store in the module's database."""
    s = SqlStore(database_url)
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with s._engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield s
    s.close()
