"""The store contract on PostgreSQL (the real server at 127.0.0.1:5432; see
``conftest.py`` for when it skips)."""

from __future__ import annotations

import pytest

from ragtrack.storage import Store
from ragtrack.storage.sql import SqlStore
from ragtrack.testing.store_contract import StoreContract


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, postgres_store: SqlStore) -> Store:
        return postgres_store
