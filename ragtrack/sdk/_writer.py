"""The background writer: keeps store I/O off the training loop.

``run.log`` only appends a record to a deque (thread-safe without a lock in
CPython); the process's flusher thread (``_flusher.py``) has each writer turn
its records into per-key arrays and write one metric batch per flush interval,
together with explicit summary values, console output and the heartbeat. Each
batch carries a fresh id, so retrying a batch whose commit outcome is unknown
cannot duplicate points.

Failures never reach the training loop (see ``storage/_write_errors.py``): a
write the store cannot take *now* is kept and retried at the next flush, with
one warning while the trouble lasts; a write it refuses is dropped and reported
once, without holding up the writes after it; a run deleted meanwhile stops
the writer for good, with one warning. Memory is bounded: once the queued
records or the batches waiting for the store pass their budget, ``run.log``
waits for the writer to catch up (docs/sync.md, "Memory").
"""

from __future__ import annotations

import collections
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.entities.metric import Int64Array
from ragtrack.sdk._flusher import flusher
from ragtrack.storage import Store
from ragtrack.storage._write_errors import (
    Outcome,
    describe,
    outcome_of,
    warn_rejected,
    warn_run_gone,
)

logger = logging.getLogger("ragtrack")

#: Bytes of records ``run.log`` may queue before they are packed into a batch
#: on the caller's thread (a record costs ~10x the 24 bytes of a packed point).
RECORDS_BUDGET = 64 << 20
#: Bytes of packed batches waiting for the store before ``run.log`` waits.
BATCHES_BUDGET = 128 << 20
#: Seconds ``run.log`` waits at most per call for a store that keeps failing,
#: before the oldest waiting batches beyond the budget are dropped (the store
#: and its spool both refuse writes: nothing else would keep the job alive).
STALLED_WAIT = 5.0

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
        label: how warnings name the run besides its id (``project/name``).
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        interval: float = 1.0,
        heartbeat_interval: float = 5.0,
        drain_console: Callable[[], list[tuple[str, str]]] | None = None,
        label: str | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval
        self.label = label
        self._where = str(getattr(store, "url", None) or store)
        self._drain_console = drain_console
        self._records: collections.deque[Record] = collections.deque()
        self._summary: dict[str, Any] = {}
        self._summary_lock = threading.Lock()
        # Reentrant: a SIGTERM handler may finish the run while the main thread is
        # inside run.flush().
        self._flush_lock = threading.RLock()
        # Batches not yet stored, oldest first, with their ids (a failed one is
        # retried with its id) and sizes. Guarded by _room; taking records happens
        # under it too, so two threads packing at once cannot interleave points.
        self._pending: collections.deque[tuple[str, dict[str, MetricSeries], int]] = (
            collections.deque()
        )
        self._pending_bytes = 0
        self._room = threading.Condition()
        # (batch id, stream, text) not yet stored
        self._logs: collections.deque[tuple[str, str, str]] = collections.deque()
        self._last_heartbeat = time.time()
        #: The run was deleted from the store: everything is dropped from now on.
        self.gone = False
        self._trouble: str | None = None  # why the last flush could not store, if it could not
        #: Records ``run.log`` may queue before it calls :meth:`make_room`.
        self.max_queued = RECORDS_BUDGET // 1024
        self.append = self._records.append  # the hot path: a bound C method
        self.queued = self._records.__len__

    def start(self) -> None:
        """Have the process's flusher thread flush this writer every ``interval``."""
        flusher.add(self)

    def set_summary(self, values: dict[str, Any]) -> None:
        with self._summary_lock:
            self._summary.update(values)

    def flush(self) -> None:
        """Write everything logged so far. Safe to call from any thread; never
        raises: what the store cannot take now is kept for the next flush."""
        with self._flush_lock:
            if self.gone:
                self._discard()
                return
            try:
                self._flush_metrics()
                self._flush_summary()
                self._flush_console()
                self._beat()
            except Exception as e:  # only errors worth retrying get here
                self._in_trouble(e)
            else:
                self._out_of_trouble()

    # -- memory ---------------------------------------------------------------------------

    def make_room(self) -> None:
        """Called by ``run.log`` when more than :attr:`max_queued` records wait:
        pack them into a batch (a tenth of their size), have the flusher write
        now, and wait while the waiting batches are over their budget."""
        if self.gone:
            self._records.clear()
            return
        self._take_records()
        flusher.hurry(self)
        with self._room:
            waited = 0.0
            while self._pending_bytes > BATCHES_BUDGET and not self.gone:
                if self._trouble is not None and waited >= STALLED_WAIT:
                    self._drop_over_budget()
                    return
                self._room.wait(0.05)
                waited += 0.05

    def _drop_over_budget(self) -> None:
        # Under self._room. The store and its spool refuse every write: keep the
        # newest batches within the budget rather than stall the job for ever.
        dropped = 0
        while self._pending_bytes > BATCHES_BUDGET // 2 and len(self._pending) > 1:
            _, batch, size = self._pending.popleft()
            self._pending_bytes -= size
            dropped += sum(len(s) for s in batch.values())
        logger.warning(
            "ragtrack: run %s: %d metric points were dropped: %s cannot store them (%s) and "
            "they would hold more than %d MB of memory",
            self.run_id,
            dropped,
            self._where,
            self._trouble,
            BATCHES_BUDGET >> 20,
        )

    def _take_records(self) -> None:
        """Move what ``run.log`` queued into a pending batch with its own id."""
        with self._room:
            records: list[Record] = []
            popleft = self._records.popleft
            try:
                while True:
                    records.append(popleft())
            except IndexError:
                pass
            if not records:
                return
            batch = records_to_batch(records)
            size = 24 * sum(len(s) for s in batch.values())
            self._pending.append((uuid.uuid4().hex, batch, size))
            self._pending_bytes += size
            # ~100 bytes per value and ~200 per record, as CPython keeps them.
            self.max_queued = max(1024, RECORDS_BUDGET // (200 + 100 * len(records[-1][2])))

    # -- writing --------------------------------------------------------------------------

    def _deliver(self, what: str, write: Callable[[], object]) -> bool:
        """Make one write: True when stored, False when dropped for good (refused,
        or the run is gone). Errors worth retrying are raised, the write kept."""
        try:
            write()
            return True
        except Exception as e:
            outcome = outcome_of(e)
            if outcome is Outcome.RETRY:
                raise
            if outcome is Outcome.GONE:
                self.lost()
            else:
                warn_rejected(self.run_id, what, e, self._where, "it is dropped")
            return False

    def _flush_metrics(self) -> None:
        self._take_records()
        self._send_pending(keep_last=False)

    def _send_pending(self, *, keep_last: bool) -> None:
        while not self.gone:
            with self._room:
                if len(self._pending) <= int(keep_last):
                    return
                batch_id, batch, _ = self._pending[0]
            self._deliver(
                "a metric batch",
                functools.partial(self.store.log_metrics, self.run_id, batch, batch_id=batch_id),
            )
            self._done_with(batch_id)

    def _done_with(self, batch_id: str) -> None:
        with self._room:
            # Unless make_room dropped it meanwhile (a stalled store).
            if self._pending and self._pending[0][0] == batch_id:
                _, _, size = self._pending.popleft()
                self._pending_bytes -= size
            self._room.notify_all()

    def _flush_summary(self) -> None:
        with self._summary_lock:
            summary, self._summary = self._summary, {}
        if summary:
            try:
                self._deliver(
                    "summary values", lambda: self.store.set_summary(self.run_id, summary)
                )
            except Exception:
                with self._summary_lock:
                    self._summary = {**summary, **self._summary}
                raise

    def _flush_console(self) -> None:
        if self._drain_console is not None:
            # A fresh id per chunk lets a retrying store (the spool) apply it once.
            self._logs.extend(
                (uuid.uuid4().hex, stream, text) for stream, text in self._drain_console()
            )
        while self._logs and not self.gone:
            batch_id, stream, text = self._logs[0]
            self._deliver(
                "console output",
                functools.partial(
                    self.store.append_logs, self.run_id, stream, text, batch_id=batch_id
                ),
            )
            self._logs.popleft()

    def _beat(self) -> None:
        now = time.time()
        if now - self._last_heartbeat >= self.heartbeat_interval:
            self._last_heartbeat = now
            try:
                # Stamped by the store's clock, not ours: a server judges
                # liveness by its own, and this machine's may be off.
                self._deliver("a heartbeat", lambda: self.store.heartbeat(self.run_id))
            except Exception as e:  # a late heartbeat says nothing: never retried
                logger.debug("ragtrack: heartbeat of run %s failed: %s", self.run_id, e)

    # -- trouble --------------------------------------------------------------------------

    def lost(self) -> None:
        """The run is not in the store any more (deleted by someone else): warn
        once and drop everything from now on. Called by the writer and the Run."""
        if not self.gone:
            self.gone = True
            flusher.remove(self)
            warn_run_gone(self.run_id, self._where, self.label)
        self._discard()

    def _discard(self) -> None:
        self._records.clear()
        with self._room:
            self._pending.clear()
            self._pending_bytes = 0
            self._room.notify_all()
        with self._summary_lock:
            self._summary.clear()
        self._logs.clear()
        if self._drain_console is not None:
            self._drain_console()

    def _in_trouble(self, error: BaseException) -> None:
        reason = describe(error)
        if self._trouble is None:
            logger.warning(
                "ragtrack: cannot store run %s in %s now (%s); its data is kept in memory "
                "and written as soon as possible",
                self.run_id,
                self._where,
                reason,
            )
        self._trouble = reason
        with self._room:
            self._room.notify_all()  # a run.log waiting for room may have to give up

    def _out_of_trouble(self) -> None:
        if self._trouble is not None:
            self._trouble = None
            logger.warning("ragtrack: run %s is being stored in %s again", self.run_id, self._where)

    # -- the end --------------------------------------------------------------------------

    def close(self, status: RunStatus, error: str | None = None, *, timeout: float = 0.0) -> None:
        """Stop flushing, write what is left and end the run with ``status``.

        The last batch, explicit summary values and the status go to the store
        in one ``finish_run`` call (one transaction in the SQL store). Never
        raises: a store that cannot take the writes now is retried for up to
        ``timeout`` seconds, then what could not be stored is reported.
        """
        flusher.remove(self)
        deadline = time.monotonic() + max(0.0, timeout)
        with self._flush_lock:  # waits for a flush the flusher may be running
            while not self.gone:
                try:
                    self._finish(status, error)
                    self._out_of_trouble()
                    return
                except Exception as e:  # worth retrying: give the store its time
                    self._in_trouble(e)
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    if not self.store.wait_for_pending(min(left, 1.0)):
                        time.sleep(min(left, 0.5))
            if self.gone:
                self._discard()
                return
            self._give_up(status, error)

    def _finish(self, status: RunStatus, error: str | None) -> None:
        self._flush_console()
        self._take_records()
        self._send_pending(keep_last=True)
        if self.gone:
            return
        with self._room:
            batch_id, batch, _ = self._pending[0] if self._pending else (None, None, 0)
        with self._summary_lock:
            summary = dict(self._summary)
        stored = self._deliver(
            "the end",
            lambda: self.store.finish_run(
                self.run_id,
                status=status,
                error=error,
                batch=batch,
                batch_id=batch_id,
                summary=summary,
            ),
        )
        self._discard()
        if not stored and not self.gone:
            # The last batch or the summary was refused: the status must still land.
            self._deliver(
                "the end", lambda: self.store.update_run(self.run_id, status=status, error=error)
            )

    def _give_up(self, status: RunStatus, error: str | None) -> None:
        points = sum(size // 24 for _, _, size in self._pending) + sum(
            len(r[2]) for r in self._records
        )
        try:
            self._deliver(
                "the end", lambda: self.store.update_run(self.run_id, status=status, error=error)
            )
            ended = "its status is stored"
        except Exception:
            ended = "neither is its status"
        logger.warning(
            "ragtrack: run %s could not be stored completely in %s (%s): %d metric values and "
            "%d console pieces are lost; %s",
            self.run_id,
            self._where,
            self._trouble,
            points,
            len(self._logs),
            ended,
        )
        self._discard()
