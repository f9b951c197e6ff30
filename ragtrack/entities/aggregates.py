"""What a store says about many runs at once: the keys they use and their
metrics grouped by a param. Plain data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunKeys:
    """The flattened param keys and the metric keys used by a set of runs,
    each sorted and distinct.

    ``metrics`` are the keys of :attr:`RunRecord.summary`: logged series and
    explicit summary values alike.

    Example:
        >>> RunKeys(params=("chunker.size", "lr"), metrics=("recall@10",)).params
        ('chunker.size', 'lr')
    """

    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricAggregate:
    """Statistics of one metric's summary values over the runs of a group.

    ``count`` is the number of runs with a finite numeric value; runs without
    the metric, or with NaN, infinity or a non-numeric explicit value, are left
    out. ``mean``, ``min`` and ``max`` are ``None`` when ``count`` is 0.

    Example:
        >>> MetricAggregate(count=2, mean=0.5, min=0.4, max=0.6).mean
        0.5
    """

    count: int
    mean: float | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class RunGroup:
    """The runs sharing one value of a param, with their metrics aggregated.

    ``value`` keeps the param's type (``512``, ``"bge"``, ``True``, ``[1, 2]``);
    ``None`` is the group of runs that do not have the param (or have it as
    JSON ``null``). ``metrics`` holds one :class:`MetricAggregate` for every
    metric asked for, in the order asked.

    Example:
        >>> group = RunGroup(512, 3, {"recall@10": MetricAggregate(3, 0.7, 0.6, 0.8)})
        >>> group.metrics["recall@10"].max
        0.8
    """

    value: Any
    run_count: int
    metrics: Mapping[str, MetricAggregate] = field(default_factory=dict)
