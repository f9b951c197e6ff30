"""Projects and experiments: the grouping of runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Project:
    """The team/permission boundary; holds experiments and runs."""

    name: str
    created_at: float
    run_count: int = 0


@dataclass(frozen=True)
class Experiment:
    """A named group of runs inside a project."""

    project: str
    name: str
    created_at: float
    description: str = ""
    run_count: int = 0
