"""The summary of a metric series: plain data, no I/O, no numpy (a runs table
reads thousands of them and should not need numpy to do so)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSummary:
    """What is kept up to date on every write of a (run, key) series.

    ``min`` and ``max`` ignore NaN; they are NaN only when every value was NaN.
    """

    key: str
    count: int
    last: float
    last_step: int
    last_time: float
    min: float
    max: float
