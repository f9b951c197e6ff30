"""The machine a run executes on: CPU, memory and GPUs."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from ragtrack.sdk.capture import _nvml


def hardware_info() -> dict[str, Any]:
    """Describe the CPU, memory and NVIDIA GPUs of this machine.

    ``gpus`` lists ``{"index", "name", "memory_total_bytes", "driver"}`` per GPU
    and is empty when the ``[gpu]`` extra (``nvidia-ml-py``) or a driver is missing.
    NVML indexes GPUs physically, which is not ``CUDA_VISIBLE_DEVICES`` order.

    Example:
        >>> info = hardware_info()
        >>> info["cpu_count_logical"] >= 1 and isinstance(info["gpus"], list)
        True
    """
    import psutil  # ~20 ms to import: only when a run records its hardware

    return {
        "cpu_model": cpu_model(),
        "cpu_count_logical": psutil.cpu_count(logical=True) or os.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "memory_total_bytes": int(psutil.virtual_memory().total),
        "gpus": _nvml.gpu_info(),
    }


def cpu_model(cpuinfo_path: str = "/proc/cpuinfo") -> str | None:
    """The CPU's marketing name, e.g. ``"AMD EPYC 7B13"``, or ``None`` when unknown.

    Example:
        >>> cpu_model() is None or isinstance(cpu_model(), str)
        True
    """
    # platform.processor() says only "x86_64" on Linux, so read what the kernel reports.
    if sys.platform.startswith("linux"):
        try:
            with open(cpuinfo_path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key.strip() == "model name" and value.strip():
                        return value.strip()
        except OSError:
            pass
    return platform.processor() or None
