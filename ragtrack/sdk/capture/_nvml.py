"""NVIDIA GPU access through NVML, shared by hardware info and system metrics.

``pynvml`` comes from the optional ``nvidia-ml-py`` package (``pip install
'ragtrack[gpu]'``). Without it, without a driver or without GPUs every function
here returns an empty list: a run on a laptop simply has no GPUs.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("ragtrack")

_lock = threading.Lock()
_ready: Any = None  # the pynvml module on which nvmlInit() succeeded
_failed: Any = None  # the pynvml module whose nvmlInit() failed, so it is not retried
_import_failed = False


@dataclass(frozen=True)
class GpuSample:
    """One reading of one GPU; a field is ``None`` when the GPU does not report it."""

    index: int
    utilization_percent: float | None
    memory_percent: float | None
    temperature_c: float | None


def nvml() -> Any:
    """The initialised ``pynvml`` module, or ``None`` when NVML is unusable.

    NVML is initialised once per process and never shut down: sampling every few
    seconds should not pay for a re-initialisation, and the driver releases
    everything when the process exits.

    Example:
        >>> nvml() is None  # on a machine without the [gpu] extra or a GPU  # doctest: +SKIP
        True
    """
    global _ready, _failed, _import_failed
    with _lock:
        # Looked up in sys.modules first so that a test's fake module takes effect.
        module: Any = sys.modules.get("pynvml")
        if module is None:
            if _import_failed:
                return None
            try:
                import pynvml

                module = pynvml
            except Exception:
                # Cached: a failed import is not cached by Python and rescans sys.path.
                _import_failed = True
                logger.debug("pynvml is not installed; install 'ragtrack[gpu]' to record GPUs")
                return None
        if module is _ready:
            return module
        if module is _failed:
            return None
        try:
            module.nvmlInit()
        except Exception as e:
            _failed = module
            logger.debug("NVML is unavailable (%s); not recording GPUs", e)
            return None
        _ready = module
        return module


def gpu_info() -> list[dict[str, Any]]:
    """Static facts about each GPU: ``index``, ``name``, ``memory_total_bytes``, ``driver``.

    Example:
        >>> gpu_info()  # without NVML  # doctest: +SKIP
        []
    """
    lib = nvml()
    if lib is None:
        return []
    try:
        driver: str | None = _text(lib.nvmlSystemGetDriverVersion())
    except Exception:
        driver = None
    gpus = []
    for index, handle in _handles(lib):
        try:
            gpus.append(
                {
                    "index": index,
                    "name": _text(lib.nvmlDeviceGetName(handle)),
                    "memory_total_bytes": int(lib.nvmlDeviceGetMemoryInfo(handle).total),
                    "driver": driver,
                }
            )
        except Exception as e:
            logger.warning("could not describe GPU %d: %s", index, e)
    return gpus


def gpu_samples() -> list[GpuSample]:
    """Current utilisation, memory use and temperature of each GPU.

    Example:
        >>> [s.index for s in gpu_samples()]  # on a two-GPU machine  # doctest: +SKIP
        [0, 1]
    """
    lib = nvml()
    if lib is None:
        return []
    samples = []
    for index, handle in _handles(lib):
        # Each reading separately: MIG slices and some consumer cards report only part of them.
        samples.append(
            GpuSample(
                index,
                _read(_utilization, lib, handle),
                _read(_memory_percent, lib, handle),
                _read(_temperature, lib, handle),
            )
        )
    return samples


def _handles(lib: Any) -> list[tuple[int, Any]]:
    try:
        count = int(lib.nvmlDeviceGetCount())
    except Exception as e:
        logger.debug("NVML could not count GPUs: %s", e)
        return []
    handles = []
    for index in range(count):
        try:
            handles.append((index, lib.nvmlDeviceGetHandleByIndex(index)))
        except Exception as e:  # e.g. a GPU that fell off the bus
            logger.debug("NVML could not open GPU %d: %s", index, e)
    return handles


def _read(reading: Callable[[Any, Any], float], lib: Any, handle: Any) -> float | None:
    try:
        return float(reading(lib, handle))
    except Exception:
        return None


def _utilization(lib: Any, handle: Any) -> float:
    return float(lib.nvmlDeviceGetUtilizationRates(handle).gpu)


def _memory_percent(lib: Any, handle: Any) -> float:
    info = lib.nvmlDeviceGetMemoryInfo(handle)
    return 100.0 * float(info.used) / float(info.total)


def _temperature(lib: Any, handle: Any) -> float:
    return float(lib.nvmlDeviceGetTemperature(handle, lib.NVML_TEMPERATURE_GPU))


def _text(value: object) -> str:
    # Older pynvml releases return bytes, newer ones str.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
