"""The background writer: keeps store I/O off the training loop.

``run.log`` only appends a record to a deque (thread-safe without a lock in
CPython); the process's flusher thread (``_flusher.py``) has each writer turn
its records into per-key arrays and write one metric batch per flush interval,
together with explicit summary values, console output and the heartbeat. Each
batch carries a fresh id, so retrying a batch whose commit outcome is unknown
cannot duplicate points.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.entities.metric import Int64Array
from ragtrack.exceptions import InvalidArgumentError, RunNotFoundError
from ragtrack.sdk._flusher import flusher
from ragtrack.storage import Store

#: (step, wall time, {key: float})
Record = tuple[int, float, dict[str, float]]


def records_to_batch(records: list[Record]) -> dict[str, MetricSeries]:
    """Pivot row-wise records into one column-wise series per key.

    Records that log the same keys (the usual case: the same dict every step)
    are converted together as one 2-D array, which is several times faster than
    appending point by point. A key logged by records of different shapes gets
    its pieces put back in arrival order.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, (_, _, data) in enumerate(records):
        groups.setdefault(tuple(data), []).append(i)
    pieces: dict[str, list[tuple[Int64Array, MetricSeries]]] = collections.defaultdict(list)
    for keys, indices in groups.items():
        rows = [records[i] for i in indices]
        n = len(rows)
        steps = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
        stamps = np.fromiter((r[1] for r in rows), dtype=np.float64, count=n)
        matrix = np.array([list(r[2].values()) for r in rows], dtype=np.float64).reshape(n, -1)
        order = np.asarray(indices, dtype=np.int64)
        for j, key in enumerate(keys):
            pieces[key].append((order, MetricSeries(steps, matrix[:, j].copy(), stamps)))
    batch = {}
    for key, parts in pieces.items():
        if len(parts) == 1:
            batch[key] = parts[0][1]
            continue
        merged = MetricSeries.concat([p[1] for p in parts])
        arrival = np.argsort(np.concatenate([p[0] for p in parts]), kind="stable")
        batch[key] = MetricSeries(
            merged.steps[arrival], merged.values[arrival], merged.timestamps[arrival]
        )
    return batch


class BackgroundWriter:
    """Batches a run's writes and flushes them every ``interval`` seconds.

    Args:
        store: where to write.
        run_id: the run written to.
        interval: seconds between flushes (the most a SIGKILL can lose).
        heartbeat_interval: seconds between heartbeats.
        drain_console: called each flush; returns (stream, text) pieces to store.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        interval: float = 1.0,
        heartbeat_interval: float = 5.0,
        drain_console: Callable[[], list[tuple[str, str]]] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval
        self._drain_console = drain_console
        self._records: collections.deque[Record] = collections.deque()
        self._summary: dict[str, Any] = {}
        self._summary_lock = threading.Lock()
        # Reentrant: a SIGTERM handler may finish the run while the main thread is
        # inside run.flush().
        self._flush_lock = threading.RLock()
        # Batches not yet stored, oldest first; a failed one is retried with its id.
        self._pending: list[tuple[str, dict[str, MetricSeries]]] = []
        self._last_heartbeat = time.time()
        self.append = self._records.append  # the hot path: a bound C method

    def start(self) -> None:
        """Have the process's flusher thread flush this writer every ``interval``."""
        flusher.add(self)

    def set_summary(self, values: dict[str, Any]) -> None:
        with self._summary_lock:
            self._summary.update(values)

    def flush(self) -> None:
        """Write everything logged so far. Safe to call from any thread."""
        with self._flush_lock:
            self._flush_metrics()
            self._flush_summary()
            self._flush_console()
            now = time.time()
            if now - self._last_heartbeat >= self.heartbeat_interval:
                # Stamped by the store's clock, not ours: a server judges
                # liveness by its own, and this machine's may be off.
                self.store.heartbeat(self.run_id)
                self._last_heartbeat = now

    def _take_records(self) -> None:
        """Move what ``run.log`` queued into a pending batch with its own id."""
        records: list[Record] = []
        popleft = self._records.popleft
        try:
            while True:
                records.append(popleft())
        except IndexError:
            pass
        if records:
            self._pending.append((uuid.uuid4().hex, records_to_batch(records)))

    def _flush_metrics(self) -> None:
        self._take_records()
        while self._pending:
            batch_id, batch = self._pending[0]
            try:
                self.store.log_metrics(self.run_id, batch, batch_id=batch_id)
            except (InvalidArgumentError, RunNotFoundError):
                # Retrying cannot help; drop the batch rather than block every later one.
                self._pending.pop(0)
                raise
            self._pending.pop(0)

    def _flush_summary(self) -> None:
        with self._summary_lock:
            summary, self._summary = self._summary, {}
        if summary:
            try:
                self.store.set_summary(self.run_id, summary)
            except Exception:
                with self._summary_lock:
                    self._summary = {**summary, **self._summary}
                raise

    def _flush_console(self) -> None:
        if self._drain_console is None:
            return
        for stream, text in self._drain_console():
            # A fresh id per chunk lets a retrying store (the spool) apply it once.
            self.store.append_logs(self.run_id, stream, text, batch_id=uuid.uuid4().hex)

    def close(self, status: RunStatus, error: str | None = None) -> None:
        """Stop the thread, write what is left and end the run with ``status``.

        The last batch, explicit summary values and the status go to the store
        in one ``finish_run`` call (one transaction in the SQL store).
        """
        flusher.remove(self)
        with self._flush_lock:  # waits for a flush the flusher may be running
            self._flush_console()
            self._take_records()
            while len(self._pending) > 1:
                earlier_id, earlier = self._pending.pop(0)
                self.store.log_metrics(self.run_id, earlier, batch_id=earlier_id)
            last: tuple[str | None, dict[str, MetricSeries] | None] = (
                self._pending.pop() if self._pending else (None, None)
            )
            batch_id, batch = last
            with self._summary_lock:
                summary, self._summary = self._summary, {}
            try:
                self.store.finish_run(
                    self.run_id,
                    status=status,
                    error=error,
                    batch=batch,
                    batch_id=batch_id,
                    summary=summary,
                )
            except Exception:
                # Whatever was lost, do not leave the run "running" forever.
                self.store.update_run(self.run_id, status=status, error=error)
                raise
