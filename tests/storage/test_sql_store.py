"""The store contract on the embedded SQLite store, plus SQLite-specific behaviour."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from ragtrack.entities import MetricSeries
from ragtrack.storage import Store, open_store
from ragtrack.storage.sql import SqlStore
from ragtrack.testing.store_contract import StoreContract


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        s = open_store(dir=tmp_path)
        yield s
        s.close()


class TestInMemorySqliteStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        s = SqlStore("sqlite://")
        yield s
        s.close()


def _write_run(directory: str, worker: int) -> None:
    store = open_store(dir=directory)
    run = store.create_run(project="mp", name=f"w{worker}")
    for i in range(50):
        store.log_metrics(run.id, {"x": MetricSeries.from_lists([i], [float(worker)], [1.7e9 + i])})
    store.close()


@pytest.mark.slow
def test_several_processes_write_one_store(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_run, args=(str(tmp_path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = open_store(dir=tmp_path)
    runs = store.search_runs("mp", order_by="name")
    assert [r.name for r in runs] == ["w0", "w1", "w2", "w3"]
    for w, r in enumerate(runs):
        h = store.get_history(r.id, "x")
        assert h.steps.tolist() == list(range(50))
        assert set(h.values.tolist()) == {float(w)}
    store.close()
