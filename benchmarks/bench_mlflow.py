"""Workload 7: the same workloads against MLflow with a SQLite backend.

MLflow is a benchmark-only dependency (``.venv/bin/pip install mlflow``); without
it this workload is skipped. MLflow writes synchronously on every call (a
point is durable when ``mlflow.log_metrics`` returns), which makes it thousands
of times slower per logged point, so its workloads are scaled down to keep
``make bench`` within about five minutes. ragtrack is measured again in the same
process, at the same scale wherever the cost depends on it, so that each ratio
compares like with like:

* logging: 500 steps x 10 metrics with ``mlflow.log_metrics(dict, step=step)``;
  compared per point with workloads 1 and 2 at full size (20,000 steps) — the
  cost per point of either tool does not depend on the number of steps;
* runs: 10 runs (``start_run``, ``log_params`` of the same 20 params flattened,
  100 x ``log_metrics``, ``end_run``) against 100 ragtrack runs, per run;
* search: the same 1,000 runs (params and metrics of workload 4) in both; MLflow
  params are strings, so ``params.lr < 0.01`` becomes ``params.lr LIKE '0.00%'``,
  which selects the same values of the lr grid, and ``recall@10`` is named
  ``recall_at_10`` (MLflow rejects ``@``); the two must match the same runs;
* history: the 100,000-point training curve of workload 5 in both
  (``MlflowClient.get_metric_history`` against ``api.run(id).history``).

MLflow's anonymous usage telemetry is switched off for the benchmark.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import random
import time
from collections.abc import Iterator
from typing import Any

from _timing import Figure, Samples, Skipped, format_value, fresh_dir, ms, progress, time_calls
from bench_durable import measure as measure_durable
from bench_history import FAST_BATCH, read_samples, training_curve
from bench_history import populate as populate_history
from bench_logging import METRICS_PER_STEP, list_loop
from bench_logging import measure as measure_logging
from bench_runs import STEPS as RUN_STEPS
from bench_runs import config, sweep
from bench_search import (
    FILTER,
    LIMIT,
    LR_GRID,
    ORDER_BY,
    PROJECT,
    STEPS,
    final_metrics,
    params,
)
from bench_search import populate as populate_search

import ragtrack
from ragtrack.entities import MetricSeries

NAME = "mlflow"
TITLE = "Comparison with MLflow (SQLite backend)"
INSTALL_HINT = "install it with `.venv/bin/pip install mlflow` to compare with MLflow"
#: MLflow params are strings compared with =, !=, LIKE (IN is for attributes only), so
#: ``params.lr < 0.01`` becomes a LIKE that selects the same values of the lr grid.
ML_FILTER = "params.lr LIKE '0.00%' and metrics.recall_at_10 > 0.5"
assert [str(lr).startswith("0.00") for lr in LR_GRID] == [lr < 0.01 for lr in LR_GRID]
ML_ORDER_BY = ["metrics.recall_at_10 DESC"]


def ml_key(key: str) -> str:
    """MLflow rejects ``@`` in metric names: ``recall@10`` -> ``recall_at_10``."""
    return key.replace("@", "_at_")


def import_mlflow() -> Any:
    # Benchmarks must not phone home; set before the import reads it.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        import mlflow
    except ImportError as e:
        raise Skipped(f"mlflow is not importable ({e}); {INSTALL_HINT}") from e
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


@contextlib.contextmanager
def mlflow_experiment(mlflow: Any, workload: str) -> Iterator[tuple[Any, str]]:
    """(client, experiment id) in a new SQLite-backed MLflow store.

    Creating the database runs MLflow's migrations (seconds); it is not timed.
    """
    with fresh_dir(f"mlflow-{workload}") as path:
        mlflow.set_tracking_uri(f"sqlite:///{path}/mlflow.db")
        client = mlflow.MlflowClient()
        experiment_id = client.create_experiment(workload, artifact_location=f"{path}/artifacts")
        yield client, experiment_id


def ratio_figures(
    what: str, unit: str, ml_value: float, ml_stat: str, ours: float, our_stat: str
) -> list[Figure]:
    ratio = ml_value / ours
    return [
        Figure(f"{what} — MLflow", ml_value, unit, stat=ml_stat),
        Figure(f"{what} — ragtrack", ours, unit, stat=our_stat),
        Figure(
            f"{what} — MLflow / ragtrack",
            ratio,
            "x",
            detail=f"ragtrack is {format_value(ratio, 'x')} faster"
            if ratio >= 1
            else f"MLflow is {format_value(1 / ratio, 'x')} faster",
        ),
    ]


# -- 1 and 2: logging ------------------------------------------------------------------


def mlflow_log_loop(mlflow: Any, steps: int) -> float:
    """bench_logging.log_loop with mlflow.log_metrics (MLflow names for the @ keys)."""
    start = time.perf_counter()
    for step in range(steps):
        mlflow.log_metrics(
            {
                "loss": 1.0 / (step + 1),
                "lr": 3e-4,
                "grad_norm": 0.5 + step * 1e-5,
                "recall_at_10": 0.5 + step * 1e-6,
                "mrr": 0.4,
                "ndcg_at_10": 0.45,
                "precision_at_5": 0.3,
                "answer_f1": 0.6,
                "latency_ms": 12.5,
                "tokens_per_s": 1500.0,
            },
            step=step,
        )
    return time.perf_counter() - start


def compare_logging(mlflow: Any, quick: bool) -> list[Figure]:
    version = f"MLflow {mlflow.__version__}"
    ml_steps, our_steps = (50, 2_000) if quick else (500, 20_000)
    ml_points, our_points = ml_steps * METRICS_PER_STEP, our_steps * METRICS_PER_STEP
    progress(f"MLflow: {ml_steps} steps x {METRICS_PER_STEP} metrics with mlflow.log_metrics")
    with mlflow_experiment(mlflow, "logging") as (_client, experiment_id):
        mlflow.start_run(experiment_id=experiment_id)
        gc.collect()
        baseline = list_loop(ml_steps)
        gc.collect()
        loop = mlflow_log_loop(mlflow, ml_steps)
        start = time.perf_counter()
        mlflow.end_run()
        durable = loop + time.perf_counter() - start
    progress(f"ragtrack: {our_steps:,} steps x {METRICS_PER_STEP} metrics, 3 times")
    with fresh_dir("mlflow-ours") as path:
        ours, our_base = measure_logging(f"{path}/logging", our_steps, 3, capture=False)
        our_durable, _, _ = measure_durable(f"{path}/durable", our_steps, 3)
    one = "one loop"
    return [
        *ratio_figures(
            "net loop cost per point",
            "µs",
            (loop - baseline) / ml_points * 1e6,
            f"{version}; {one} of {ml_steps} steps",
            (ours.best - our_base.best) / our_points * 1e6,
            f"best of 3 loops of {our_steps:,} steps",
        ),
        *ratio_figures(
            "loop start to all points durable, per point",
            "µs",
            durable / ml_points * 1e6,
            f"{one}; log_metrics writes synchronously",
            our_durable.best / our_points * 1e6,
            "best of 3, loop + finish()",
        ),
    ]


# -- 3: many short runs ------------------------------------------------------------------


def flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> MLflow's flat params, dotted like ragtrack's params.* names."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def mlflow_sweep(mlflow: Any, experiment_id: str, n_runs: int) -> float:
    start = time.perf_counter()
    for i in range(n_runs):
        with mlflow.start_run(experiment_id=experiment_id):
            mlflow.log_params(flat(config(i)))
            for step in range(RUN_STEPS):
                mlflow.log_metrics(
                    {
                        "loss": 1.0 / (step + 1),
                        "recall_at_10": 0.5 + step * 1e-3,
                        "mrr": 0.4 + step * 1e-3,
                        "ndcg_at_10": 0.45 + step * 1e-3,
                        "answer_f1": 0.6 + step * 1e-3,
                    },
                    step=step,
                )
    return time.perf_counter() - start


def compare_runs(mlflow: Any, quick: bool) -> list[Figure]:
    ml_runs, our_runs = (2, 20) if quick else (10, 100)
    progress(f"MLflow: {ml_runs} runs x (20 params, {RUN_STEPS} steps x 5 metrics)")
    with mlflow_experiment(mlflow, "runs") as (_client, experiment_id):
        gc.collect()
        ml_seconds = mlflow_sweep(mlflow, experiment_id, ml_runs)
    progress(f"ragtrack: {our_runs} runs, twice")
    totals = {"init": 0.0, "log": 0.0, "finish": 0.0}
    with fresh_dir("mlflow-ours-runs") as path:
        ours = Samples([sweep(f"{path}/{i}", our_runs, totals) for i in range(2)])
    return ratio_figures(
        "time per run (init, 100 steps, finish)",
        "ms",
        ms(ml_seconds / ml_runs),
        f"{ml_runs} runs, one measurement",
        ms(ours.best / our_runs),
        f"{our_runs} runs, best of 2",
    )


# -- 4: search -----------------------------------------------------------------------------


def populate_mlflow_search(mlflow: Any, client: Any, experiment_id: str, n_runs: int) -> None:
    """The runs of bench_search.populate (same seed, same values) through log_batch."""
    from mlflow.entities import Metric, Param

    rng = random.Random(0)
    t0 = time.time() - n_runs
    for i in range(n_runs):
        run_params = params(rng, i)
        final = final_metrics(rng)
        run_id = client.create_run(experiment_id, start_time=int((t0 + i) * 1000)).info.run_id
        metrics = [
            Metric(ml_key(name), value * ((step + 1) / STEPS), int((t0 + i + step) * 1000), step)
            for name, value in final.items()
            for step in range(STEPS)
        ]
        client.log_batch(
            run_id,
            metrics=metrics,
            params=[Param(k, str(v)) for k, v in run_params.items()],
        )
        client.set_terminated(run_id)


def compare_search(mlflow: Any, quick: bool) -> list[Figure]:
    n_runs, times = (50, 3) if quick else (1_000, 10)
    progress(f"MLflow: populating {n_runs:,} runs with log_batch")
    with mlflow_experiment(mlflow, "search") as (client, experiment_id):
        start = time.perf_counter()
        populate_mlflow_search(mlflow, client, experiment_id, n_runs)
        ml_populate = time.perf_counter() - start
        progress(f"MLflow: {times} x search_runs")
        ml_matching = len(client.search_runs([experiment_id], ML_FILTER, max_results=50_000))
        ml = time_calls(
            lambda: client.search_runs(
                [experiment_id], ML_FILTER, order_by=ML_ORDER_BY, max_results=LIMIT
            ),
            times,
            warmup=1,
        )
    progress(f"ragtrack: populating the same {n_runs:,} runs, {times} x api.runs")
    with fresh_dir("mlflow-ours-search") as path:
        our_populate = populate_search(path, n_runs)
        api = ragtrack.Api(dir=path)
        try:
            our_matching = api.count_runs(PROJECT, FILTER)
            ours = time_calls(lambda: api.runs(PROJECT, FILTER, ORDER_BY, limit=LIMIT), times)
        finally:
            api.close()
    if ml_matching != our_matching:
        raise AssertionError(f"MLflow matched {ml_matching} runs, ragtrack {our_matching}")
    return [
        *ratio_figures(
            f"search over {n_runs:,} runs, limit {LIMIT}",
            "ms",
            ms(ml.median),
            f"median of {times}; {ml_matching:,} runs match in both",
            ms(ours.median),
            f"median of {times}",
        ),
        *ratio_figures(
            f"populating {n_runs:,} runs, per run",
            "ms",
            ms(ml_populate / n_runs),
            "create_run + log_batch + set_terminated",
            ms(our_populate / n_runs),
            "create_run + log_metrics",
        ),
    ]


# -- 5: history ----------------------------------------------------------------------------


def populate_mlflow_history(client: Any, experiment_id: str, series: MetricSeries) -> str:
    from mlflow.entities import Metric

    run_id = client.create_run(experiment_id).info.run_id
    batch = 1_000  # MLflow's limit of metrics per log_batch
    stamps = (series.timestamps * 1000).astype("int64").tolist()
    steps, values = series.steps.tolist(), series.values.tolist()
    for i in range(0, len(steps), batch):
        client.log_batch(
            run_id,
            metrics=[
                Metric("loss", values[j], stamps[j], steps[j])
                for j in range(i, min(i + batch, len(steps)))
            ],
        )
    return str(run_id)


def compare_history(mlflow: Any, quick: bool) -> list[Figure]:
    # MLflow takes seconds per read of 100,000 points: three reads are enough.
    n, times = (5_000, 3) if quick else (100_000, 3)
    series = training_curve(n)
    progress(f"MLflow: writing {n:,} points, {times} x get_metric_history")
    with mlflow_experiment(mlflow, "history") as (client, experiment_id):
        run_id = populate_mlflow_history(client, experiment_id, series)
        if len(client.get_metric_history(run_id, "loss")) != n:
            raise AssertionError("MLflow returned a different number of points")
        ml = time_calls(lambda: client.get_metric_history(run_id, "loss"), times, warmup=1)
    progress(f"ragtrack: writing {n:,} points, 10 x history")
    with fresh_dir("mlflow-ours-history") as path:
        our_id = populate_history(path, series, FAST_BATCH)
        ours = read_samples(path, our_id, series, 10)
    return ratio_figures(
        f"reading a {n:,}-point series",
        "ms",
        ms(ml.median),
        f"median of {times}; a list of Metric objects",
        ms(ours.median),
        "median of 10; numpy arrays",
    )


def run(quick: bool) -> list[Figure]:
    mlflow = import_mlflow()
    return [
        *compare_logging(mlflow, quick),
        *compare_runs(mlflow, quick),
        *compare_search(mlflow, quick),
        *compare_history(mlflow, quick),
    ]
