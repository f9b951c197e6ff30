"""The store contract on the REST store: a real server on loopback over SQLite
and over PostgreSQL, every test through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ragtrack.storage import Store
from ragtrack.storage.rest import RestStore
from ragtrack.testing.store_contract import StoreContract

if TYPE_CHECKING:
    from live_server import LiveServer


class TestRestStoreOverSqlite(StoreContract):
    @pytest.fixture
    def store(self, sqlite_server: LiveServer) -> Iterator[Store]:
        sqlite_server.empty()
        s = RestStore(sqlite_server.url)
        yield s
        s.close()


class TestRestStoreOverPostgres(StoreContract):
    @pytest.fixture
    def store(self, postgres_server: LiveServer) -> Iterator[Store]:
        postgres_server.empty()
        s = RestStore(postgres_server.url)
        yield s
        s.close()
