"""Workload 1: what ``run.log`` costs inside a training loop.

The same loop runs twice per repeat: once calling ``run.log(metrics, step)``
and once appending the metrics dict to a Python list, the cheapest thing a
script could do with it. Both build their 10-metric dict inside the loop, so
the difference is what ragtrack adds. ``capture=False`` keeps the system
metrics thread and console capture out of the measurement; the same loop with
default capture is reported for information.

The loop takes well under the writer's 1 s flush interval, so it measures the
hot path alone; the cost of writing the points is workload 2 (``durable``).
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from _timing import Figure, Samples, format_value, fresh_dir, ms, progress, spread_text

import ragtrack

NAME = "logging"
TITLE = "Logging overhead in the training loop"
METRICS_PER_STEP = 10


def list_loop(steps: int) -> float:
    """The baseline: build each step's metrics and append them to a list."""
    points: list[dict[str, float]] = []
    start = time.perf_counter()
    for step in range(steps):
        points.append(
            {
                "loss": 1.0 / (step + 1),
                "lr": 3e-4,
                "grad_norm": 0.5 + step * 1e-5,
                "recall@10": 0.5 + step * 1e-6,
                "mrr": 0.4,
                "ndcg@10": 0.45,
                "precision@5": 0.3,
                "answer_f1": 0.6,
                "latency_ms": 12.5,
                "tokens_per_s": 1500.0,
            }
        )
    return time.perf_counter() - start


def log_loop(run: Any, steps: int) -> float:
    """The same loop logging each step with ``run.log`` (keep the two bodies identical)."""
    start = time.perf_counter()
    for step in range(steps):
        run.log(
            {
                "loss": 1.0 / (step + 1),
                "lr": 3e-4,
                "grad_norm": 0.5 + step * 1e-5,
                "recall@10": 0.5 + step * 1e-6,
                "mrr": 0.4,
                "ndcg@10": 0.45,
                "precision@5": 0.3,
                "answer_f1": 0.6,
                "latency_ms": 12.5,
                "tokens_per_s": 1500.0,
            },
            step,
        )
    return time.perf_counter() - start


def measure(path: str, steps: int, repeats: int, capture: Any) -> tuple[Samples, Samples]:
    """(run.log loop, list loop) seconds, interleaved so both see the same machine load."""
    ours, baseline = [], []
    for i in range(repeats):
        gc.collect()
        baseline.append(list_loop(steps))
        run = ragtrack.init(
            project="bench-logging", dir=os.path.join(path, str(i)), capture=capture
        )
        gc.collect()
        ours.append(log_loop(run, steps))
        run.finish()
    return Samples(ours), Samples(baseline)


def run(quick: bool) -> list[Figure]:
    steps, repeats = (2_000, 3) if quick else (20_000, 7)
    points = steps * METRICS_PER_STEP
    with fresh_dir(NAME) as path:
        progress(f"{repeats} x {steps:,} steps x {METRICS_PER_STEP} metrics, capture=False")
        ours, base = measure(path, steps, repeats, capture=False)
        progress(f"{repeats} x {steps:,} steps, default capture")
        ours_capture, base_capture = measure(os.path.join(path, "capture"), steps, repeats, None)

    def per_point_us(a: float, b: float) -> float:
        return (a - b) / points * 1e6

    best_text = f"best of {repeats}"
    return [
        Figure(
            "(a) loop with run.log(dict, step)",
            ms(ours.best),
            "ms",
            stat=best_text,
            detail=spread_text(ours, ms, "ms"),
        ),
        Figure(
            "(b) same loop appending the dicts to a list",
            ms(base.best),
            "ms",
            stat=best_text,
            detail=spread_text(base, ms, "ms"),
        ),
        Figure(
            f"(c) net overhead per metric point, (a-b)/{points:,}",
            per_point_us(ours.best, base.best),
            "µs",
            target=1.0,
            stat="from the bests",
            detail="from the medians: "
            + format_value(per_point_us(ours.median, base.median), "µs"),
        ),
        Figure(
            "(d) ratio a/b",
            ours.best / base.best,
            "x",
            target=10.0,
            stat="from the bests",
            detail="from the medians: " + format_value(ours.median / base.median, "x"),
        ),
        Figure(
            "(a) with default capture (informational)",
            ms(ours_capture.best),
            "ms",
            stat=best_text,
            detail=spread_text(ours_capture, ms, "ms")
            + "; net "
            + format_value(per_point_us(ours_capture.best, base_capture.best), "µs")
            + "/point, ratio "
            + format_value(ours_capture.best / base_capture.best, "x"),
        ),
    ]
