"""Workload 5: reading a 1,000,000-point series back as numpy arrays.

The series is a realistic training curve: steps 0..N-1, a noisy decaying loss
(random float64 values, so nothing compresses them), and wall-clock timestamps
about 0.25 s apart with random jitter. It is written through the store in
10,000-point batches, as the background writer of a fast logger would, then
``api.run(id).history("loss")`` is timed in a warm process. Reading the same
series from a freshly constructed ``Api(dir)`` and from the chunk layout a slow
logger leaves behind (~1,000-point chunks) are reported for information; then
the slow logger's run finishes, which compacts its chunks, and the read is
timed again (with how long that ``finish_run`` took).
"""

from __future__ import annotations

import sqlite3
import time

import numpy as np
from _timing import Figure, Samples, format_value, fresh_dir, ms, progress, time_calls

import ragtrack
from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.storage import Store, open_store

NAME = "history"
TITLE = "Reading a long metric series"
#: Points per write in the main layout (a fast logger: one flush a second).
FAST_BATCH = 10_000
#: A batch this large starts a new chunk every time, which reproduces the
#: ~1,000-point chunks that a slow logger's many small flushes end up with.
SLOW_BATCH = 1_024


def training_curve(n: int, seed: int = 0) -> MetricSeries:
    """``n`` points of a noisy decaying loss with jittered ~0.25 s timestamps."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n, dtype=np.int64)
    values = 2.0 * np.exp(-steps / (n / 5)) + rng.normal(0.0, 0.01, n)
    timestamps = 1.79e9 + np.cumsum(rng.exponential(0.25, n))
    return MetricSeries(steps, values, timestamps)


def write_series(store: Store, run_id: str, key: str, series: MetricSeries, batch: int) -> None:
    for i in range(0, len(series), batch):
        piece = MetricSeries(
            series.steps[i : i + batch],
            series.values[i : i + batch],
            series.timestamps[i : i + batch],
        )
        store.log_metrics(run_id, {key: piece}, batch_id=f"{key}-{i}")


def populate(path: str, series: MetricSeries, batch: int) -> str:
    """A store at ``path`` with one run holding ``series`` as "loss"; returns the run id."""
    store = open_store(dir=path)
    try:
        run_id = store.create_run(project="bench-history").id
        write_series(store, run_id, "loss", series, batch)
    finally:
        store.close()
    return run_id


def finish(path: str, run_id: str) -> tuple[float, int]:
    """Finish the run (compacting its chunks): (seconds it took, chunk rows left)."""
    store = open_store(dir=path)
    try:
        start = time.perf_counter()
        store.finish_run(run_id, status=RunStatus.COMPLETED)
        seconds = time.perf_counter() - start
    finally:
        store.close()
    with sqlite3.connect(f"{path}/ragtrack.db") as db:
        (rows,) = db.execute("SELECT count(*) FROM metric_chunks").fetchone()
    return seconds, int(rows)


def read_samples(path: str, run_id: str, expected: MetricSeries, times: int) -> Samples:
    """Warm-process timings of ``api.run(run_id).history("loss")``, checked against ``expected``."""
    api = ragtrack.Api(dir=path)
    try:
        history = api.run(run_id).history("loss")
        if not (
            np.array_equal(history.steps, expected.steps)
            and np.array_equal(history.values, expected.values)
            and np.allclose(history.timestamps, expected.timestamps, rtol=0, atol=1e-6)
        ):
            raise AssertionError("the series read back differs from the one written")
        return time_calls(lambda: api.run(run_id).history("loss"), times)
    finally:
        api.close()


def cold_samples(path: str, run_id: str, times: int) -> Samples:
    """Timings of ``Api(dir).run(id).history("loss")`` including opening the store."""

    def cold() -> None:
        api = ragtrack.Api(dir=path)
        api.run(run_id).history("loss")
        api.close()

    return time_calls(cold, times, warmup=1)


def run(quick: bool) -> list[Figure]:
    n, times = (50_000, 5) if quick else (1_000_000, 10)
    series = training_curve(n)
    with fresh_dir(NAME) as path:
        progress(f"writing {n:,} points in {FAST_BATCH:,}-point batches")
        run_id = populate(f"{path}/fast", series, FAST_BATCH)
        progress(f"{times} x history('loss')")
        warm = read_samples(f"{path}/fast", run_id, series, times)
        cold = cold_samples(f"{path}/fast", run_id, max(3, times // 2))
        progress(f"writing {n:,} points in {SLOW_BATCH:,}-point batches")
        slow_id = populate(f"{path}/slow", series, SLOW_BATCH)
        slow = read_samples(f"{path}/slow", slow_id, series, times)
        progress("finishing the slow logger's run (compacts its chunks)")
        finish_seconds, chunk_rows = finish(f"{path}/slow", slow_id)
        compacted = read_samples(f"{path}/slow", slow_id, series, times)
    median = f"median of {times}"
    return [
        Figure(
            f"api.run(id).history('loss'), {n:,} points",
            ms(warm.median),
            "ms",
            target=50.0,
            op="<",
            stat=median,
            detail=f"best {format_value(ms(warm.best), 'ms')}; "
            f"{FAST_BATCH:,}-point chunks, warm Api",
        ),
        Figure(
            "the same from a new Api(dir) each time (informational)",
            ms(cold.median),
            "ms",
            stat=f"median of {len(cold)}",
            detail="includes opening the store",
        ),
        Figure(
            f"the same series in ~{SLOW_BATCH:,}-point chunks (informational)",
            ms(slow.median),
            "ms",
            stat=median,
            detail=f"{-(-n // SLOW_BATCH):,} chunk rows, the layout a slow logger leaves",
        ),
        Figure(
            "the slow logger's series once its run finished (compacted)",
            ms(compacted.median),
            "ms",
            target=50.0,
            op="<",
            stat=median,
            detail=f"best {format_value(ms(compacted.best), 'ms')}; {chunk_rows:,} chunk rows; "
            f"finish_run took {format_value(ms(finish_seconds), 'ms')}",
        ),
    ]
