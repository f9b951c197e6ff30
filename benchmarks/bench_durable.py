"""Workload 2: 200,000 points durably stored when ``finish()`` returns.

The clock starts before the loop of workload 1 and stops when ``finish()``
returns, which is when the background writer has committed every point (WAL
mode, ``synchronous=NORMAL``: safe against a process crash). Afterwards a fresh
:class:`ragtrack.Api` reads every run back and checks that all points, steps and
values are there.
"""

from __future__ import annotations

import gc
import os
import time

import numpy as np
from _timing import Figure, Samples, fresh_dir, progress, spread_text
from bench_logging import METRICS_PER_STEP, log_loop

import ragtrack

NAME = "durable"
TITLE = "Points durably stored when finish() returns"


def points_read_back(path: str, run_id: str, steps: int) -> int:
    """Points of the run found by a fresh Api; 0 if any key's steps or values are wrong."""
    api = ragtrack.Api(dir=path)
    try:
        stored = api.run(run_id)
        if stored.status != ragtrack.RunStatus.COMPLETED:
            return 0
        keys = stored.metric_keys()
        expected_steps = np.arange(steps)
        total = 0
        for key in keys:
            history = stored.history(key)
            if not np.array_equal(history.steps, expected_steps):
                return 0
            total += len(history)
        loss = stored.history("loss").values
        if not np.array_equal(loss, 1.0 / (expected_steps + 1)):
            return 0
        return total if len(keys) == METRICS_PER_STEP else 0
    finally:
        api.close()


def measure(path: str, steps: int, repeats: int) -> tuple[Samples, Samples, list[int]]:
    """(loop start to finish() seconds, finish() seconds, points read back) per repeat."""
    totals, finishes, found = [], [], []
    for i in range(repeats):
        run_dir = os.path.join(path, str(i))
        run = ragtrack.init(project="bench-durable", dir=run_dir, capture=False)
        gc.collect()
        start = time.perf_counter()
        loop = log_loop(run, steps)
        run.finish()
        total = time.perf_counter() - start
        totals.append(total)
        finishes.append(total - loop)
        found.append(points_read_back(run_dir, run.id, steps))
    return Samples(totals), Samples(finishes), found


def run(quick: bool) -> list[Figure]:
    steps, repeats = (2_000, 3) if quick else (20_000, 5)
    points = steps * METRICS_PER_STEP
    with fresh_dir(NAME) as path:
        progress(f"{repeats} x ({steps:,} steps x {METRICS_PER_STEP} metrics + finish)")
        total_samples, finishes, found = measure(path, steps, repeats)
    return [
        Figure(
            f"loop start to finish() returning, {points:,} points",
            total_samples.best,
            "s",
            target=0.5,
            op="<",
            stat=f"best of {repeats}",
            detail=spread_text(total_samples, lambda s: s, "s")
            + f"; of which finish() {finishes.median * 1e3:.0f} ms (median)",
        ),
        Figure(
            "points read back by a fresh Api (fewest over the repeats)",
            min(found),
            "points",
            target=points,
            op="==",
            stat=f"all {repeats} runs checked",
            detail="steps of every key and the values of 'loss' compared exactly",
        ),
    ]
