"""Fixtures for the server tests: the app over a fresh store, and a client that
speaks the wire format (NaN and Infinity included).

Every API test runs against a SqlStore on a SQLite file and once more against a
throwaway PostgreSQL database (skipped when unreachable, a failure when ``CI``
is set). Fixtures rather than importable helpers: test modules here are not a
package.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from ragtrack.server import ServerSettings, create_app
from ragtrack.storage.artifacts import LocalArtifactStore
from ragtrack.storage.rest import _wire
from ragtrack.storage.sql import SqlStore
from ragtrack.storage.sql._schema import metadata

with warnings.catch_warnings():
    # Starlette >= 1.x prefers the httpx2 package and warns (an error here) when
    # its test client runs on httpx; the client works the same on either.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

ADMIN_URL = os.environ.get(
    "RAGTRACK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

_MISSING: Any = object()


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available ({reason}); set RAGTRACK_TEST_POSTGRES")


class PostgresDatabases:
    """Throwaway databases on the test server, dropped at the end of the session."""

    def __init__(self) -> None:
        self.admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self) -> str:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            unavailable("psycopg is not installed: pip install 'ragtrack[postgres]'")
        name = f"ragtrack_test_{uuid.uuid4().hex[:12]}"
        try:
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.OperationalError as e:
            unavailable(str(e.orig).splitlines()[0])
        self.names.append(name)
        return sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(scope="session")
def postgres_store_url(postgres_databases: PostgresDatabases) -> str:
    """One migrated database for every PostgreSQL-backed API test."""
    url = postgres_databases.create()
    SqlStore(url).close()  # upgrade=True: creates the schema
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """An empty SqlStore: a SQLite file, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        s = SqlStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    else:
        s = SqlStore(request.getfixturevalue("postgres_store_url"), upgrade=False)
        tables = ", ".join(t.name for t in metadata.sorted_tables)
        with s._engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    """An empty SqlStore on a SQLite file (for tests that need no second backend)."""
    s = SqlStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    yield s
    s.close()


@pytest.fixture
def artifact_store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def settings() -> ServerSettings:
    """Server settings; tests override this fixture (a token, a small body limit)."""
    return ServerSettings(max_body_bytes=1 << 20)


@pytest.fixture
def app(store: SqlStore, artifact_store: LocalArtifactStore, settings: ServerSettings) -> FastAPI:
    return create_app(store, artifact_store, settings)


@dataclass
class Api:
    """A test client sending and reading bodies in the wire format."""

    client: TestClient

    def call(self, method: str, path: str, body: Any = _MISSING, **kwargs: Any) -> httpx.Response:
        if body is not _MISSING:
            kwargs["content"] = _wire.dumps(body)
            kwargs.setdefault("headers", {})["content-type"] = "application/json"
        response: httpx.Response = self.client.request(method, path, **kwargs)
        return response

    def ok(self, method: str, path: str, body: Any = _MISSING, **kwargs: Any) -> Any:
        """The decoded body of a 2xx answer (``None`` for 204)."""
        response = self.call(method, path, body, **kwargs)
        assert response.status_code < 300, (response.status_code, response.text)
        return _wire.loads(response.content) if response.content else None

    def error(
        self,
        method: str,
        path: str,
        body: Any = _MISSING,
        *,
        status: int,
        code: str,
        field: Any = _MISSING,
        **kwargs: Any,
    ) -> str:
        """Assert an error answer and its JSON shape; returns the message."""
        response = self.call(method, path, body, **kwargs)
        return check_error(response, status=status, code=code, field=field)

    def run(self, **fields: Any) -> dict[str, Any]:
        """Create a run (project ``search`` unless given); its JSON."""
        run: dict[str, Any] = self.ok("POST", "/api/v1/runs", {"project": "search", **fields})
        return run

    @staticmethod
    def check(response: httpx.Response, *, status: int, code: str, field: Any = _MISSING) -> str:
        return check_error(response, status=status, code=code, field=field)


def check_error(response: httpx.Response, *, status: int, code: str, field: Any = _MISSING) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if field is not _MISSING:
        assert body["error"]["field"] == field, body
    message: str = body["error"]["message"]
    return message


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
