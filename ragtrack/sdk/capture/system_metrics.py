"""Periodic samples of CPU, memory, disk and GPU use while a run is alive."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable

import psutil

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.sdk.capture import _nvml

logger = logging.getLogger("ragtrack")

_STOP_TIMEOUT_S = 5.0


class SystemMonitor:
    """Calls ``emit`` with a fresh :meth:`sample` every ``interval`` seconds on a daemon thread.

    The first sample is emitted one interval after :meth:`start`, so that CPU
    percentages cover a full interval. A failing sample or ``emit`` is logged and
    the loop carries on: monitoring never takes the training process down.

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
        self._interval = interval
        # Fixed now: the run's working directory is where its outputs usually go.
        self._disk_path = disk_path if disk_path is not None else os.getcwd()
        self._process = psutil.Process()
        self._cpu_count = psutil.cpu_count(logical=True) or 1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start sampling in the background; does nothing if already started."""
        with self._lock:
            if self.running:
                return
            # A fresh event per thread: clearing a shared one could revive an old
            # thread that has not finished stopping (e.g. stop() called from emit).
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._loop, args=(self._stop,), name="ragtrack-system-metrics", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread, which wakes at once rather than at the next tick.

        Safe to call more than once, and from ``emit`` itself.
        """
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is None or thread is threading.current_thread():
            return
        thread.join(_STOP_TIMEOUT_S)
        if thread.is_alive():
            logger.warning("system metrics thread did not stop within %s s", _STOP_TIMEOUT_S)

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
        with self._process.oneshot():
            process_cpu = self._process.cpu_percent(interval=None)
            rss = self._process.memory_info().rss
        values: dict[str, float] = {
            "system/cpu_percent": float(psutil.cpu_percent(interval=None)),
            "system/process_cpu_percent": min(100.0, float(process_cpu) / self._cpu_count),
            "system/memory_percent": float(psutil.virtual_memory().percent),
            "system/process_rss_mb": rss / 2**20,
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

    def _prime(self) -> None:
        # psutil's first cpu_percent(None) call only sets a baseline (and, in recent psutil,
        # one per thread), so prime in whichever thread is about to sample.
        psutil.cpu_percent(interval=None)
        self._process.cpu_percent(interval=None)

    def _loop(self, stop: threading.Event) -> None:
        failures = 0
        try:
            self._prime()
        except Exception:
            logger.debug("could not prime CPU counters", exc_info=True)
        while not stop.wait(self._interval):
            try:
                self._emit(self.sample())
                failures = 0
            except Exception:
                # The full traceback once; repeating it every interval would flood the log.
                failures += 1
                if failures == 1:
                    logger.warning("system metrics sample failed", exc_info=True)
                else:
                    logger.debug("system metrics sample failed again", exc_info=True)
