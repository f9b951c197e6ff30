"""What a project page says about each experiment: its best run per goal metric,
when it was last active, and how many of its runs are running or failed.

Bounded work: a fixed number of store queries per experiment (two counts, two
one-run searches, one one-run search per goal metric), whatever the number of
runs; the store's indexes answer each. Nothing here reads the runs one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragtrack.entities import Experiment, MetricGoal, RunRecord, RunStatus
from ragtrack.storage import Store
from ragtrack.storage.filter import And, Comparison, Expr, Field, InList, IsNull, OrderKey

#: Statuses counted as failed: the run ended in an error or its process died.
FAILED = (RunStatus.FAILED.value, RunStatus.CRASHED.value)


@dataclass(frozen=True)
class BestRun:
    """The best run of an experiment by one of its goal metrics."""

    metric: str
    goal: MetricGoal
    run: RunRecord

    @property
    def value(self) -> Any:
        return self.run.summary.get(self.metric)

    def to_json(self, run_url: str) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "goal": self.goal.value,
            "value": self.value,
            "run_id": self.run.id,
            "run_name": self.run.name,
            "url": run_url,
        }


@dataclass(frozen=True)
class ExperimentSummary:
    """The at-a-glance state of one experiment."""

    experiment: Experiment
    best: list[BestRun]
    last_activity: float | None
    running: int
    failed: int

    def to_json(self, run_url: Any) -> dict[str, Any]:
        return {
            "best": [b.to_json(run_url(b.run.id)) for b in self.best],
            "last_activity": self.last_activity,
            "running": self.running,
            "failed": self.failed,
        }


def _in(name: str) -> Expr:
    return Comparison(Field("experiment"), "=", name)


def _first(store: Store, project: str, where: Expr, order: OrderKey) -> RunRecord | None:
    runs = store.search_runs(project, str(where), str(order), limit=1)
    return runs[0] if runs else None


def summarise(store: Store, project: str, experiment: Experiment) -> ExperimentSummary:
    """The summary of ``experiment``; see the module docstring for its cost.

    The best run by a metric is the one whose summary value is highest (goal
    ``max``) or lowest (``min``) among the runs with a value, whatever their
    status. The last activity is the latest creation or end of any of its
    runs, or the latest heartbeat of one still running.
    """
    name = experiment.name
    best = []
    for metric in experiment.metrics:
        field = Field("metrics", metric.name)
        where = And((_in(name), IsNull(field, negated=True)))
        order = OrderKey(field, descending=metric.goal is MetricGoal.MAX)
        run = _first(store, project, where, order)
        if run is not None:
            best.append(BestRun(metric.name, metric.goal, run))
    is_running = And((_in(name), Comparison(Field("status"), "=", RunStatus.RUNNING.value)))
    running = store.count_runs(project, str(is_running))
    failed = store.count_runs(project, str(And((_in(name), InList(Field("status"), FAILED)))))
    newest = OrderKey(Field("created"), descending=True)
    created = _first(store, project, _in(name), newest)
    ended = _first(
        store,
        project,
        And((_in(name), IsNull(Field("ended"), negated=True))),
        OrderKey(Field("ended"), descending=True),
    )
    live = _first(store, project, is_running, newest) if running else None
    times = [
        t
        for t in (
            created.created_at if created else None,
            ended.ended_at if ended else None,
            live.heartbeat_at if live else None,
        )
        if t is not None
    ]
    return ExperimentSummary(experiment, best, max(times, default=None), running, failed)
