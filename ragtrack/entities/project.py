"""Projects and experiments: the grouping of runs."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Project:
    """The team/permission boundary; holds experiments and runs."""

    name: str
    created_at: float
    run_count: int = 0


class MetricGoal(str, enum.Enum):
    """Whether bigger or smaller values of a metric are better."""

    MAX = "max"
    MIN = "min"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ExperimentMetric:
    """A metric an experiment tracks, with its goal (``recall@10`` → max)."""

    name: str
    goal: MetricGoal = MetricGoal.MAX


@dataclass(frozen=True)
class Experiment:
    """A named definition inside a project that groups its runs.

    ``datasets`` and ``models`` name the inputs (artifact references, URIs or
    hub names); ``hyperparameters`` holds fixed values or a search space as
    nested JSON; ``metrics`` lists what to track and which way is better;
    ``command`` is what executing the experiment runs, if anything. An
    experiment created implicitly by a run has an empty definition.
    """

    project: str
    name: str
    created_at: float
    description: str = ""
    run_count: int = 0
    datasets: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    metrics: tuple[ExperimentMetric, ...] = ()
    command: str | None = None
    updated_at: float | None = None
