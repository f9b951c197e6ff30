"""Real ragtrack servers on loopback for the REST store's tests.

Each server is uvicorn in a background thread on a free port, serving
``create_app`` over a SqlStore: one over a SQLite file, one over a throwaway
PostgreSQL database (skipped when unreachable, a failure when ``CI`` is set).
The SQLite one lives for the session, the PostgreSQL one for its module;
every test gets an emptied store behind them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import LiveServer, serve

from ragtrack.storage import open_store
from ragtrack.storage.sql import SqlStore


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    backend = open_store(dir=tmp_path_factory.mktemp("rest-sqlite"))
    assert isinstance(backend, SqlStore)
    with serve(backend) as url:
        yield LiveServer(url, backend)
    backend.close()


@pytest.fixture(scope="module")
def postgres_server(database_url: str) -> Iterator[LiveServer]:
    """A server over the module's throwaway PostgreSQL database (``database_url``
    of tests/storage/conftest.py: skipped when unreachable, failed in CI)."""
    backend = SqlStore(database_url)
    with serve(backend) as url:
        yield LiveServer(url, backend)
    backend.close()


@pytest.fixture(scope="session")
def token_server_url(sqlite_server: LiveServer) -> Iterator[str]:
    """A second server over the SQLite store that wants the token ``s3cret``."""
    with serve(sqlite_server.backend, token="s3cret") as url:
        yield url


@pytest.fixture
def server(sqlite_server: LiveServer) -> LiveServer:
    """The SQLite-backed server, emptied."""
    sqlite_server.empty()
    return sqlite_server


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory, so no test finds a ./.ragtrack of another, and
    keep the spool of remote stores there too."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGTRACK_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.delenv("RAGTRACK_URI", raising=False)
    monkeypatch.delenv("RAGTRACK_DIR", raising=False)
    monkeypatch.delenv("RAGTRACK_TOKEN", raising=False)
    return tmp_path
