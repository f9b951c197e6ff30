"""Frozen records of what ragtrack stores. No I/O happens here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragtrack.entities.aggregates import MetricAggregate, RunGroup, RunKeys
from ragtrack.entities.project import Experiment, ExperimentMetric, MetricGoal, Project
from ragtrack.entities.run import RunRecord, RunStatus
from ragtrack.entities.summary import MetricSummary

if TYPE_CHECKING:
    from ragtrack.entities.metric import MetricSeries

__all__ = [
    "Experiment",
    "ExperimentMetric",
    "MetricAggregate",
    "MetricGoal",
    "MetricSeries",
    "MetricSummary",
    "Project",
    "RunGroup",
    "RunKeys",
    "RunRecord",
    "RunStatus",
]


def __getattr__(name: str) -> Any:
    # MetricSeries needs numpy (~60-90 ms to import); reading runs does not.
    if name == "MetricSeries":
        from ragtrack.entities.metric import MetricSeries

        return MetricSeries
    raise AttributeError(f"module 'ragtrack.entities' has no attribute {name!r}")
