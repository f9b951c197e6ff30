"""Workload 9: the web UI's server time — a runs table page over 10,000 runs, and
the chart data of a 1,000,000-point series.

The store is an embedded SQLite store filled through the Store API: project
``bench-ui`` with 10,000 runs in two experiments (``chunking``, ``reranker``),
each with 8 params (6 of them nested: ``chunker.size``, ``retriever.top_k``...),
6 explicit summary metrics that depend on the params, a 20-point ``train/loss``
curve (its last value is a 7th summary value), tags, realistic start and end
times, and ~3 % failed runs; plus one run in ``bench-ui-long`` holding a
1,000,000-point ``train/loss`` series written in 10,000-point batches (the
series of workload 5). Each run costs three commits (``create_run``,
``finish_run`` with the curve and the summary, ``update_run`` for a realistic
end time): 20-30 s for the whole store on a busy 2-core VM, under the ~30 s
that would justify keeping it between runs, so it is built fresh each time.

Requests go through the ASGI app of ``ragtrack server`` / ``ragtrack ui``
(``create_app`` over the store, every middleware included) with httpx's ASGI
transport, in one event loop: "server time" is from sending the request to
having the whole response body, without a network. Each URL gets warm-up
requests, then 25 timed ones; the median is the figure, the p95 is printed
next to it. Responses are checked: 50 rows a page, rows in the requested order
and matching the filter, at most 2,000 points a chart.
"""

from __future__ import annotations

import asyncio
import gc
import math
import random
import statistics
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from _timing import Figure, format_value, fresh_dir, ms, progress
from bench_history import training_curve, write_series

from ragtrack.entities import ExperimentMetric, MetricGoal, MetricSeries, RunStatus
from ragtrack.storage import Store, open_store

NAME = "ui"
TITLE = "Web UI: runs table and chart data"
PROJECT = "bench-ui"
LONG_PROJECT = "bench-ui-long"
SERIES_KEY = "train/loss"
MAX_POINTS = 2000
PER_PAGE = 50
SORT = "-metrics.recall@10"
FILTER = 'params.retriever.embedding_model = "bge-base" and metrics.recall@10 > 0.6'
CHUNK_SIZES = (256, 512, 1024)
TOP_KS = (3, 5, 10, 20)
MODELS = ("bge-base", "e5-base", "minilm")
CURVE_POINTS = 20


# -- the store -----------------------------------------------------------------------


def config(rng: random.Random, i: int) -> dict[str, Any]:
    """8 params, 6 of them nested, as a RAG sweep logs them."""
    return {
        "chunker": {"size": rng.choice(CHUNK_SIZES), "overlap": rng.choice((0, 32, 64))},
        "retriever": {"top_k": rng.choice(TOP_KS), "embedding_model": rng.choice(MODELS)},
        "generator": {"model": "llama-3.1-8b-instruct", "temperature": rng.choice((0.0, 0.3))},
        "lr": rng.choice((1e-5, 3e-5, 1e-4)),
        "seed": i,
    }


def summary(rng: random.Random, params: dict[str, Any]) -> dict[str, float]:
    """6 evaluation metrics with a little structure (chunk size and model matter)."""
    recall = (
        0.55
        + {256: -0.05, 512: 0.05, 1024: -0.02}[params["chunker"]["size"]]
        + {"bge-base": 0.03, "e5-base": 0.01, "minilm": -0.03}[
            params["retriever"]["embedding_model"]
        ]
        + rng.gauss(0.0, 0.04)
    )
    top_k = params["retriever"]["top_k"]
    return {
        "recall@10": recall,
        "ndcg@10": recall * 0.8 + rng.gauss(0.0, 0.02),
        "mrr": recall * 0.7 + rng.gauss(0.0, 0.02),
        "faithfulness": 0.8 - abs(top_k - 5) * 0.01 + rng.gauss(0.0, 0.03),
        "latency_ms": 40.0 + top_k * 3.0 + rng.expovariate(1 / 10),
        "eval/loss": 1.2 - recall + rng.gauss(0.0, 0.02),
    }


def curve(rng: random.Random, start: float) -> MetricSeries:
    steps = np.arange(CURVE_POINTS, dtype=np.int64)
    values = 2.0 * np.exp(-steps / 6) + 0.3 + rng.random() * 0.05
    return MetricSeries(steps, values, start + steps.astype(np.float64) * 30.0)


