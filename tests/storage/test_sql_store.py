"""The store contract on the embedded SQLite store, plus behaviour of the SQL
store itself (on SQLite and PostgreSQL) that the contract leaves open."""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from ragtrack.entities import ExperimentMetric, MetricSeries, RunStatus
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage import Store, open_store
from ragtrack.storage.sql import SqlStore, _chunks
from ragtrack.storage.sql._schema import metadata, metric_chunks, runs
from ragtrack.testing.store_contract import StoreContract, series


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        s = open_store(dir=tmp_path)
        yield s
        s.close()


class TestInMemorySqliteStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
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


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_store")
        return
    store = SqlStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    yield store
    store.close()


def _rows_per_table(store: SqlStore, run_ids: list[str]) -> dict[str, int]:
    """How many rows of each per-run table belong to ``run_ids``."""
    counts = {}
    with store._engine.connect() as conn:
        for table in metadata.sorted_tables:
            column = table.c.get("run_id") if table is not runs else runs.c.id
            if column is not None:
                query = sa.select(sa.func.count()).where(column.in_(run_ids))
                counts[table.name] = conn.execute(query).scalar_one()
    return counts


def test_delete_experiment_leaves_no_rows_behind(sql_store: SqlStore) -> None:
    ids = []
    for experiment in ["doomed", "doomed", "kept"]:
        run = sql_store.create_run(
            project="p", experiment=experiment, config={"a": {"b": 1}}, tags=["t"]
        )
        sql_store.log_metrics(run.id, {"m": series([0, 1], [1.0, 2.0])}, batch_id="b1")
        sql_store.append_logs(run.id, "stdout", "x", batch_id="l1")
        sql_store.set_summary(run.id, {"s": "v"})
        ids.append(run.id)
    before = _rows_per_table(sql_store, ids[:2])
    assert set(before) == {
        "runs",
        "run_tags",
        "params",
        "summaries",
        "metric_chunks",
        "metric_batches",
        "run_logs",
    }
    assert all(before.values())

    assert sql_store.delete_experiment("p", "doomed") == 2

    assert set(_rows_per_table(sql_store, ids[:2]).values()) == {0}
    assert all(_rows_per_table(sql_store, ids[2:]).values())


