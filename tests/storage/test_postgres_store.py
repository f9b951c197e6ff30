"""The store contract on PostgreSQL (the real server at 127.0.0.1:5432; see
``conftest.py`` for when it skips)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ragtrack.storage import Store
from ragtrack.storage.sql import SqlStore
from ragtrack.storage.sql._schema import metric_chunks
from ragtrack.storage.sql._upsert import insert_many
from ragtrack.testing.store_contract import StoreContract


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, postgres_store: SqlStore) -> Store:
        return postgres_store


def test_chunk_rows_sent_by_copy_fail_as_integrity_errors(postgres_store: SqlStore) -> None:
    # A batch's chunk rows go as one binary COPY; its errors must be the
    # IntegrityError the store turns into RunNotFoundError/StoreError, and a
    # failed COPY must leave nothing behind.
    run = postgres_store.create_run(project="p")
    rows = [
        {"run_id": run.id, "key": "m", "seq": 0, "n_points": 1, "encoding": 1}
        | {"steps_blob": b"s", "values_blob": b"v", "times_blob": b"t"},
        {"run_id": "no-such-run", "key": "m", "seq": 0, "n_points": 1, "encoding": 1}
        | {"steps_blob": b"s", "values_blob": b"v", "times_blob": b"t"},
    ]
    with pytest.raises(sa.exc.IntegrityError), postgres_store._engine.begin() as conn:
        insert_many(conn, metric_chunks, rows)
    with postgres_store._engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(metric_chunks)).scalar()
    assert count == 0
    with postgres_store._engine.begin() as conn:
        insert_many(conn, metric_chunks, rows[:1])
        insert_many(conn, metric_chunks, [rows[0] | {"seq": 1}, rows[0] | {"seq": 2}])
    with postgres_store._engine.connect() as conn:
        stored = conn.execute(sa.select(metric_chunks.c.seq, metric_chunks.c.values_blob)).all()
    assert sorted(stored) == [(0, b"v"), (1, b"v"), (2, b"v")]
