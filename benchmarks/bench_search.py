"""Workload 4: searching 10,000 runs with a two-condition filter and an order-by.

The store is filled through the Store API (``create_run`` with 10 params, then
one ``log_metrics`` batch of 5 metrics x 10 steps per run). ``lr`` comes from a
grid (so that MLflow, whose params are strings, can express the same filter
exactly, see bench_mlflow.py) and the final ``recall@10`` is uniform in [0, 1):
about 4/7 x 1/2 of the runs match. The query is timed in a warm process with
one ``Api``; the result is checked (every run matches, best first). A search
returning every match of ``metrics.recall@10 >= 0.75`` (~2,500 runs) is timed
as numpy columns (``Api.runs_columns``) and, for comparison, as records.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np
from _timing import Figure, format_value, fresh_dir, ms, progress, time_calls

import ragtrack
from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.storage import open_store

NAME = "search"
TITLE = "Searching runs"
PROJECT = "bench-search"
FILTER = "params.lr < 0.01 and metrics.recall@10 > 0.5"
ORDER_BY = "-metrics.recall@10"
#: A search returning many runs: about a quarter of them, every match returned.
MANY_FILTER = "metrics.recall@10 >= 0.75"
LIMIT = 100
#: The learning rates runs draw from; 4 of 7 are below 0.01.
LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
METRICS = ("recall@10", "mrr", "ndcg@10", "answer_f1", "loss")
STEPS = 10


def params(rng: random.Random, i: int) -> dict[str, Any]:
    """10 params; the same values are logged to MLflow in bench_mlflow.py."""
    return {
        "lr": rng.choice(LR_GRID),
        "batch_size": rng.choice((16, 32, 64)),
        "chunk_size": rng.choice((256, 512, 1024)),
        "top_k": rng.choice((5, 10, 20)),
        "retriever": rng.choice(("bm25", "dense", "hybrid")),
        "embedding_model": rng.choice(("bge-small-en", "e5-base", "gte-large")),
        "temperature": rng.choice((0.0, 0.2, 0.7)),
        "epochs": rng.choice((1, 2, 3)),
        "warmup_steps": 100,
        "seed": i,
    }


def final_metrics(rng: random.Random) -> dict[str, float]:
    """Each run's last value of every metric; recall@10 decides the filter."""
    return {name: rng.random() for name in METRICS}


def curves(final: dict[str, float], start_time: float) -> dict[str, MetricSeries]:
    """A short rising curve per metric ending at its final value."""
    steps = np.arange(STEPS, dtype=np.int64)
    stamps = start_time + steps.astype(np.float64)
    ramp = (steps + 1) / STEPS
    return {name: MetricSeries(steps, value * ramp, stamps) for name, value in final.items()}


def populate(path: str, n_runs: int, seed: int = 0) -> float:
    """Fill a store with ``n_runs`` completed runs; returns the seconds it took."""
    rng = random.Random(seed)
    store = open_store(dir=path)
    start = time.perf_counter()
    t0 = time.time() - n_runs
    try:
        for i in range(n_runs):
            record = store.create_run(
                project=PROJECT,
                config=params(rng, i),
                status=RunStatus.COMPLETED,
                created_at=t0 + i,
            )
            store.log_metrics(record.id, curves(final_metrics(rng), t0 + i))
    finally:
        store.close()
    return time.perf_counter() - start


def check(runs: list[ragtrack.ApiRun], expected: int) -> None:
    recalls = [r.summary["recall@10"] for r in runs]
    if len(runs) != expected:
        raise AssertionError(f"expected {expected} runs, got {len(runs)}")
    if recalls != sorted(recalls, reverse=True):
        raise AssertionError("runs are not ordered by recall@10, best first")
    if not all(r.params["lr"] < 0.01 and r.summary["recall@10"] > 0.5 for r in runs):
        raise AssertionError("a run that does not match the filter was returned")


def check_columns(api: ragtrack.Api) -> int:
    """The column search returns what the record search does; how many runs."""
    records = api.runs(PROJECT, MANY_FILTER, ORDER_BY)
    columns = api.runs_columns(PROJECT, MANY_FILTER, ORDER_BY)
    if columns["id"].tolist() != [r.id for r in records]:
        raise AssertionError("runs_columns returned other runs than runs, or in another order")
    recalls = [r.summary["recall@10"] for r in records]
    if columns["metrics.recall@10"].tolist() != recalls or min(recalls) < 0.75:
        raise AssertionError("runs_columns holds other recall@10 values than the records")
    if columns["params.lr"].tolist() != [r.params["lr"] for r in records]:
        raise AssertionError("runs_columns holds other lr values than the records")
    return len(records)


def run(quick: bool) -> list[Figure]:
    n_runs, times = (500, 5) if quick else (10_000, 10)
    with fresh_dir(NAME) as path:
        progress(f"populating {n_runs:,} runs through the store")
        populate_s = populate(path, n_runs)
        api = ragtrack.Api(dir=path)
        try:
            matching = api.count_runs(PROJECT, FILTER)
            check(api.runs(PROJECT, FILTER, ORDER_BY, limit=LIMIT), min(LIMIT, matching))
            check(api.runs(PROJECT, FILTER, ORDER_BY), matching)
            progress(f"{times} x the search")
            limited = time_calls(lambda: api.runs(PROJECT, FILTER, ORDER_BY, limit=LIMIT), times)
            unlimited = time_calls(lambda: api.runs(PROJECT, FILTER, ORDER_BY), max(3, times // 2))
            counting = time_calls(lambda: api.count_runs(PROJECT, FILTER), max(3, times // 2))
            progress(f"{times} x a search returning every match of {MANY_FILTER!r}")
            returned = check_columns(api)
            as_columns = time_calls(lambda: api.runs_columns(PROJECT, MANY_FILTER, ORDER_BY), times)
            as_records = time_calls(lambda: api.runs(PROJECT, MANY_FILTER, ORDER_BY), 3)
        finally:
            api.close()
    return [
        Figure(
            f"api.runs(filter, order_by, limit={LIMIT}) over {n_runs:,} runs",
            ms(limited.median),
            "ms",
            target=50.0,
            op="<",
            stat=f"median of {times}",
            detail=f"best {format_value(ms(limited.best), 'ms')}; "
            f'filter "{FILTER}", order_by "{ORDER_BY}"',
        ),
        Figure("runs matching the filter (informational)", matching, "runs"),
        Figure(
            f"the same search without a limit ({matching:,} runs returned, informational)",
            ms(unlimited.median),
            "ms",
            stat=f"median of {len(unlimited)}",
        ),
        Figure(
            f"api.runs_columns(filter, order_by): all {returned:,} matches of {n_runs:,} runs",
            ms(as_columns.median),
            "ms",
            target=20.0,
            op="<",
            stat=f"median of {times}",
            detail=f"{format_value(1e6 * as_columns.median / returned, 'µs')} a run; every "
            f'param and metric as a numpy column; filter "{MANY_FILTER}"',
        ),
        Figure(
            f"api.runs(...) of the same {returned:,} runs as records (informational)",
            ms(as_records.median),
            "ms",
            stat=f"median of {len(as_records)}",
            detail=f"{format_value(1e6 * as_records.median / returned, 'µs')} a run",
        ),
        Figure(
            "api.count_runs(filter) (informational)",
            ms(counting.median),
            "ms",
            stat=f"median of {len(counting)}",
        ),
        Figure(
            f"populating the store: {n_runs:,} x (create_run + log_metrics) (informational)",
            populate_s,
            "s",
            detail=f"{format_value(ms(populate_s / n_runs), 'ms')} a run",
        ),
    ]
