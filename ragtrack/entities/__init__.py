"""Frozen records of what ragtrack stores. No I/O happens here."""

from ragtrack.entities.aggregates import MetricAggregate, RunGroup, RunKeys
from ragtrack.entities.metric import MetricSeries, MetricSummary
from ragtrack.entities.project import Experiment, ExperimentMetric, MetricGoal, Project
from ragtrack.entities.run import RunRecord, RunStatus

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