def test_log_batch_ids_live_beside_metric_batch_ids(sql_store: SqlStore) -> None:
    run = sql_store.create_run(project="p")
    sql_store.append_logs(run.id, "stdout", "a", batch_id="shared")
    sql_store.log_metrics(run.id, {"m": series([0], [1.0])}, batch_id="shared")
    assert sql_store.list_metric_keys(run.id) == []  # one namespace: clients use fresh ids
    with pytest.raises(InvalidArgumentError) as info:
        sql_store.append_logs(run.id, "stdout", "b", batch_id="x" * 65)
    assert info.value.field == "batch_id"
    assert sql_store.read_logs(run.id) == "a"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        # Values the type hints already rule out, which the REST layer never sends.
        ("metrics", {"metrics": [ExperimentMetric("a", "best")]}),  # type: ignore[arg-type]
        ("metrics", {"metrics": ["recall@10"]}),
        ("metrics", {"metrics": "recall@10"}),
        ("hyperparameters", {"hyperparameters": ["lr"]}),
        ("hyperparameters", {"hyperparameters": {1: "a"}}),
        ("description", {"description": None}),
        ("command", {"command": ""}),
        ("command", {"command": 3}),
    ],
)
def test_mistyped_definition_names_the_field(
    sql_store: SqlStore, field: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        sql_store.create_experiment("p", "e", **kwargs)
    assert info.value.field == field
    assert sql_store.list_projects() == []


def test_goal_given_as_text_is_accepted(sql_store: SqlStore) -> None:
    created = sql_store.create_experiment(
        "p",
        "e",
        metrics=[ExperimentMetric("loss", "min")],  # type: ignore[arg-type]
    )
    assert created.metrics[0].goal.value == "min"


def test_command_and_clear_command_together_are_refused(sql_store: SqlStore) -> None:
    sql_store.create_experiment("p", "e", command="run")
    with pytest.raises(InvalidArgumentError) as info:
        sql_store.update_experiment("p", "e", command="other", clear_command=True)
    assert info.value.field == "command"
    assert sql_store.get_experiment("p", "e").command == "run"


def _chunk_sizes(store: SqlStore, run_id: str, key: str) -> list[int]:
    c = metric_chunks.c
    query = sa.select(c.n_points).where(c.run_id == run_id, c.key == key).order_by(c.seq)
    with store._engine.connect() as conn:
        return list(conn.execute(query).scalars())


def test_a_slow_loggers_small_chunks_are_compacted_when_the_run_finishes(
    sql_store: SqlStore,
) -> None:
    # Flushes of 1,100 points each: every one becomes its own chunk (only chunks
    # under 1,024 points are folded together), as a slow logger leaves them.
    rng = np.random.default_rng(7)
    run = sql_store.create_run(project="p")
    for flush in range(20):
        steps = np.arange(flush * 1000, flush * 1000 + 1100, dtype=np.int64)  # overlapping steps
        values = rng.normal(size=1100)
        values[::97] = np.nan
        stamps = 1.7e9 + flush * 300 + np.cumsum(rng.uniform(0.1, 0.4, 1100))
        sql_store.log_metrics(run.id, {"loss": MetricSeries(steps, values, stamps)})
    sql_store.log_metrics(run.id, {"fast": series(list(range(100)), [0.5] * 100)})
    before = sql_store.get_history(run.id, "loss")
    assert len(_chunk_sizes(sql_store, run.id, "loss")) == 20

    sql_store.finish_run(run.id, status=RunStatus.COMPLETED)

    assert _chunk_sizes(sql_store, run.id, "loss") == [16384, 22000 - 16384]
    after = sql_store.get_history(run.id, "loss")
    assert after.steps.tobytes() == before.steps.tobytes()
    assert after.values.tobytes() == before.values.tobytes()  # NaNs and equal steps' order too
    assert after.timestamps.tobytes() == before.timestamps.tobytes()
    assert _chunk_sizes(sql_store, run.id, "fast") == [100]
    # Points logged after the finish append after the compacted chunks.
    sql_store.log_metrics(run.id, {"loss": series([30_000], [1.0])})
    history = sql_store.get_history(run.id, "loss")
    assert len(history) == 22001 and history.steps[-1] == 30_000
    assert sql_store.get_run(run.id).metrics["loss"].count == 22001


def test_a_batch_appends_its_chunks_without_rewriting_the_stored_ones(
    sql_store: SqlStore,
) -> None:
    # Flushing 40 steps of 25 keys used to read, merge and rewrite each key's
    # small last chunk on every request (every point written ~12 times). Now a
    # batch only appends; small chunks are folded together once per
    # FOLD_EVERY_CHUNKS chunks of the series.
    every = _chunks.FOLD_EVERY_CHUNKS
    run = sql_store.create_run(project="p")
    for flush in range(every):
        steps = list(range(flush * 40, flush * 40 + 40))
        sql_store.log_metrics(run.id, {"m": series(steps, [0.5] * 40)})
    assert _chunk_sizes(sql_store, run.id, "m") == [40] * every
    steps = list(range(every * 40, every * 40 + 40))
    sql_store.log_metrics(run.id, {"m": series(steps, [0.5] * 40)})
    assert _chunk_sizes(sql_store, run.id, "m") == [40 * (every + 1)]
    assert sql_store.get_history(run.id, "m").steps.tolist() == list(range(40 * (every + 1)))


@pytest.mark.parametrize("flush_points", [1, 40, 1000])
def test_a_running_runs_series_keeps_few_small_chunks_and_reads_back_whole(
    sql_store: SqlStore, flush_points: int
) -> None:
    # A run still logging is read (charts, compare) before compact_metrics runs
    # at its finish: its small chunks must stay few whatever the flush size.
    rng = np.random.default_rng(flush_points)
    run = sql_store.create_run(project="p")
    logged = []
    for flush in range(20_000 // flush_points if flush_points > 1 else 400):
        start = flush * flush_points
        steps = np.arange(start, start + flush_points, dtype=np.int64) // 3  # equal steps
        values = rng.normal(size=flush_points)
        values[::7] = np.nan
        stamps = 1.7e9 + start + np.cumsum(rng.uniform(0.1, 0.4, flush_points))
        logged.append(MetricSeries(steps, values, stamps))
        sql_store.log_metrics(run.id, {"m": logged[-1]}, batch_id=f"b{flush}")
        sizes = _chunk_sizes(sql_store, run.id, "m")
        small = [n for n in sizes if n < _chunks.MERGE_BELOW_POINTS]
        assert len(small) <= _chunks.FOLD_EVERY_CHUNKS + 1, sizes
        assert sizes[-len(small) :] == small if small else True  # only trailing ones
    want = MetricSeries.concat(logged)
    got = sql_store.get_history(run.id, "m")
    assert got.steps.tobytes() == want.steps.tobytes()
    assert got.values.tobytes() == want.values.tobytes()
    assert np.allclose(got.timestamps, want.timestamps, rtol=0, atol=1e-6)
    assert sql_store.get_run(run.id).metrics["m"].count == len(want)


def test_multi_row_writes_keep_nulls_extremes_and_bytes(sql_store: SqlStore) -> None:
    # PostgreSQL writes several rows as one statement of column arrays: columns
    # that are NULL in every row, int64 extremes and raw blobs must round-trip.
    config = {f"s{i}": f"text {i}" for i in range(5)} | {"none": None, "big": 2**62}
    run = sql_store.create_run(project="p", config=config)
    steps = np.array([-(2**62), 0, 2**62], dtype=np.int64)
    nan = np.full(3, np.nan)
    batch = {
        f"k{i}": MetricSeries(steps, nan if i % 2 else np.array([1.0, -np.inf, 2.5]), steps * 0.0)
        for i in range(4)
    }
    sql_store.log_metrics(run.id, batch, batch_id="b1")
    sql_store.log_metrics(run.id, batch, batch_id="b1")  # a retry: applied once
    stored = sql_store.get_run(run.id)
    assert stored.config == config
    assert sql_store.search_runs("p", "params.big = 4611686018427387904 and params.none is null")
    for key, logged in batch.items():
        history = sql_store.get_history(run.id, key)
        assert history.steps.tolist() == steps.tolist()
        np.testing.assert_array_equal(history.values, logged.values)
        assert stored.metrics[key].count == 3
    assert math.isnan(stored.metrics["k1"].last) and stored.metrics["k0"].last == 2.5
