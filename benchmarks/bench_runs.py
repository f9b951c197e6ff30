"""Workload 3: many short runs, as a hyperparameter sweep or an evaluation grid makes.

Each run is created with ``ragtrack.init(config=<20 params>)``, logs a 100-step
series of 5 metrics (whose last values are the run's 5 summary metrics) and
finishes. The total covers everything: opening the store, creating the run,
logging, and the final flush. The sweep runs twice: with ``capture=False``, and
with default capture (git, packages, hardware, console, system metrics), in a
fresh process each so that the second does not inherit what the first
gathered. Then the latency of one ``ragtrack.init`` with default capture, the
first of its process (the slow parts are gathered in the background), in
fresh processes whose store is already open.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
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


def one_run(path: str, i: int, totals: dict[str, float], capture: bool) -> None:
    start = time.perf_counter()
    run = ragtrack.init(project="bench-runs", dir=path, config=config(i), capture=capture)
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


def sweep(path: str, n_runs: int, totals: dict[str, float], capture: bool) -> float:
    start = time.perf_counter()
    for i in range(n_runs):
        one_run(path, i, totals, capture)
    return time.perf_counter() - start


def sweeps(path: str, n_runs: int, repeats: int, capture: bool) -> dict[str, Any]:
    """``repeats`` sweeps into fresh stores under ``path`` (run in a child process)."""
    totals = {"init": 0.0, "log": 0.0, "finish": 0.0}
    seconds = []
    for i in range(repeats):
        gc.collect()
        seconds.append(sweep(os.path.join(path, str(i)), n_runs, totals, capture))
    return {"seconds": seconds, "per_run": {k: v / (n_runs * repeats) for k, v in totals.items()}}


#: One init with default capture, the first of a fresh process whose store is open.
_FIRST_INIT = """
import json, sys, time
import ragtrack
ragtrack.init(project="warm-up", dir=sys.argv[1], capture=False).finish()
start = time.perf_counter()
run = ragtrack.init(project="bench-runs-capture", dir=sys.argv[1])
created = time.perf_counter()
run.finish()
finished = time.perf_counter()
metadata = ragtrack.Api(sys.argv[1]).run(run.id).metadata
print(json.dumps([created - start, finished - created, sorted(metadata)]))
"""


def first_init(path: str) -> tuple[float, float]:
    """(init, finish) seconds of the first default-capture run of a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_INIT, path],
        capture_output=True,
        text=True,
        check=True,
    )
    created, finished, parts = json.loads(done.stdout.splitlines()[-1])
    if not {"git", "environment", "hardware"} <= set(parts):
        raise AssertionError(f"the run's metadata lacks parts: it holds only {parts}")
    return created, finished


def in_child(path: str, n_runs: int, repeats: int, capture: bool) -> dict[str, Any]:
    """:func:`sweeps` in a fresh process (nothing gathered or imported before)."""
    code = (
        "import json, sys; sys.path[:0] = [sys.argv[1]]; import bench_runs as b; "
        "print(json.dumps(b.sweeps(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), "
        "sys.argv[5] == '1')))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    args = [here, path, str(n_runs), str(repeats), "1" if capture else "0"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def sweep_figure(label: str, result: dict[str, Any], target: float) -> Figure:
    samples = Samples(result["seconds"])
    return Figure(
        label,
        samples.best,
        "s",
        target=target,
        op="<",
        stat=f"best of {len(samples)}",
        detail=spread_text(samples, lambda s: s, "s")
        + "; per run: "
        + ", ".join(f"{k} {format_value(ms(v), 'ms')}" for k, v in result["per_run"].items())
        + " (mean)",
    )


def run(quick: bool) -> list[Figure]:
    n_runs, repeats, capture_repeats = (50, 1, 2) if quick else (1_000, 2, 7)
    with fresh_dir(NAME) as path:
        progress(f"{repeats} x {n_runs:,} runs (init + {STEPS} steps x 5 metrics + finish)")
        plain = in_child(os.path.join(path, "plain"), n_runs, repeats, capture=False)
        progress(f"{repeats} x {n_runs:,} runs with default capture")
        captured = in_child(os.path.join(path, "captured"), n_runs, repeats, capture=True)
        progress(f"{capture_repeats} fresh processes: first ragtrack.init with default capture")
        capture_path = os.path.join(path, "first")
        ragtrack.init(project="setup", dir=capture_path, capture=False).finish()
        pairs = [first_init(capture_path) for _ in range(capture_repeats)]
    inits = Samples([p[0] for p in pairs])
    finishes = Samples([p[1] for p in pairs])
    shape = "runs x (20 params, 100 steps x 5 metrics)"
    return [
        sweep_figure(f"{n_runs:,} {shape}, capture=False", plain, 2.0),
        sweep_figure(f"{n_runs:,} {shape}, default capture", captured, 1.0),
        Figure(
            "first ragtrack.init of a process, default capture",
            ms(inits.median),
            "ms",
            target=20.0,
            op="<",
            stat=f"median of {capture_repeats} processes",
            detail=f"best {format_value(ms(inits.best), 'ms')}; its finish() "
            f"(waits for git, packages, hardware): {format_value(ms(finishes.median), 'ms')} "
            "(median)",
        ),
    ]
