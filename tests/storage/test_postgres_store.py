"""The store contract on PostgreSQL (the real server at 127.0.0.1:5432).

Skips with the reason when no server is reachable or psycopg is missing; CI
has both, and sets CI=true, which turns a skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ragtrack.storage import Store
from ragtrack.storage.sql import SqlStore
from ragtrack.storage.sql._schema import metadata
from ragtrack.testing.store_contract import StoreContract

ADMIN_URL = os.environ.get(
    "RAGTRACK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available ({reason}); set RAGTRACK_TEST_POSTGRES")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'ragtrack[postgres]'")
    name = f"ragtrack_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as e:
        admin.dispose()
        _unavailable(str(e.orig).splitlines()[0])
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, database_url: str) -> Iterator[Store]:
        s = SqlStore(database_url)
        tables = ", ".join(t.name for t in metadata.sorted_tables)
        with s._engine.begin() as conn:  # a fresh, empty store for every test
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        yield s
        s.close()
