"""Workload 3: many short runs, as a hyperparameter sweep or an evaluation grid makes.

Each run is created with ``ragtrack.init(config=<20 params>, capture=False)``,
logs a 100-step series of 5 metrics (whose last values are the run's 5 summary
metrics) and finishes. The total covers everything: opening the store, creating
the run, logging, and the final flush. One ``ragtrack.init`` with default capture
(git, packages, hardware, console, system metrics) is timed for information.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from _timing import Figure, Samples, format_value, fresh_dir, ms, progress, spread_text

import ragtrack

NAME = "runs"
TITLE = "Many short runs"
STEPS = 100


def config(i: int) -> dict[str, Any]:
    """20 params (leaves), nested like a RAG pipeline's config."""
    return {
        "retriever": {"kind": "dense", "model": "bge-small-en", "top_k": 10, "normalize": True},
        "chunker": {"size": 256 * (1 + i % 4), "overlap": 32, "strategy": "recursive"},
        "generator": {"model": "llama-3-8b", "temperature": 0.1 * (i % 10), "max_tokens": 512},
        "lr": 10 ** -(2 + i % 3),
        "batch_size": 32,
        "epochs": 3,
        "seed": i,
        "warmup_steps": 100,
        "weight_decay": 0.01,
        "dataset": "msmarco-10k",
        "eval_split": "dev",
        "index": "hnsw",
        "reranker": "none",
    }


def one_run(path: str, i: int, totals: dict[str, float]) -> None:
    start = time.perf_counter()
    run = ragtrack.init(project="bench-runs", dir=path, config=config(i), capture=False)
    created = time.perf_counter()
    for step in range(STEPS):
        run.log(
            {
                "loss": 1.0 / (step + 1),
                "recall@10": 0.5 + step * 1e-3,
                "mrr": 0.4 + step * 1e-3,
                "ndcg@10": 0.45 + step * 1e-3,
                "answer_f1": 0.6 + step * 1e-3,
            },
            step,
        )
    logged = time.perf_counter()
    run.finish()
    finished = time.perf_counter()
    totals["init"] += created - start
    totals["log"] += logged - created
    totals["finish"] += finished - logged


def sweep(path: str, n_runs: int, totals: dict[str, float]) -> float:
    start = time.perf_counter()
    for i in range(n_runs):
        one_run(path, i, totals)
    return time.perf_counter() - start


def init_with_capture(path: str) -> tuple[float, float]:
    """(init, finish) seconds of one run with default capture."""
    start = time.perf_counter()
    run = ragtrack.init(project="bench-runs-capture", dir=path)
    created = time.perf_counter()
    run.finish()
    return created - start, time.perf_counter() - created


def run(quick: bool) -> list[Figure]:
    n_runs, repeats, capture_repeats = (50, 1, 2) if quick else (1_000, 2, 5)
    totals = {"init": 0.0, "log": 0.0, "finish": 0.0}
    with fresh_dir(NAME) as path:
        progress(f"{repeats} x {n_runs:,} runs (init + {STEPS} steps x 5 metrics + finish)")
        samples = Samples([])
        for i in range(repeats):
            gc.collect()
            samples.values.append(sweep(os.path.join(path, str(i)), n_runs, totals))
        progress(f"{capture_repeats} x ragtrack.init with default capture")
        capture_path = os.path.join(path, "capture")
        init_with_capture(capture_path)  # creates the store: not what is being timed
        pairs = [init_with_capture(capture_path) for _ in range(capture_repeats)]
    per_run = {k: v / (n_runs * repeats) for k, v in totals.items()}
    inits = Samples([p[0] for p in pairs])
    finishes = Samples([p[1] for p in pairs])
    return [
        Figure(
            f"{n_runs:,} runs x (20 params, 100 steps x 5 metrics)",
            samples.best,
            "s",
            target=2.0,
            op="<",
            stat=f"best of {repeats}",
            detail=spread_text(samples, lambda s: s, "s")
            + "; per run: "
            + ", ".join(f"{k} {format_value(ms(v), 'ms')}" for k, v in per_run.items())
            + " (mean)",
        ),
        Figure(
            "one ragtrack.init with default capture (informational)",
            ms(inits.median),
            "ms",
            stat=f"median of {capture_repeats}",
            detail=f"its finish(): {format_value(ms(finishes.median), 'ms')} (median)",
        ),
    ]
