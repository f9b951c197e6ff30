"""One background thread per process that flushes every live run on its interval.

A thread per run cost ~0.2 ms to start and join — a tenth of a short run — and
a sweep or evaluation grid that keeps many runs open in one process would hold
a thread each. Writers register here; the thread sleeps until the earliest is
due. A slow flush of one run delays the others' by as much, which is harmless:
each flush writes whatever accumulated meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Protocol

from ragtrack._threads import daemon_thread

logger = logging.getLogger("ragtrack")


class Flushable(Protocol):
    interval: float

    @property
    def run_id(self) -> str: ...

    def flush(self) -> None: ...


class Flusher:
    def __init__(self) -> None:
        self._due: dict[Flushable, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._sleeping_until = 0.0  # monotonic time the thread will next wake

    def add(self, writer: Flushable) -> None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread is not ours
                self._due.clear()
                self._thread = None
                self._pid = os.getpid()
            due = self._due[writer] = time.monotonic() + writer.interval
            # Waking the thread costs a GIL hand-off; only do it when this writer
            # is due before the thread would wake anyway (not the usual case).
            wake = due < self._sleeping_until
            if self._thread is None:
                self._thread = daemon_thread(self._loop, name="ragtrack-flusher")
                self._thread.start()
        if wake:
            self._wake.set()

    def hurry(self, writer: Flushable) -> None:
        """Flush ``writer`` as soon as the thread is free (its memory is filling up)."""
        with self._lock:
            if writer not in self._due:
                return
            self._due[writer] = time.monotonic()
        self._wake.set()

    def remove(self, writer: Flushable) -> None:
        with self._lock:
            self._due.pop(writer, None)

    def _loop(self) -> None:
        while True:
            now = time.monotonic()
            with self._lock:
                due = [w for w, at in self._due.items() if at <= now]
            for writer in due:
                try:
                    writer.flush()  # handles the store's errors itself
                except Exception:  # a bug: never let the thread die
                    logger.exception("ragtrack: flushing run %s failed", writer.run_id)
                with self._lock:
                    if writer in self._due:
                        self._due[writer] = time.monotonic() + writer.interval
            with self._lock:
                next_at = min(self._due.values(), default=time.monotonic() + 60.0)
                self._sleeping_until = next_at
                self._wake.clear()
            self._wake.wait(max(0.0, next_at - time.monotonic()))


#: The process's flusher.
flusher = Flusher()
