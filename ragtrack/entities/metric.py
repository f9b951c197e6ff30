"""Metric points and series: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ragtrack.entities.summary import MetricSummary

__all__ = ["Float64Array", "Int64Array", "MetricSeries", "MetricSummary"]

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class MetricSeries:
    """An ordered run of points of one key: three equally long numpy arrays.

    Used both for writing (a batch) and reading (a history). Timestamps are
    seconds since the epoch.

    Example:
        >>> s = MetricSeries.from_lists([0, 1], [0.5, 0.4], [1.0e9, 1.0e9 + 1])
        >>> len(s), float(s.values[-1])
        (2, 0.4)
    """

    steps: Int64Array
    values: Float64Array
    timestamps: Float64Array

    def __post_init__(self) -> None:
        n = len(self.steps)
        if len(self.values) != n or len(self.timestamps) != n:
            raise ValueError(
                f"steps, values and timestamps must be equally long, got "
                f"{n}, {len(self.values)}, {len(self.timestamps)}"
            )

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def from_lists(
        cls, steps: list[int], values: list[float], timestamps: list[float]
    ) -> MetricSeries:
        return cls(
            np.asarray(steps, dtype=np.int64),
            np.asarray(values, dtype=np.float64),
            np.asarray(timestamps, dtype=np.float64),
        )

    @classmethod
    def empty(cls) -> MetricSeries:
        return cls.from_lists([], [], [])

    @classmethod
    def concat(cls, parts: list[MetricSeries]) -> MetricSeries:
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.steps for p in parts]),
            np.concatenate([p.values for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricSeries):
            return NotImplemented
        return (
            np.array_equal(self.steps, other.steps)
            and np.array_equal(self.values, other.values, equal_nan=True)
            and np.array_equal(self.timestamps, other.timestamps, equal_nan=True)
        )