def populate(store: Store, n_runs: int, seed: int = 0) -> None:
    """``n_runs`` finished runs in :data:`PROJECT`, oldest first, a minute apart."""
    rng = random.Random(seed)
    for name, goal in (("chunking", MetricGoal.MAX), ("reranker", MetricGoal.MAX)):
        store.create_experiment(
            PROJECT,
            name,
            description=f"bench: {name}",
            metrics=[ExperimentMetric("recall@10", goal), ExperimentMetric("faithfulness", goal)],
        )
    t0 = time.time() - n_runs * 60.0 - 3600.0
    for i in range(n_runs):
        created = t0 + i * 60.0
        params = config(rng, i)
        tags = ["baseline"] if i % 500 == 0 else ["candidate"] if rng.random() < 0.1 else []
        record = store.create_run(
            project=PROJECT,
            experiment="chunking" if i % 4 else "reranker",
            config=params,
            tags=tags,
            created_at=created,
        )
        failed = rng.random() < 0.03
        status = RunStatus.FAILED if failed else RunStatus.COMPLETED
        store.finish_run(
            record.id,
            status=status,
            error="RuntimeError: CUDA out of memory" if failed else None,
            batch={SERIES_KEY: curve(rng, created)},
            summary=None if failed else summary(rng, params),
        )
        store.update_run(record.id, ended_at=created + 600.0 + rng.random() * 1800.0)
        if (i + 1) % 2000 == 0:
            progress(f"  {i + 1:,} runs")


def populate_long(store: Store, n_points: int) -> str:
    """One run holding an ``n_points`` training curve; returns its id."""
    run_id = store.create_run(project=LONG_PROJECT, name="long-training").id
    write_series(store, run_id, SERIES_KEY, training_curve(n_points), 10_000)
    store.update_run(run_id, status=RunStatus.COMPLETED)
    return run_id


# -- timing requests through the ASGI app ---------------------------------------------


@dataclass
class Timed:
    """Server times of one URL, in seconds, and its last response.

    ``cpu`` is the process's CPU time per request (every thread: sync handlers
    run in a worker thread). On a shared machine other processes stretch the
    wall-clock figure; the CPU time says what the request itself cost.
    """

    values: list[float]
    cpu: list[float]
    response: httpx.Response

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def p95(self) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]

    def detail(self) -> str:
        best = format_value(ms(min(self.values)), "ms")
        cpu = format_value(ms(statistics.median(self.cpu)), "ms")
        size = len(self.response.content) / 1024
        return (
            f"p95 {format_value(ms(self.p95), 'ms')}, best {best}, median CPU time {cpu}; "
            f"{size:,.0f} KiB"
        )


async def time_url(client: httpx.AsyncClient, url: str, times: int, warmup: int = 3) -> Timed:
    """``times`` timed GETs of ``url`` after ``warmup`` untimed ones; each must answer 200."""
    response = None
    for _ in range(warmup):
        response = await client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"GET {url}: {response.status_code} {response.text[:500]}")
    gc.collect()
    values, cpu = [], []
    for _ in range(times):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = await client.get(url)
        values.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if response.status_code != 200:
            raise AssertionError(f"GET {url}: {response.status_code} {response.text[:500]}")
    assert response is not None
    return Timed(values, cpu, response)


def runs_url(suffix: str = "", **query: str) -> str:
    path = f"/projects/{PROJECT}/runs{suffix}"
    return f"{path}?{urllib.parse.urlencode(query)}" if query else path


def urls(long_id: str) -> dict[str, str]:
    """The URLs timed, by figure name."""
    series = f"key={SERIES_KEY}&max_points={MAX_POINTS}"
    return {
        "page": runs_url(),
        "sorted": runs_url(sort=SORT),
        "filtered": runs_url(filter=FILTER, sort=SORT),
        "json": runs_url(".json"),
        "series": f"/runs/{long_id}/series.json?{series}",
        "project": f"/projects/{PROJECT}",
        "api_runs": f"/api/v1/runs?project={PROJECT}&limit={PER_PAGE}",
        "api_history": f"/api/v1/runs/{long_id}/metrics/history?{series}",
    }


async def measure(
    store: Store, targets: dict[str, str], times: int
) -> tuple[dict[str, Timed], dict[str, Any]]:
    """Server times of every URL of ``targets`` through the app over ``store``, and
    the JSON (twins) of the runs table pages and the chart, for checking."""
    from ragtrack.server.app import create_app

    transport = httpx.ASGITransport(app=create_app(store))
    results: dict[str, Timed] = {}
    bodies: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, url in targets.items():
            progress(f"{times} x GET {url}")
            results[name] = await time_url(client, url, times)
        for name in ("page", "sorted", "filtered"):
            path, _, query = targets[name].partition("?")
            bodies[name] = (await client.get(f"{path}.json?{query}")).json()
        bodies["series"] = results["series"].response.json()
    return results, bodies


# -- checking what came back ------------------------------------------------------------


