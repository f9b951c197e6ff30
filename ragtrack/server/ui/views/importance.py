"""The hyperparameter importance page: which params explain a metric across a
project's (or one experiment's) runs, by Optuna's fANOVA.

The population is the project's runs, or one experiment's, the most recent
:data:`MAX_RUNS` of them. The compare page shows the same result by fetching
this page's JSON twin, so one computation serves both.

How the metric is chosen when the URL names none (:func:`default_metric`): the
experiment definition's first metric when it has a value in the runs; else the
first candidate after sorting by

1. ``system/`` keys last (CPU and memory are not what a sweep optimises);
2. single-value keys before curves (a metric logged once is an evaluation
   result; one logged many times, like ``train/loss``, is a training signal);
3. retrieval-quality names first (``recall@``, ``ndcg@``, ``mrr``, ``map``,
   ``precision@``, ``hit``, in that order);
4. the key, alphabetically.

So the demo's chunking sweep defaults to ``recall@10``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ragtrack.analysis.comparison import json_safe, objective_candidates
from ragtrack.analysis.importance import ParamImportance, param_importance
from ragtrack.entities import Experiment, MetricGoal, RunRecord
from ragtrack.server.ui._links import Links, links_for
from ragtrack.server.ui._pages import page, ui_router
from ragtrack.storage import Store
from ragtrack.storage.filter import Comparison, Field, OrderKey

router = ui_router()

#: The most recent runs importance is computed over; fANOVA on more takes seconds.
MAX_RUNS = 5000

_QUALITY_PREFIXES = ("recall@", "ndcg@", "mrr", "map", "precision@", "hit")


def experiment_filter(experiment: str) -> str:
    """The filter text selecting one experiment's runs, the name quoted safely.

    Example:
        >>> print(experiment_filter('say "hi"'))
        experiment = "say \\"hi\\""
    """
    return str(Comparison(Field("experiment"), "=", experiment))


def metric_sort(metric: str, goal: MetricGoal | None = None) -> str:
    """The runs table's ``sort`` putting the best value of ``metric`` first
    (highest unless the goal is ``min``).

    Example:
        >>> metric_sort("recall@10"), metric_sort("my loss", MetricGoal.MIN)
        ('-metrics.recall@10', 'metrics.`my loss`')
    """
    return str(OrderKey(Field("metrics", metric), descending=goal is not MetricGoal.MIN))


def default_metric(
    runs: Sequence[RunRecord], candidates: Sequence[str], experiment: Experiment | None
) -> str | None:
    """The metric to show when the URL names none (rules in the module docstring).

    Example:
        >>> from ragtrack.entities import MetricSummary, RunRecord, RunStatus
        >>> curve = MetricSummary("train/loss", 300, 0.2, 299, 0.0, 0.2, 2.0)
        >>> run = RunRecord(id="a", project="p", experiment=None, name="a",
        ...                 status=RunStatus.COMPLETED, created_at=0.0,
        ...                 metrics={"train/loss": curve},
        ...                 explicit_summary={"faithfulness": 0.8, "recall@10": 0.7})
        >>> default_metric([run], ["faithfulness", "recall@10", "train/loss"], None)
        'recall@10'
    """
    if experiment is not None:
        for defined in experiment.metrics:
            if defined.name in candidates:
                return defined.name
    curves = {key for run in runs for key, s in run.metrics.items() if s.count > 1}

    def rank(key: str) -> tuple[bool, bool, int, str]:
        quality = next(
            (i for i, p in enumerate(_QUALITY_PREFIXES) if key.lower().startswith(p)),
            len(_QUALITY_PREFIXES),
        )
        return (key.startswith("system/"), key in curves, quality, key)

    return min(candidates, key=rank, default=None)


@dataclass(frozen=True)
class ImportanceContext:
    """The importance of every varying param for one metric over a run population."""

    project: str
    experiment: Experiment | None
    experiments: list[str]
    metric: str | None
    metrics: list[str]
    goal: MetricGoal | None
    n_loaded: int
    capped: bool
    result: ParamImportance | None
    links: Links

    @property
    def population(self) -> str:
        """What the importance was computed over, in words."""
        where = (
            f"experiment {self.experiment.name}"
            if self.experiment is not None
            else f"project {self.project} (every experiment)"
        )
        runs = f"{self.n_loaded} run{'' if self.n_loaded == 1 else 's'}"
        if self.capped:
            return f"the most recent {runs} of {where} (older runs are left out)"
        return f"the {runs} of {where}"

    @property
    def message(self) -> str | None:
        if self.metric is None:
            return "No metric has a numeric value in two or more of these runs."
        return self.result.message if self.result is not None else None

    def runs_url(self, **query: Any) -> str:
        """The runs table of the same population."""
        name = self.experiment.name if self.experiment is not None else None
        return self.links.runs(self.project, experiment=name, **query)

    @property
    def runs_sorted_url(self) -> str | None:
        """The runs table of the population, best ``metric`` first."""
        return self.runs_url(sort=metric_sort(self.metric, self.goal)) if self.metric else None

    def to_json(self) -> dict[str, Any]:
        experiment = self.experiment.name if self.experiment is not None else None
        out: dict[str, Any] = json_safe(
            {
                "project": self.project,
                "experiment": experiment,
                "experiments": self.experiments,
                "metric": self.metric,
                "metrics": self.metrics,
                "goal": self.goal.value if self.goal is not None else None,
                "population": {
                    "description": self.population,
                    "runs_loaded": self.n_loaded,
                    "capped": self.capped,
                    "max_runs": MAX_RUNS,
                },
                "result": self.result.to_json() if self.result is not None else None,
                "message": self.message,
                "links": {
                    "page": self.links.importance(
                        self.project, experiment=experiment, metric=self.metric
                    ),
                    "runs_sorted": self.runs_sorted_url,
                    "group_by": {
                        key: self.runs_url(group_by=key)
                        for key, _ in (self.result.importances if self.result else [])
                    },
                },
            }
        )
        return out


@page(router, "/projects/{project}/importance", "importance.html")
def importance_page(request: Request, store: Store) -> ImportanceContext:
    project = store.get_project(request.path_params["project"]).name
    name = request.query_params.get("experiment") or None
    experiment = store.get_experiment(project, name) if name else None
    runs = store.search_runs(
        project,
        filter=experiment_filter(name) if name else None,
        order_by="-created",
        limit=MAX_RUNS + 1,
    )
    capped = len(runs) > MAX_RUNS
    runs = runs[:MAX_RUNS]
    candidates = objective_candidates(runs, min_runs=2)
    metric = request.query_params.get("metric") or default_metric(runs, candidates, experiment)
    if metric is not None and metric not in candidates:
        # Keep the select truthful about what the page shows (the result says why it is empty).
        candidates = [metric, *candidates]
    goals = {m.name: m.goal for m in experiment.metrics} if experiment is not None else {}
    return ImportanceContext(
        project=project,
        experiment=experiment,
        experiments=[e.name for e in store.list_experiments(project)],
        metric=metric,
        metrics=candidates,
        goal=goals.get(metric) if metric else None,
        n_loaded=len(runs),
        capped=capped,
        result=param_importance(runs, metric) if metric else None,
        links=links_for(request),
    )
