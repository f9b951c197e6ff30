from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from ragtrack.sdk.capture import _nvml
from ragtrack.sdk.capture.hardware import cpu_model, hardware_info


def fake_pynvml(
    names: tuple[object, ...] = (b"NVIDIA A100-SXM4-40GB", "NVIDIA H100"),
    *,
    init_error: Exception | None = None,
    temperature_error: Exception | None = None,
) -> types.ModuleType:
    """A stand-in for ``pynvml`` with one GPU per name, as on a machine with a driver."""
    fake = types.ModuleType("pynvml")
    memory = types.SimpleNamespace(total=40 * 2**30, used=10 * 2**30, free=30 * 2**30)

    def init() -> None:
        if init_error is not None:
            raise init_error

    def temperature(handle: int, sensor: int) -> int:
        assert sensor == fake.NVML_TEMPERATURE_GPU
        if temperature_error is not None:
            raise temperature_error
        return 61 + handle

    functions: dict[str, Any] = {
        "NVML_TEMPERATURE_GPU": 0,
        "nvmlInit": init,
        "nvmlSystemGetDriverVersion": lambda: b"535.104.05",
        "nvmlDeviceGetCount": lambda: len(names),
        "nvmlDeviceGetHandleByIndex": lambda index: index,
        "nvmlDeviceGetName": lambda handle: names[handle],
        "nvmlDeviceGetMemoryInfo": lambda handle: memory,
        "nvmlDeviceGetUtilizationRates": lambda handle: types.SimpleNamespace(gpu=87, memory=40),
        "nvmlDeviceGetTemperature": temperature,
    }
    for name, value in functions.items():
        setattr(fake, name, value)
    return fake


def test_no_gpus_without_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import pynvml` fail even where it is installed.
    monkeypatch.setitem(sys.modules, "pynvml", None)

    info = hardware_info()

    assert info["gpus"] == []
    assert _nvml.gpu_samples() == []


def test_describes_cpu_and_memory() -> None:
    info = hardware_info()

    assert info["cpu_count_logical"] >= 1
    assert info["cpu_count_physical"] is None or info["cpu_count_physical"] >= 1
    assert info["memory_total_bytes"] > 0
    assert info["cpu_model"] is None or isinstance(info["cpu_model"], str)
    assert json.loads(json.dumps(info)) == info


def test_gpus_through_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml())

    gpus = hardware_info()["gpus"]

    assert gpus == [
        {
            "index": 0,
            "name": "NVIDIA A100-SXM4-40GB",
            "memory_total_bytes": 40 * 2**30,
            "driver": "535.104.05",
        },
        {
            "index": 1,
            "name": "NVIDIA H100",
            "memory_total_bytes": 40 * 2**30,
            "driver": "535.104.05",
        },
    ]


def test_nvml_init_failure_means_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(init_error=RuntimeError("no driver")))

    assert hardware_info()["gpus"] == []
    assert _nvml.gpu_samples() == []


def test_gpu_samples_skip_unsupported_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_pynvml(("GPU",), temperature_error=RuntimeError("Not Supported"))
    monkeypatch.setitem(sys.modules, "pynvml", fake)

    assert _nvml.gpu_samples() == [
        _nvml.GpuSample(0, utilization_percent=87.0, memory_percent=25.0, temperature_c=None)
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_cpu_model_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n")

    assert cpu_model(str(cpuinfo)) == "AMD EPYC 7B13"


def test_cpu_model_falls_back_to_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platform.processor", lambda: "arm")

    assert cpu_model(str(tmp_path / "missing")) == "arm"
