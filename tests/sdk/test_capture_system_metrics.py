from __future__ import annotations

import logging
import sys
import threading
import time
import types
from collections.abc import Callable

import pytest

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.sdk.capture.system_metrics import SystemMonitor

PERCENTAGES = (
    "system/cpu_percent",
    "system/process_cpu_percent",
    "system/memory_percent",
    "system/disk_percent",
)


def fake_pynvml(gpus: int = 2, *, temperature: bool = True) -> types.ModuleType:
    """A minimal ``pynvml`` stand-in; test_capture_hardware.py has the fuller one."""
    fake = types.ModuleType("pynvml")
    fake.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]

    def read_temperature(handle: int, sensor: int) -> int:
        if not temperature:
            raise RuntimeError("Not Supported")
        return 61 + handle

    functions = {
        "nvmlInit": lambda: None,
        "nvmlDeviceGetCount": lambda: gpus,
        "nvmlDeviceGetHandleByIndex": lambda index: index,
        "nvmlDeviceGetUtilizationRates": lambda handle: types.SimpleNamespace(gpu=87),
        "nvmlDeviceGetMemoryInfo": lambda handle: types.SimpleNamespace(used=1, total=4),
        "nvmlDeviceGetTemperature": read_temperature,
    }
    for name, function in functions.items():
        setattr(fake, name, function)
    return fake


def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_sample_has_every_key_in_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monitor = SystemMonitor(lambda sample: None)
    sum(i * i for i in range(100_000))  # some CPU time for the process to account for

    sample = monitor.sample()

    assert set(sample) == {*PERCENTAGES, "system/process_rss_mb"}
    for key in PERCENTAGES:
        assert 0.0 <= sample[key] <= 100.0, key
    assert 1.0 < sample["system/process_rss_mb"] < 1e6
    assert all(type(value) is float for value in sample.values())


def test_sample_includes_gpus_when_nvml_is_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml())

    sample = SystemMonitor(lambda sample: None).sample()

    assert sample["system/gpu.0.utilization_percent"] == 87.0
    assert sample["system/gpu.0.memory_percent"] == 25.0
    assert sample["system/gpu.0.temperature_c"] == 61.0
    assert sample["system/gpu.1.temperature_c"] == 62.0


def test_unreported_gpu_readings_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(1, temperature=False))

    sample = SystemMonitor(lambda sample: None).sample()

    assert "system/gpu.0.utilization_percent" in sample
    assert "system/gpu.0.temperature_c" not in sample


def test_emits_periodically_and_stops_promptly() -> None:
    samples: list[dict[str, float]] = []
    monitor = SystemMonitor(samples.append, interval=0.05)

    monitor.start()
    wait_for(lambda: len(samples) >= 3)
    started = time.monotonic()
    monitor.stop()

    assert time.monotonic() - started < 0.5
    assert not monitor.running
    count = len(samples)
    time.sleep(0.12)
    assert len(samples) == count
    assert "system/cpu_percent" in samples[0]


def test_stop_does_not_wait_for_a_long_interval() -> None:
    monitor = SystemMonitor(lambda sample: None, interval=3600)
    monitor.start()

    started = time.monotonic()
    monitor.stop()

    assert time.monotonic() - started < 0.5


def test_start_twice_runs_one_thread_and_restart_works() -> None:
    samples: list[dict[str, float]] = []
    monitor = SystemMonitor(samples.append, interval=0.02)

    monitor.start()
    monitor.start()
    threads = [t for t in threading.enumerate() if t.name == "ragtrack-system-metrics"]
    assert len(threads) == 1 and threads[0].daemon
    monitor.stop()
    monitor.stop()

    samples.clear()
    monitor.start()
    wait_for(lambda: len(samples) >= 1)
    monitor.stop()


def test_failures_are_logged_once_and_sampling_continues(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def flaky_emit(sample: dict[str, float]) -> None:
        calls.append(1)
        if len(calls) <= 3:
            raise RuntimeError("store unavailable")

    monitor = SystemMonitor(flaky_emit, interval=0.02)
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        monitor.start()
        wait_for(lambda: len(calls) >= 5)
        monitor.stop()

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "store unavailable" in caplog.text


def test_stop_from_inside_emit() -> None:
    samples: list[dict[str, float]] = []
    monitor: SystemMonitor

    def emit_once(sample: dict[str, float]) -> None:
        samples.append(sample)
        monitor.stop()

    monitor = SystemMonitor(emit_once, interval=0.02)
    monitor.start()
    wait_for(lambda: len(samples) == 1)
    time.sleep(0.06)

    assert len(samples) == 1


@pytest.mark.parametrize("interval", [0, -1.0, float("nan")])
def test_rejects_non_positive_intervals(interval: float) -> None:
    with pytest.raises(InvalidArgumentError, match="interval"):
        SystemMonitor(lambda sample: None, interval=interval)


def test_restart_after_stop_from_emit_runs_one_thread() -> None:
    calls: list[int] = []
    monitor: SystemMonitor

    def emit(sample: dict[str, float]) -> None:
        calls.append(1)
        if len(calls) == 1:
            monitor.stop()  # allowed from emit
            time.sleep(0.1)  # the old thread is still inside emit when start() runs

    monitor = SystemMonitor(emit, interval=0.01)
    monitor.start()
    time.sleep(0.05)
    monitor.start()
    time.sleep(0.2)
    alive = [t for t in threading.enumerate() if t.name == "ragtrack-system-metrics"]
    monitor.stop()
    assert len(alive) == 1


def test_runs_in_one_process_share_one_sampling_thread() -> None:
    # A thread per run cost ~1 ms a run to start and join: most of default capture's cost.
    first: list[dict[str, float]] = []
    second: list[dict[str, float]] = []
    monitors = [SystemMonitor(first.append, interval=0.02), SystemMonitor(second.append, 0.03)]

    for monitor in monitors:
        monitor.start()
    wait_for(lambda: len(first) >= 2 and len(second) >= 2)
    threads = [t for t in threading.enumerate() if t.name == "ragtrack-system-metrics"]
    for monitor in monitors:
        monitor.stop()

    assert len(threads) == 1
