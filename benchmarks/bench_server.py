"""Workload 8: the tracking server on loopback, backed by PostgreSQL.

Figures of issues #3 and #9, each against a real `ragtrack server` process:

* **ingest** — one client process logs 40,000 steps x 25 metrics (1,000,000
  points) through ``ragtrack.init(uri=...)``; the time runs from the first
  ``run.log`` to ``run.finish()`` returning, when the server has committed every
  point (checked by reading the counts back).
* **1,000 points a request** — one client sends 400 metric batches of 1,000
  points (25 keys x 40 steps, each with a batch id) one after another through
  the REST store, as a training job flushing every 40 steps does; the counts
  are read back.
* **16 clients** — 16 processes each log 10 metrics at ~1,000 steps/s for 8 s
  while this process times ``GET /api/v1/runs/{id}`` every 10 ms; afterwards
  every run must hold every point exactly once.
* **search** — ``GET /api/v1/runs`` with two conditions, an order-by and a limit
  of 100 over a project of 100,000 runs (the workload of ``bench_search.py``,
  10x larger). The runs are written straight into the database in bulk through
  the SQL store's own metric writer (real chunks and summaries; 9 ms a run
  through the API would make populating take 15 minutes), and the database is
  kept between benchmark runs (``ragtrack_bench_search_100k``) and rebuilt when
  the schema revision or the data recipe changes. The runs table page of that
  project is timed too (its column keys come from the ``run_keys`` table).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import numpy as np
import sqlalchemy as sa
import urllib3
from _server import database_exists, database_url, recreate_database, running_server
from _timing import Figure, format_value, ms, progress, time_calls
from bench_search import FILTER, LIMIT, ORDER_BY, curves, final_metrics, params

import ragtrack
from ragtrack.entities import MetricSeries
from ragtrack.storage._params import flatten_config
from ragtrack.storage.rest import RestStore
from ragtrack.storage.sql._schema import SCHEMA_REVISION

NAME = "server"
TITLE = "Tracking server on PostgreSQL over loopback"
INGEST_DB = "ragtrack_bench_server"
SEARCH_DB = "ragtrack_bench_search_100k"
SEARCH_PROJECT = "bench-search"
#: Change when the populated data changes, so a kept database is rebuilt.
SEARCH_RECIPE = "2"
NO_CAPTURE = {"git": False, "environment": False, "hardware": False}
NO_CAPTURE |= {"console": False, "system_metrics": False}


# -- ingest from one client -----------------------------------------------------------


def ingest(url: str, steps: int, keys: int) -> tuple[float, int]:
    """Seconds from the first log to a durable finish, and the points stored."""
    names = [f"metric_{i:02d}" for i in range(keys)]
    rows = np.random.default_rng(0).random((steps, keys)).tolist()
    run = ragtrack.init(uri=url, project="bench-ingest", capture=NO_CAPTURE)
    start = time.perf_counter()
    for step, row in enumerate(rows):
        run.log(dict(zip(names, row, strict=True)), step=step)
    run.finish()
    elapsed = time.perf_counter() - start
    store = RestStore(url)
    try:
        stored = sum(s.count for s in store.get_run(run.id).metrics.values())
    finally:
        store.close()
    return elapsed, stored


def ingest_requests(url: str, requests: int, keys: int, per_request: int) -> float:
    """Seconds for ``requests`` metric batches of ``per_request`` points each (one
    client, one request at a time, each with a batch id), all committed."""
    steps_per = per_request // keys
    rng = np.random.default_rng(1)
    names = [f"metric_{i:02d}" for i in range(keys)]
    batches = []
    for r in range(requests):
        steps = np.arange(r * steps_per, (r + 1) * steps_per, dtype=np.int64)
        stamps = 1.7e9 + steps.astype(np.float64)
        batches.append({k: MetricSeries(steps, rng.random(steps_per), stamps) for k in names})
    store = RestStore(url)
    try:
        run_id = store.create_run(project="bench-requests").id
        start = time.perf_counter()
        for i, batch in enumerate(batches):
            store.log_metrics(run_id, batch, batch_id=f"b{i}")
        elapsed = time.perf_counter() - start
        stored = sum(s.count for s in store.get_run(run_id).metrics.values())
    finally:
        store.close()
    if stored != requests * steps_per * keys:
        raise AssertionError(f"{stored:,} points stored, {requests * steps_per * keys:,} sent")
    return elapsed


# -- 16 concurrent clients ---------------------------------------------------------------

CLIENT = textwrap.dedent(
    """
    import sys, time, ragtrack
    url, seconds, rate = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    run = ragtrack.init(uri=url, project="bench-concurrent", capture=False)
    print(run.id, flush=True)
    start = time.perf_counter()
    step = 0
    while time.perf_counter() - start < seconds:
        for _ in range(rate // 100):
            run.log({f"m{k}": step * 0.001 + k for k in range(10)}, step=step)
            step += 1
        time.sleep(0.01)
    run.finish()
    print(step, flush=True)
    """
)


def concurrent_clients(
    url: str, clients: int, seconds: float, rate: int
) -> tuple[list[float], dict[str, int]]:
    """GET-run latencies seen while ``clients`` processes log; steps logged per run."""
    env = dict(os.environ, RAGTRACK_HEARTBEAT_INTERVAL="5")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, url, str(seconds), str(rate)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(clients)
    ]
    run_ids = [p.stdout.readline().strip() for p in procs if p.stdout is not None]
    store = RestStore(url)
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        i = 0
        while not stop.is_set():
            t = time.perf_counter()
            store.get_run(run_ids[i % len(run_ids)])
            latencies.append(time.perf_counter() - t)
            i += 1
            time.sleep(0.01)

    prober = threading.Thread(target=probe)
    prober.start()
    steps: dict[str, int] = {}
    try:
        for run_id, p in zip(run_ids, procs, strict=True):
            out, _ = p.communicate(timeout=seconds + 120)
            if p.returncode != 0:
                raise RuntimeError(f"client for run {run_id} exited with {p.returncode}")
            steps[run_id] = int(out.strip().splitlines()[-1])
    finally:
        stop.set()
        prober.join()
    for run_id, n in steps.items():
        record = store.get_run(run_id)
        for k in range(10):
            history = store.get_history(run_id, f"m{k}")
            expected = np.arange(n, dtype=np.int64)
            if record.metrics[f"m{k}"].count != n or not np.array_equal(history.steps, expected):
                raise AssertionError(
                    f"run {run_id} key m{k}: {len(history)} points stored, {n} logged"
                )
        if record.status.value != "completed":
            raise AssertionError(f"run {run_id} is {record.status}, not completed")
    store.close()
    return latencies, steps


# -- search over 100,000 runs --------------------------------------------------------------


def search_database(n_runs: int) -> str:
    """The URL of a database holding ``n_runs`` search runs, built if missing or stale."""
    fingerprint = f"{SCHEMA_REVISION}/{SEARCH_RECIPE}/{n_runs}"
    name = f"{SEARCH_DB}_{n_runs}" if n_runs != 100_000 else SEARCH_DB
    url = database_url(name)
    if database_exists(name):
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                kept = conn.execute(sa.text("SELECT fingerprint FROM bench_fingerprint")).scalar()
        except sa.exc.SQLAlchemyError:
            kept = None
        finally:
            engine.dispose()
        if kept == fingerprint:
            progress(f"reusing database {name} ({n_runs:,} runs)")
            return url
    progress(f"building database {name}: {n_runs:,} runs in bulk (kept for later runs)")
    url = recreate_database(name)
    populate_bulk(url, n_runs)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_fingerprint (fingerprint text)"))
        conn.execute(sa.text("INSERT INTO bench_fingerprint VALUES (:f)"), {"f": fingerprint})
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return url


def populate_bulk(url: str, n_runs: int, seed: int = 0) -> None:
    """Insert completed runs with params and 5 ten-step metric curves each: the
    rows the SQL store itself writes (its chunk codec and summary fold), 5,000
    runs a transaction with multi-row inserts."""
    from ragtrack.storage.sql import _chunks, _run_keys
    from ragtrack.storage.sql._metric_io import _fold_summary
    from ragtrack.storage.sql._schema import metric_chunks, projects, runs, summaries
    from ragtrack.storage.sql._schema import params as params_table

    rng = random.Random(seed)
    engine = sa.create_engine(url)
    t0 = time.time() - n_runs
    try:
        with engine.begin() as conn:
            pid = conn.execute(
                sa.insert(projects)
                .values(name=SEARCH_PROJECT, created_at=t0, runs_created=n_runs)
                .returning(projects.c.id)
            ).scalar_one()
        for first in range(0, n_runs, 5000):
            run_rows: list[dict[str, Any]] = []
            param_rows: list[dict[str, Any]] = []
            chunk_rows: list[dict[str, Any]] = []
            summary_rows: list[dict[str, Any]] = []
            for i in range(first, min(n_runs, first + 5000)):
                run_id = f"{i:016x}"
                config = params(rng, i)
                run_rows.append(
                    {
                        "id": run_id,
                        "project_id": pid,
                        "experiment_id": None,
                        "name": f"bench-{i}",
                        "status": "completed",
                        "created_at": t0 + i,
                        "started_at": t0 + i,
                        "ended_at": t0 + i + 1,
                        "heartbeat_at": t0 + i + 1,
                        "config_json": json.dumps(config),
                        "notes": "",
                        "metadata_json": "{}",
                    }
                )
                param_rows += [
                    {"run_id": run_id, "key": k, "value_text": t, "value_num": v, "kind": kind}
                    for k, t, v, kind in flatten_config(config)
                ]
                for key, series in curves(final_metrics(rng), t0 + i).items():
                    steps_blob, values_blob, times_blob = _chunks.encode(series)
                    chunk_rows.append(
                        {
                            "run_id": run_id,
                            "key": key,
                            "seq": 0,
                            "n_points": len(series),
                            "encoding": _chunks.ENCODING_V1,
                            "steps_blob": steps_blob,
                            "values_blob": values_blob,
                            "times_blob": times_blob,
                        }
                    )
                    summary = _fold_summary(run_id, key, series, None)
                    summary["tail_seq"], summary["tail_points"] = 0, len(series)
                    summary_rows.append(summary)
            with engine.begin() as conn:
                for table, rows in (
                    (runs, run_rows),
                    (params_table, param_rows),
                    (metric_chunks, chunk_rows),
                    (summaries, summary_rows),
                ):
                    conn.execute(sa.insert(table), rows)
            progress(f"  {first + len(run_rows):,} runs")
        with engine.begin() as conn:
            _run_keys.rebuild(conn, pid)
    finally:
        engine.dispose()


def get_page(url: str, path: str) -> bytes:
    """The body of a page of the server's UI (no token: the bench server has none)."""
    response = urllib3.request("GET", url + path, timeout=30)
    if response.status != 200:
        raise AssertionError(f"GET {path}: {response.status} {response.data[:300]!r}")
    return response.data


def check_search(records: list[Any], expected: int) -> None:
    recalls = [r.summary["recall@10"] for r in records]
    if len(records) != expected or recalls != sorted(recalls, reverse=True):
        raise AssertionError(
            f"search returned {len(records)} runs (expected {expected}) or bad order"
        )
    if not all(r.config["lr"] < 0.01 and r.summary["recall@10"] > 0.5 for r in records):
        raise AssertionError("a run that does not match the filter was returned")


# -- the workload ----------------------------------------------------------------------------


def run(quick: bool) -> list[Figure]:
    steps, keys = (2_000, 25) if quick else (40_000, 25)
    clients, seconds = (4, 3.0) if quick else (16, 8.0)
    requests = 50 if quick else 400
    n_search = 5_000 if quick else 100_000
    figures: list[Figure] = []

    progress("ingest: starting a server on a fresh PostgreSQL database")
    with running_server(recreate_database(INGEST_DB), workers=2) as url:
        ingest(url, 200, keys)  # warm-up: connections, imports, the first run's project
        samples = []
        for _ in range(3):
            elapsed, stored = ingest(url, steps, keys)
            if stored != steps * keys:
                raise AssertionError(f"{stored:,} points stored, {steps * keys:,} logged")
            samples.append(elapsed)
        rate = steps * keys / min(samples)
        figures.append(
            Figure(
                f"ingest from one client: {steps * keys:,} points, log → durable finish",
                rate,
                "points/s",
                target=500_000.0,
                op=">=",
                stat="best of 3",
                detail=f"{format_value(min(samples), 's')} best, "
                f"{format_value(statistics.median(samples), 's')} median",
            )
        )

        progress(f"{requests} requests of 1,000 points from one client")
        ingest_requests(url, 20, keys, 1_000)  # warm-up
        per_request = [ingest_requests(url, requests, keys, 1_000) for _ in range(3)]
        figures.append(
            Figure(
                f"ingest at 1,000 points a request: {requests} requests from one client",
                requests * 1_000 / min(per_request),
                "points/s",
                target=500_000.0,
                op=">=",
                stat="best of 3",
                detail=f"{format_value(ms(min(per_request) / requests), 'ms')} a request "
                f"(25 keys x 40 steps, each with a batch id)",
            )
        )

        progress(f"{clients} clients logging for {seconds:.0f} s while GET run is timed")
        latencies, logged = concurrent_clients(url, clients, seconds, rate=1000)
        latencies.sort()
        p99 = latencies[int(0.99 * (len(latencies) - 1))]
        figures.append(
            Figure(
                f"p99 of GET run while {clients} clients log",
                ms(p99),
                "ms",
                target=100.0,
                op="<",
                stat=f"{len(latencies)} requests",
                detail=f"median {format_value(ms(statistics.median(latencies)), 'ms')}; "
                f"{sum(logged.values()) * 10:,} points logged, every one stored exactly once",
            )
        )

    search_url = search_database(n_search)
    with running_server(search_url, workers=1) as url:
        store = RestStore(url)
        try:
            matching = store.count_runs(SEARCH_PROJECT, FILTER)
            check_search(
                store.search_runs(SEARCH_PROJECT, FILTER, ORDER_BY, limit=LIMIT),
                min(LIMIT, matching),
            )
            progress(f"10 x the search over {n_search:,} runs")
            timed = time_calls(
                lambda: store.search_runs(SEARCH_PROJECT, FILTER, ORDER_BY, limit=LIMIT), 10
            )
            progress(f"10 x the runs table page over {n_search:,} runs")
            table = time_calls(lambda: get_page(url, f"/projects/{SEARCH_PROJECT}/runs"), 10)
            keys = time_calls(lambda: store.list_run_keys(SEARCH_PROJECT), 10)
        finally:
            store.close()
    figures.append(
        Figure(
            f"GET /api/v1/runs (filter, order_by, limit={LIMIT}) over {n_search:,} runs",
            ms(timed.median),
            "ms",
            target=200.0,
            op="<",
            stat="median of 10",
            detail=f"best {format_value(ms(timed.best), 'ms')}; {matching:,} runs match; "
            f"client-side parsing included",
        )
    )
    figures.append(
        Figure(
            f"runs table page /projects/{SEARCH_PROJECT}/runs over {n_search:,} runs",
            ms(table.median),
            "ms",
            target=100.0,
            op="<",
            stat="median of 10",
            detail=f"best {format_value(ms(table.best), 'ms')}; its keys "
            f"(GET .../run-keys) {format_value(ms(keys.median), 'ms')} (median)",
        )
    )
    return figures