def recall(run: dict[str, Any]) -> float | None:
    value: float | None = run["explicit_summary"].get("recall@10")
    return value


def check_table(page: Timed, body: dict[str, Any], n_runs: int, *, sort: bool, filter: bool) -> int:
    """The HTML page has a table; its JSON twin a full first page, ordered and
    filtered as asked. Returns how many runs the page says match."""
    if "<table" not in page.response.text:
        raise AssertionError(f"{page.response.url}: no <table> in the page")
    rows = body["runs"]
    if len(rows) != min(PER_PAGE, body["total"]):
        raise AssertionError(f"{len(rows)} rows on a page of {body['total']:,}")
    recalls = [recall(r) for r in rows]
    if sort and recalls != sorted(
        recalls, key=lambda v: -math.inf if v is None else v, reverse=True
    ):
        raise AssertionError("rows are not ordered by recall@10, best first")
    if filter:
        for r in rows:
            value = recall(r)
            if r["config"]["retriever"]["embedding_model"] != "bge-base" or not (
                value is not None and value > 0.6
            ):
                raise AssertionError(f"run {r['id']} does not match the filter")
    elif body["total"] != n_runs:
        raise AssertionError(f"the page counts {body['total']:,} runs, expected {n_runs:,}")
    total: int = body["total"]
    return total


def check_series(body: dict[str, Any], n_points: int) -> int:
    """At most MAX_POINTS points spanning the whole series; returns how many."""
    kept = len(body["steps"])
    if kept > MAX_POINTS or len(body["values"]) != kept:
        raise AssertionError(f"{kept:,} points in a chart, expected at most {MAX_POINTS:,}")
    if body["n_points"] != n_points or body["steps"][0] != 0 or body["steps"][-1] != n_points - 1:
        raise AssertionError("the chart does not span the whole series")
    return kept


# -- the workload ---------------------------------------------------------------------


def run(quick: bool) -> list[Figure]:
    n_runs, n_points, times = (500, 50_000, 5) if quick else (10_000, 1_000_000, 25)
    with fresh_dir(NAME) as path:
        store = open_store(dir=path)
        try:
            progress(f"populating {n_runs:,} runs and a {n_points:,}-point series")
            start = time.perf_counter()
            populate(store, n_runs)
            runs_s = time.perf_counter() - start
            long_id = populate_long(store, n_points)
            build_s = time.perf_counter() - start
            timed, bodies = asyncio.run(measure(store, urls(long_id), times))
        finally:
            store.close()
    check_table(timed["page"], bodies["page"], n_runs, sort=False, filter=False)
    check_table(timed["sorted"], bodies["sorted"], n_runs, sort=True, filter=False)
    matching = check_table(timed["filtered"], bodies["filtered"], n_runs, sort=True, filter=True)
    kept = check_series(bodies["series"], n_points)
    return figures(timed, n_runs, n_points, times, runs_s, build_s, matching, kept)


def figures(
    timed: dict[str, Timed],
    n_runs: int,
    n_points: int,
    times: int,
    runs_s: float,
    build_s: float,
    matching: int,
    kept: int,
) -> list[Figure]:
    stat = f"median of {times}"

    def figure(name: str, label: str, target: float | None, extra: str = "") -> Figure:
        t = timed[name]
        return Figure(
            label,
            ms(t.median),
            "ms",
            target=target,
            op="<",
            stat=stat,
            detail="; ".join(filter(None, [t.detail(), extra])),
        )

    page = f"runs table page, {n_runs:,} runs, {PER_PAGE} a page"
    return [
        figure("page", f"{page}: default sort (HTML)", 300.0),
        figure("sorted", f"{page}: sort={SORT}", 300.0),
        figure(
            "filtered",
            f"{page}: filter and sort",
            300.0,
            f'filter "{FILTER}", {matching:,} runs match',
        ),
        figure("json", f"{page}: the .json twin", 300.0),
        figure(
            "series",
            f"chart data: series.json of a {n_points:,}-point series, max_points={MAX_POINTS}",
            150.0,
            f"{kept:,} points returned",
        ),
        figure("project", "project page (informational)", None),
        figure("api_runs", f"GET /api/v1/runs, limit={PER_PAGE} (informational)", None),
        figure(
            "api_history",
            f"GET /api/v1/runs/{{id}}/metrics/history, max_points={MAX_POINTS} (informational)",
            None,
        ),
        Figure(
            f"building the store: {n_runs:,} runs + {n_points:,} points (informational)",
            build_s,
            "s",
            detail=f"runs {format_value(runs_s, 's')} "
            f"({format_value(ms(runs_s / n_runs), 'ms')} a run)",
        ),
    ]
