"""Periodic samples of CPU, memory, disk and GPU use while a run is alive."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable

import psutil

from ragtrack._threads import daemon_thread
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.sdk.capture import _nvml

logger = logging.getLogger("ragtrack")


class SystemMonitor:
    """Calls ``emit`` with a fresh :meth:`sample` every ``interval`` seconds, from
    the process's sampling thread.

    The first sample is emitted one interval after :meth:`start`, so that CPU
    percentages cover a full interval. A failing sample or ``emit`` is logged and
    sampling carries on: monitoring never takes the training process down.

    Example:
        >>> samples = []
        >>> monitor = SystemMonitor(samples.append, interval=0.01)
        >>> monitor.start(); time.sleep(0.1); monitor.stop()  # doctest: +SKIP
        >>> "system/cpu_percent" in samples[0]  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        emit: Callable[[dict[str, float]], None],
        interval: float = 10.0,
        disk_path: str | None = None,
    ) -> None:
        if not interval > 0:
            raise InvalidArgumentError(
                f"system metrics interval must be a positive number of seconds, got {interval!r}",
                field="interval",
            )
        self._emit = emit
        self.interval = interval
        # Fixed now: the run's working directory is where its outputs usually go.
        self._disk_path = disk_path if disk_path is not None else os.getcwd()
        self._cpu_count = _cpu_count()
        self._cpu_mark = _process_cpu_mark()
        self._system_mark: tuple[float, float] | None = None
        # Held while sampling and emitting, so that after stop() returns nothing is
        # emitted; reentrant because emit may call stop().
        self._lock = threading.RLock()
        self._active = False
        self._failures = 0

    @property
    def running(self) -> bool:
        return self._active

    def start(self) -> None:
        """Start sampling in the background; does nothing if already started."""
        with self._lock:
            if self._active:
                return
            self._active = True
            self._cpu_mark = _process_cpu_mark()  # the first sample covers one interval
            self._system_mark = _system_cpu_mark()
        _sampler.add(self)

    def stop(self) -> None:
        """Stop sampling; returns at once (waiting only for a sample being emitted).

        Safe to call more than once, and from ``emit`` itself.
        """
        with self._lock:
            self._active = False
        _sampler.remove(self)

    def tick(self) -> None:
        """Sample and emit once, unless stopped (called by the sampling thread)."""
        with self._lock:
            if not self._active:
                return
            try:
                self._emit(self.sample())
                self._failures = 0
            except Exception:
                # The full traceback once; repeating it every interval would flood the log.
                self._failures += 1
                if self._failures == 1:
                    logger.warning("system metrics sample failed", exc_info=True)
                else:
                    logger.debug("system metrics sample failed again", exc_info=True)

    def sample(self) -> dict[str, float]:
        """Measure once. CPU percentages cover the time since the previous sample.

        ``system/process_cpu_percent`` is this process's share of all cores (0-100,
        like ``system/cpu_percent``), not ``top``'s 100-per-core figure, so both fit
        one chart. Per GPU ``i`` it adds ``system/gpu.{i}.utilization_percent``,
        ``.memory_percent`` and ``.temperature_c`` when NVML reports them.

        Example:
            >>> 0 <= SystemMonitor(print).sample()["system/memory_percent"] <= 100
            True
        """
        (used, at), (used_before, at_before) = _process_cpu_mark(), self._cpu_mark
        self._cpu_mark = (used, at)
        process_cpu = 100.0 * (used - used_before) / (at - at_before) if at > at_before else 0.0
        # Each monitor keeps its own baseline: psutil.cpu_percent(interval=None) keeps
        # one per thread, and with every run's monitor sampled by one thread each
        # would measure only since another run's sample (near 0 with two runs).
        system_before, self._system_mark = self._system_mark, _system_cpu_mark()
        values: dict[str, float] = {
            "system/cpu_percent": _busy_percent(system_before, self._system_mark),
            "system/process_cpu_percent": min(100.0, process_cpu / self._cpu_count),
            "system/memory_percent": float(psutil.virtual_memory().percent),
            "system/process_rss_mb": _this_process().memory_info().rss / 2**20,
        }
        # The directory may have been removed or unmounted; the other values still count.
        with contextlib.suppress(OSError):
            values["system/disk_percent"] = float(psutil.disk_usage(self._disk_path).percent)
        for gpu in _nvml.gpu_samples():
            prefix = f"system/gpu.{gpu.index}."
            for name, value in (
                ("utilization_percent", gpu.utilization_percent),
                ("memory_percent", gpu.memory_percent),
                ("temperature_c", gpu.temperature_c),
            ):
                if value is not None:
                    values[prefix + name] = value
        return values


def _process_cpu_mark() -> tuple[float, float]:
    """CPU seconds this process used so far, and when: a system call, no file to
    parse (psutil.Process() and its first cpu_percent read /proc three times,
    which was a tenth of a short run's start)."""
    times = os.times()
    return times.user + times.system, time.monotonic()


def _system_cpu_mark() -> tuple[float, float]:
    """The machine's busy and total CPU seconds so far, split as
    psutil.cpu_percent splits them (idle and iowait are not busy; guest time is
    already counted in user and nice)."""
    times = psutil.cpu_times()
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def _busy_percent(before: tuple[float, float] | None, now: tuple[float, float]) -> float:
    """The machine's busy share of all cores (0-100) between two marks; since boot
    without a first mark (a sample() of a monitor never started)."""
    busy_before, total_before = before if before is not None else (0.0, 0.0)
    busy, total = now
    if total <= total_before:
        return 0.0
    return min(100.0, max(0.0, 100.0 * (busy - busy_before) / (total - total_before)))


def _this_process() -> psutil.Process:
    global _process
    if _process is None or _process.pid != os.getpid():
        _process = psutil.Process()
    return _process


_process: psutil.Process | None = None


@functools.cache
def _cpu_count() -> int:
    return psutil.cpu_count(logical=True) or 1


class _Sampler:
    """One thread per process samples every started monitor when it is due.

    A thread per run cost ~1 ms to start and join on a busy 2-core machine, which
    was most of what default capture added to a short run (a sweep runs 1,000 of
    them); the writer's flusher (``sdk/_flusher.py``) is shared the same way.
    """

    def __init__(self) -> None:
        self._due: dict[SystemMonitor, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._sleeping_until = 0.0

    def add(self, monitor: SystemMonitor) -> None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread is not ours
                self._due.clear()
                self._thread = None
                self._pid = os.getpid()
            due = self._due[monitor] = time.monotonic() + monitor.interval
            wake = due < self._sleeping_until
            if self._thread is None:
                self._thread = daemon_thread(self._loop, name="ragtrack-system-metrics")
                self._thread.start()
        if wake:
            self._wake.set()

    def remove(self, monitor: SystemMonitor) -> None:
        with self._lock:
            self._due.pop(monitor, None)

    def _loop(self) -> None:
        while True:
            now = time.monotonic()
            with self._lock:
                due = [m for m, at in self._due.items() if at <= now]
            for monitor in due:
                monitor.tick()
                with self._lock:
                    if monitor in self._due:
                        self._due[monitor] = time.monotonic() + monitor.interval
            with self._lock:
                next_at = min(self._due.values(), default=time.monotonic() + 60.0)
                self._sleeping_until = next_at
                self._wake.clear()
            self._wake.wait(max(0.0, next_at - time.monotonic()))


_sampler = _Sampler()
