"""Runs as stored: frozen records, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ragtrack.entities.summary import MetricSummary


class RunStatus(str, enum.Enum):
    """Lifecycle of a run.

    ``crashed`` is never written by a live process: a store reports a ``running``
    run whose heartbeat is older than its staleness limit as ``crashed``.
    """

    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    CRASHED = "crashed"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED, RunStatus.CRASHED})


@dataclass(frozen=True)
class RunRecord:
    """Everything about a run that a runs table needs.

    Bulky data (system metadata, logs, metric series) is read separately through
    the store so that searching thousands of runs stays cheap.

    ``config`` is the nested configuration as logged; ``metrics`` holds one
    :class:`MetricSummary` per logged key; ``summary`` merges them with explicit
    summary values (``run.summary[k] = v``), explicit values winning.
    """

    id: str
    project: str
    experiment: str | None
    name: str
    status: RunStatus
    created_at: float
    started_at: float | None = None
    ended_at: float | None = None
    heartbeat_at: float | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    notes: str = ""
    metrics: Mapping[str, MetricSummary] = field(default_factory=dict)
    explicit_summary: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: s.last for k, s in self.metrics.items()}
        out.update(self.explicit_summary)
        return out

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or to the last heartbeat of an unfinished run)."""
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None else self.heartbeat_at
        return None if end is None else max(0.0, end - self.started_at)
