"""What every workload shares: timing repeats, fresh store directories and the
:class:`Figure` a workload reports.

Timing rules (see docs/benchmarks.md): ``time.perf_counter``; a full garbage
collection before each timed repeat so that a collection left over from the
previous repeat does not land inside the next one (the collector stays enabled
while timing, since users run with it on); several repeats, reported as the
best or the median, and each figure says which.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

#: How a figure is compared with its target.
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda value, target: value <= target,
    "<": lambda value, target: value < target,
    "==": lambda value, target: value == target,
    ">=": lambda value, target: value >= target,
}
_OP_TEXT = {"<=": "≤", "<": "<", "==": "=", ">=": "≥"}


class Skipped(Exception):
    """Raised by a workload that cannot run here; the message says why and what to do."""


@dataclass
class Samples:
    """Repeated measurements of one thing, in seconds."""

    values: list[float]

    @property
    def best(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Figure:
    """One reported number, with its target when it has one.

    ``value`` is already in ``unit``; ``stat`` says how it was obtained
    ("best of 7", "median of 10"); ``detail`` adds context (other statistics,
    sizes). A figure without a target is informational.
    """

    label: str
    value: float
    unit: str
    target: float | None = None
    op: str = "<="
    stat: str = ""
    detail: str = ""
    passed: bool | None = field(default=None)

    def judge(self, enforce: bool) -> Figure:
        """Fill in ``passed`` (left None when there is no target or targets are off)."""
        if self.target is not None and enforce:
            self.passed = _OPS[self.op](self.value, self.target)
        return self

    def target_text(self) -> str:
        if self.target is None:
            return ""
        amount = (
            f"{self.target:,g}{self.unit}" if self.unit == "x" else f"{self.target:,g} {self.unit}"
        )
        return f"target {_OP_TEXT[self.op]} {amount}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def format_value(value: float, unit: str) -> str:
    """``value`` with a precision suited to its size, e.g. ``0.093 µs``, ``27.4 ms``."""
    if unit in ("runs", "points", "bytes") and float(value).is_integer():
        return f"{int(value):,} {unit}"
    magnitude = abs(value)
    if magnitude >= 100:
        text = f"{value:,.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text}{unit}" if unit == "x" else f"{text} {unit}"


def time_call(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_calls(fn: Callable[[], Any], times: int, warmup: int = 2) -> Samples:
    """``times`` timed calls of ``fn`` after ``warmup`` untimed ones (a warm process)."""
    for _ in range(warmup):
        fn()
    gc.collect()
    return Samples([time_call(fn) for _ in range(times)])


@contextlib.contextmanager
def fresh_dir(workload: str) -> Iterator[str]:
    """A new, empty temporary directory for one workload's store, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"ragtrack-bench-{workload}-") as path:
        yield path


def dir_bytes(path: str) -> int:
    """Total size of the regular files under ``path``."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.path.getsize(os.path.join(root, name))
    return total


def progress(message: str) -> None:
    """A progress line on stderr (stdout carries the results)."""
    print(f"  … {message}", file=sys.stderr, flush=True)


def ms(seconds: float) -> float:
    return seconds * 1e3


def spread_text(samples: Samples, to_unit: Callable[[float], float], unit: str) -> str:
    """``"median 28.0 ms, worst 31.2 ms"``: context for a best-of-N figure."""
    return (
        f"median {format_value(to_unit(samples.median), unit)}, "
        f"worst {format_value(to_unit(max(samples.values)), unit)}"
    )
