"""Workload 6: bytes on disk per metric point.

The store directory (database, WAL and lock file) is measured twice after a
``wal_checkpoint(TRUNCATE)`` with no connection open: once holding a run with
no points, and again after the 1,000,000-point training curve of workload 5 was
written to that run in 10,000-point batches. The difference divided by the
number of points is the cost of a point, including the chunk rows, their index
and SQLite's page overhead. The curve's values are random float64s and its
timestamps jittered, so this is close to the worst case for the encoding
(constant-stride steps are free, see ragtrack/storage/sql/_chunks.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from _timing import Figure, dir_bytes, format_value, fresh_dir, progress
from bench_history import FAST_BATCH, SLOW_BATCH, training_curve, write_series

from ragtrack.storage import open_store

NAME = "size"
TITLE = "On-disk size of metric points"
DB_FILE = "ragtrack.db"


def checkpointed_bytes(path: str) -> int:
    """Size of the store directory once the WAL has been folded into the database."""
    with sqlite3.connect(Path(path) / DB_FILE) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return dir_bytes(path)


def bytes_per_point(path: str, n: int, batch: int) -> tuple[float, int, int]:
    """(bytes a point, empty store bytes, full store bytes) for ``n`` points."""
    store = open_store(dir=path)
    run_id = store.create_run(project="bench-size").id
    store.close()
    empty = checkpointed_bytes(path)
    store = open_store(dir=path)
    write_series(store, run_id, "loss", training_curve(n), batch)
    store.close()
    full = checkpointed_bytes(path)
    return (full - empty) / n, empty, full


def run(quick: bool) -> list[Figure]:
    n = 50_000 if quick else 1_000_000
    with fresh_dir(NAME) as path:
        progress(f"writing {n:,} points in {FAST_BATCH:,}-point batches")
        per_point, empty, full = bytes_per_point(f"{path}/fast", n, FAST_BATCH)
        progress(f"writing {n:,} points in {SLOW_BATCH:,}-point batches")
        slow_per_point, _, _ = bytes_per_point(f"{path}/slow", n, SLOW_BATCH)
    return [
        Figure(
            f"bytes per metric point, {n:,}-point series",
            per_point,
            "bytes",
            target=16.0,
            stat="one measurement (sizes are deterministic)",
            detail=f"store {format_value(full, 'bytes')} with the points, "
            f"{format_value(empty, 'bytes')} without",
        ),
        Figure(
            f"the same in ~{SLOW_BATCH:,}-point chunks (informational)",
            slow_per_point,
            "bytes",
            detail="the chunk layout a slow logger leaves",
        ),
    ]
