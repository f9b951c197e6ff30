"""Workload 11: the background writer's memory while the store cannot keep up.

A loop logs the 10 metrics of workload 1 as fast as it can, with the store
(a) unreachable — a server URL nobody listens on, so every write goes to the
spool journal on disk — and (b) slow — an embedded store that takes ~1 µs per
point to write, slower than the loop produces them. Each runs in a fresh
process: its resident memory (RSS) is read just before the loop, after
``init`` and a warm-up, and its peak (``VmHWM``, the high-water mark of this
process image: ``ru_maxrss`` would also count the parent's memory at fork)
at the end; the figure is the peak over that baseline. Had the writer kept
what it could not write yet, the loop's points alone would take
``steps × 10 × 24`` bytes as packed arrays, and several times that as the
dicts ``run.log`` queues.

Nothing may be lost: (a) the journal is then delivered to a fresh SQLite store
(what ``ragtrack sync`` does) and (b) read back, and every point is counted.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from _timing import Figure, Skipped, fresh_dir, progress

NAME = "writer_memory"
TITLE = "Background writer memory with a slow or unreachable store"
HERE = Path(__file__).resolve().parent
LIMIT_MB = 256

#: The job each scenario runs; prints one JSON line of figures.
JOB = r"""
import gc, json, sys, time
import ragtrack
from bench_logging import log_loop
from ragtrack.sdk.run import Run
from ragtrack.storage.sql import SqlStore

mode, where, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])


class SlowStore(SqlStore):
    # A store (or server) that writes ~1 M points/s: slower than the loop logs.
    def log_metrics(self, run_id, batch, batch_id=None):
        time.sleep(1e-6 * sum(len(s) for s in batch.values()))
        super().log_metrics(run_id, batch, batch_id)


def status_mb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024


if mode == "unreachable":
    run = ragtrack.init(project="bench-memory", uri=where, capture=False)
else:
    run = Run(SlowStore(f"sqlite:///{where}/ragtrack.db"), project="bench-memory",
              capture=ragtrack.CaptureSettings.resolve(False))
log_loop(run, 1000)  # warm-up: the writer's structures and numpy exist
gc.collect()
baseline = status_mb("VmRSS:")
start = time.perf_counter()
log_loop(run, steps)
loop = time.perf_counter() - start
run.finish(timeout=0 if mode == "unreachable" else 600)
peak = status_mb("VmHWM:")
print(json.dumps({"baseline": baseline, "peak": peak, "loop": loop, "run": run.id}))
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scenario(mode: str, where: str, steps: int, spool: str) -> dict[str, float | str]:
    paths = [str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "RAGTRACK_SPOOL_DIR": spool}
    done = subprocess.run(
        [sys.executable, "-c", JOB, mode, where, str(steps)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=1200,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the {mode} job failed:\n{done.stderr[-3000:]}")
    result: dict[str, float | str] = json.loads(lines[-1])
    return result


def delivered_points(spool: str) -> int:
    """Deliver every journal under ``spool`` to a fresh store; the points it then holds."""
    from ragtrack.storage import _spool, _spool_replay
    from ragtrack.storage.sql import SqlStore

    store = SqlStore("sqlite://")
    total = 0
    for path in _spool.journal_paths(spool):
        journal = _spool.Journal.claim(path)
        assert journal is not None, f"{path} is still locked"
        delivery = _spool_replay.deliver(journal, store)
        journal.close()
        if delivery.remaining or delivery.rejected:
            raise RuntimeError(f"{path}: {delivery}")
    for run in store.search_runs():
        total += sum(len(store.get_history(run.id, k)) for k in store.list_metric_keys(run.id))
    store.close()
    return total


def stored_points(where: str, run_id: str) -> int:
    from ragtrack.storage.sql import SqlStore

    store = SqlStore(f"sqlite:///{where}/ragtrack.db")
    total = sum(len(store.get_history(run_id, k)) for k in store.list_metric_keys(run_id))
    store.close()
    return total


def run(quick: bool) -> list[Figure]:
    from bench_logging import METRICS_PER_STEP

    if not os.path.exists("/proc/self/status"):
        raise Skipped("reading a process's peak memory needs Linux's /proc")
    steps = 300_000 if quick else 3_000_000
    warmup = 1000
    points = (steps + warmup) * METRICS_PER_STEP
    packed_mb = steps * METRICS_PER_STEP * 24 / 2**20
    figures = []
    with fresh_dir(NAME) as path:
        progress(f"{steps:,} steps x {METRICS_PER_STEP} metrics to an unreachable server")
        spool = os.path.join(path, "spool")
        unreachable = scenario("unreachable", f"http://127.0.0.1:{closed_port()}", steps, spool)
        progress(f"{steps:,} steps x {METRICS_PER_STEP} metrics to a ~1 M points/s store")
        os.makedirs(os.path.join(path, "slow"))
        slow = scenario("slow", os.path.join(path, "slow"), steps, spool)
        progress("delivering the spool of (a) to a fresh store, reading (b) back")
        found = delivered_points(spool)
        found_slow = stored_points(os.path.join(path, "slow"), str(slow["run"]))
    for label, result, stored in (
        ("(a) server unreachable (spooled)", unreachable, found),
        ("(b) slow store", slow, found_slow),
    ):
        peak, baseline = float(result["peak"]), float(result["baseline"])
        figures.append(
            Figure(
                f"{label}: peak RSS over baseline",
                peak - baseline,
                "MB",
                target=LIMIT_MB,
                op="<=",
                stat="one run",
                detail=f"baseline {baseline:.0f} MB, peak {peak:.0f} MB; loop "
                f"{float(result['loop']):.1f} s; unbounded, the points alone would hold "
                f"{packed_mb:.0f} MB packed",
            )
        )
        figures.append(
            Figure(
                f"{label}: points stored afterwards",
                stored,
                "points",
                target=points,
                op="==",
                stat="every key counted",
            )
        )
    return figures
