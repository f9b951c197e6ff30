from __future__ import annotations

import logging
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import pytest

import ragtrack
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.sdk.capture.system_metrics import SystemMonitor
from ragtrack.storage import open_store

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


def test_two_live_runs_in_one_process_both_see_the_machine_busy(tmp_path: Path) -> None:
    # Both runs' monitors are sampled by one thread; each must measure the
    # machine over its own interval, not since the other run's sample.
    capture = {"system_metrics": True, "system_metrics_interval": 0.2}
    runs = [ragtrack.init(project="p", dir=tmp_path, capture=capture) for _ in range(2)]
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # one core busy the whole time
        sum(i * i for i in range(10_000))
    for run in runs:
        run.finish()
    store = open_store(dir=tmp_path)
    for run in runs:
        machine = store.get_history(run.id, "system/cpu_percent").values
        process = store.get_history(run.id, "system/process_cpu_percent").values
        assert len(machine) >= 4 and len(process) == len(machine)
        # The machine is at least as busy as this process (of all cores, 0-100).
        assert float(np.mean(process)) > 5
        assert float(np.mean(machine)) >= 0.8 * float(np.mean(process))


def test_two_live_runs_each_measure_the_machine_over_their_own_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine steadily 60% busy whose counters advance in the kernel's 10 ms
    # ticks: a run measuring only since the other run's sample (a few ms) reads
    # 0 or 100, one measuring its own interval reads about 60.
    kind = type(psutil.cpu_times())
    zero = kind(*(0.0 for _ in kind._fields))
    start = time.monotonic()

    def kernel_cpu_times(percpu: bool = False) -> object:
        ticks = int((time.monotonic() - start) * 100) * 2  # two cores
        busy = ticks * 6 // 10
        return zero._replace(user=busy / 100, idle=(ticks - busy) / 100)

    monkeypatch.setattr(psutil, "cpu_times", kernel_cpu_times)
    capture = {"system_metrics": True, "system_metrics_interval": 0.1}
    runs = [ragtrack.init(project="p", dir=tmp_path, capture=capture) for _ in range(2)]
    time.sleep(1.0)
    for run in runs:
        run.finish()
    store = open_store(dir=tmp_path)
    for run in runs:
        machine = store.get_history(run.id, "system/cpu_percent").values
        assert len(machine) >= 3
        assert np.all((machine > 40) & (machine < 80)), machine
