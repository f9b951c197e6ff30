"""The background writer: keeps store I/O off the training loop.

``run.log`` only appends a record to a deque (thread-safe without a lock in
CPython); a daemon thread turns the records into per-key arrays and writes one
metric batch per flush interval, together with explicit summary values, console
output and the heartbeat. Each batch carries a fresh id, so retrying a batch
whose commit outcome is unknown cannot duplicate points.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from ragtrack.entities import MetricSeries
from ragtrack.exceptions import InvalidArgumentError, RunNotFoundError
from ragtrack.storage import Store

logger = logging.getLogger("ragtrack")

#: (step, wall time, {key: float})
Record = tuple[int, float, dict[str, float]]


def records_to_batch(records: list[Record]) -> dict[str, MetricSeries]:
    """Pivot row-wise records into one column-wise series per key."""
    steps: dict[str, list[int]] = collections.defaultdict(list)
    values: dict[str, list[float]] = collections.defaultdict(list)
    stamps: dict[str, list[float]] = collections.defaultdict(list)
    for step, at, data in records:
        for key, value in data.items():
            steps[key].append(step)
            values[key].append(value)
            stamps[key].append(at)
    return {
        key: MetricSeries(
            np.array(steps[key], dtype=np.int64),
            np.array(values[key], dtype=np.float64),
            np.array(stamps[key], dtype=np.float64),
        )
        for key in steps
    }


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
        self._failed: list[tuple[str, dict[str, MetricSeries]]] = []
        self._last_heartbeat = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ragtrack-writer", daemon=True)
        self.append = self._records.append  # the hot path: a bound C method

    def start(self) -> None:
        self._thread.start()

    def set_summary(self, values: dict[str, Any]) -> None:
        with self._summary_lock:
            self._summary.update(values)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # never let the writer thread die: log, retry next tick
                logger.exception("ragtrack: writing run %s failed; will retry", self.run_id)

    def flush(self) -> None:
        """Write everything logged so far. Safe to call from any thread."""
        with self._flush_lock:
            self._flush_metrics()
            self._flush_summary()
            self._flush_console()
            now = time.time()
            if now - self._last_heartbeat >= self.heartbeat_interval:
                self.store.heartbeat(self.run_id, now)
                self._last_heartbeat = now

    def _flush_metrics(self) -> None:
        records: list[Record] = []
        popleft = self._records.popleft
        try:
            while True:
                records.append(popleft())
        except IndexError:
            pass
        if records:
            self._failed.append((uuid.uuid4().hex, records_to_batch(records)))
        while self._failed:
            batch_id, batch = self._failed[0]
            try:
                self.store.log_metrics(self.run_id, batch, batch_id=batch_id)
            except (InvalidArgumentError, RunNotFoundError):
                # Retrying cannot help; drop the batch rather than block every later one.
                self._failed.pop(0)
                raise
            self._failed.pop(0)

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
            self.store.append_logs(self.run_id, stream, text)

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        self.flush()
