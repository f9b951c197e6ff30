"""The compare page: 2 to 50 runs side by side, and its series endpoint.

``/compare?runs=a,b,...`` shows the runs' params (the differing ones, identical
ones folded), summary metrics, overlaid curves (each chart loads its data from
``/compare/series.json`` when scrolled into view), parallel coordinates and a
param-vs-metric scatter for one objective metric, and the importance of each
param for that metric over the runs' experiment (the importance page's JSON twin,
fetched by the page).

Run ``i`` has colour, dash and marker :func:`run_style` ``(i)`` in every table and chart.

Defaults: the objective is chosen as on the importance page
(:func:`~ragtrack.server.ui.views.importance.default_metric`: the first metric
of the first run's experiment definition, else an evaluation-like metric) among
the metrics with a number in at least two runs; the scatter's param is the first
differing param by key.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ragtrack.analysis.charts import series_chart
from ragtrack.analysis.comparison import (
    ParamTable,
    json_safe,
    objective_candidates,
    parallel_coordinates,
    param_table,
    scatter,
)
from ragtrack.analysis.metric_goals import goal_of
from ragtrack.entities import Experiment, MetricGoal, RunRecord
from ragtrack.entities.values import finite_number
from ragtrack.exceptions import (
    AmbiguousIdError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    RunNotFoundError,
)
from ragtrack.server.api._common import wire
from ragtrack.server.ui._links import Links, links_for
from ragtrack.server.ui._pages import page, query_float, query_int, store_of, ui_router
from ragtrack.server.ui.views.importance import default_metric
from ragtrack.storage import Store
from ragtrack.storage.filter import Field, InList
from ragtrack.storage.rest import _wire

router = ui_router()

MIN_RUNS, MAX_RUNS = 2, 50
#: With more runs than this, curves get a full row each and a legend at the side.
WIDE_AFTER = 6
#: Plotly's default (D3 category10) colours: ten an eye tells apart.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
#: Line dashes (Plotly names) and marker symbols, one per round of the palette:
#: 10 colours x 5 = 50 runs, the most compare takes, each drawn its own way.
#: (More hues instead would put 50 of them ~7 degrees apart: indistinguishable.)
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x")


@dataclass(frozen=True)
class RunStyle:
    """How the ``index``-th compared run is drawn, the same in every chart.

    Example:
        >>> [(s.colour, s.dash) for s in (run_style(0), run_style(10))]
        [('#1f77b4', 'solid'), ('#1f77b4', 'dash')]
    """

    colour: str
    dash: str
    symbol: str


def run_style(index: int) -> RunStyle:
    """See :class:`RunStyle`; past 50 runs the styles repeat."""
    round_ = index // len(PALETTE) % len(DASHES)
    return RunStyle(PALETTE[index % len(PALETTE)], DASHES[round_], SYMBOLS[round_])


def compared_runs(request: Request, store: Store) -> list[RunRecord]:
    """The runs named by the ``runs`` query parameter: 2 to 50 distinct ids or prefixes."""
    names = [
        part.strip()
        for raw in request.query_params.getlist("runs")
        for part in raw.split(",")
        if part.strip()
    ]
    if not MIN_RUNS <= len(names) <= MAX_RUNS:
        raise InvalidArgumentError(
            f"runs must list {MIN_RUNS} to {MAX_RUNS} run ids (or unique id prefixes), "
            f"comma-separated; got {len(names)}",
            field="runs",
        )
    ids = [_resolve(store, name) for name in names]
    counts = Counter(ids)
    repeated = [name for name, id_ in zip(names, ids, strict=True) if counts[id_] > 1]
    if repeated:
        raise InvalidArgumentError(
            f"runs names the same run more than once ({', '.join(repeated)}); list each run once",
            field="runs",
        )
    return [store.get_run(id_) for id_ in ids]


def _resolve(store: Store, name: str) -> str:
    # The store's messages name 'run_id'; here the user typed the 'runs' parameter.
    try:
        return store.resolve_run_id(name)
    except RunNotFoundError as e:
        raise RunNotFoundError(f"runs: {e.message}", field="runs") from e
    except AmbiguousIdError as e:
        raise AmbiguousIdError(f"runs: {e.message}", field="runs") from e
    except InvalidArgumentError as e:
        raise InvalidArgumentError(f"runs: {e.message}", field="runs") from e


def default_max_points(n_runs: int) -> int:
    """Points per series of an overlaid chart: about 2,000 in all, 200 at least."""
    return max(200, 2000 // max(n_runs, 1))


@router.get("/compare/series.json")
def compare_series(request: Request) -> Response:
    """One metric's (downsampled, optionally smoothed) series for every compared run."""
    store = store_of(request)
    runs = compared_runs(request, store)
    key = request.query_params.get("key", "")
    if not key:
        raise InvalidArgumentError("key is required: the metric key to chart", field="key")
    max_points = query_int(request, "max_points", default_max_points(len(runs)), 10, 10_000)
    smoothing = query_float(request, "smoothing", 0.0, 0.0, 0.99)
    out = []
    for i, run in enumerate(runs):
        history = store.get_history(run.id, key)
        chart = series_chart(key, history, max_points=max_points, smoothing=smoothing)
        style = run_style(i)
        out.append(
            {
                "id": run.id,
                "name": run.name,
                "colour": style.colour,
                "dash": style.dash,
                "symbol": style.symbol,
                "chart": chart.to_json() if len(history) else None,
            }
        )
    return wire({"key": key, "max_points": max_points, "smoothing": smoothing, "runs": out})


@dataclass(frozen=True)
class SummaryRow:
    """One summary metric across the runs; ``marked`` holds the best columns: by
    the experiment's goal, else by the goal the key's name suggests
    (``inferred``), else none."""

    key: str
    values: list[Any]
    goal: MetricGoal | None
    marked: list[int]
    inferred: bool = False

    @property
    def mark(self) -> str:
        if self.goal is None:
            return ""
        if not self.inferred:
            return "best"
        return "lowest" if self.goal is MetricGoal.MIN else "highest"


@dataclass(frozen=True)
class CompareContext:
    """Everything the compare page shows; ``to_json`` is its JSON twin."""

    runs: list[RunRecord]
    objective: str | None
    objectives: list[str]
    params: ParamTable
    scatter_param: str | None
    summary: list[SummaryRow]
    chart_keys: dict[str, list[str]]
    chart_options: dict[str, Any]
    parcoords: dict[str, Any] | None
    scatter: dict[str, Any] | None
    importance: dict[str, str]
    links: Links

    wide_after: int = WIDE_AFTER

    @functools.cached_property
    def styles(self) -> list[RunStyle]:
        # Cached: the template reads colours once per run of each table.
        return [run_style(i) for i in range(len(self.runs))]

    @functools.cached_property
    def colours(self) -> list[str]:
        return [s.colour for s in self.styles]

    @property
    def ids(self) -> list[str]:
        return [run.id for run in self.runs]

    @property
    def scatter_params(self) -> list[str]:
        rows = self.params.differing or self.params.identical
        return [row.key for row in rows]

    @property
    def table_url(self) -> str | None:
        """The runs table showing just these runs (when they share a project)."""
        project = self.runs[0].project
        if any(run.project != project for run in self.runs):
            return None
        return self.links.runs(project, filter=str(InList(Field("id"), tuple(self.ids))))

    def objective_value(self, run: RunRecord) -> Any:
        return run.summary.get(self.objective) if self.objective else None

    def to_json(self) -> dict[str, Any]:
        runs = [
            {
                **_wire.run_to_json(run),
                "duration": run.duration,
                "colour": style.colour,
                "dash": style.dash,
                "symbol": style.symbol,
                "objective_value": self.objective_value(run),
                "url": self.links.run(run.id),
            }
            for run, style in zip(self.runs, self.styles, strict=True)
        ]
        out: dict[str, Any] = json_safe(
            {
                "runs": runs,
                "objective": self.objective,
                "objectives": self.objectives,
                "params": self.params.to_json(),
                "summary": [
                    {
                        "key": row.key,
                        "values": row.values,
                        "goal": row.goal.value if row.goal else None,
                        "goal_inferred": row.inferred,
                        "marked": row.marked,
                        "mark": row.mark,
                    }
                    for row in self.summary
                ],
                "charts": {
                    **self.chart_keys,
                    **self.chart_options,
                    "series_url": self.links.compare_series(self.ids),
                    "wide_after": self.wide_after,
                },
                "parallel_coordinates": self.parcoords,
                "scatter_param": self.scatter_param,
                "scatter_params": self.scatter_params,
                "scatter": self.scatter,
                "importance": self.importance,
                "links": {"runs_table": self.table_url},
            }
        )
        return out


@page(router, "/compare", "compare.html")
def compare_page(request: Request, store: Store) -> CompareContext:
    runs = compared_runs(request, store)
    links = links_for(request)
    experiments = _experiments(store, runs)
    first = experiments.get((runs[0].project, runs[0].experiment or ""))
    # Any metric with a number in two runs can be the objective (runs without it
    # are left out of the plots, which say so), not only those every run has: a
    # failed run in the selection would otherwise rule out every evaluation metric.
    objectives = objective_candidates(runs, min_runs=2)
    objective = request.query_params.get("metric") or default_metric(runs, objectives, first)
    if objective is not None and objective not in objectives:
        objectives = [objective, *objectives]
    table = param_table(runs)
    keys = [row.key for row in table.differing]
    scatter_param = request.query_params.get("param") or (keys[0] if keys else None)
    x_axis = request.query_params.get("x", "step")
    if x_axis not in ("step", "time"):
        raise InvalidArgumentError(f"x must be 'step' or 'time', got {x_axis!r}", field="x")
    return CompareContext(
        runs=runs,
        objective=objective,
        objectives=objectives,
        params=table,
        scatter_param=scatter_param,
        summary=_summary_rows(runs, _goals(experiments.values())),
        chart_keys=_chart_keys(runs),
        chart_options={
            "smoothing": query_float(request, "smoothing", 0.0, 0.0, 0.99),
            "x": x_axis,
            "log": request.query_params.get("log") == "1",
            "max_points": default_max_points(len(runs)),
        },
        parcoords=parallel_coordinates(runs, keys, objective) if objective and keys else None,
        scatter=scatter(runs, scatter_param, objective) if objective and scatter_param else None,
        importance=_importance_source(runs, objective, links),
        links=links,
    )


def _experiments(store: Store, runs: Sequence[RunRecord]) -> dict[tuple[str, str], Experiment]:
    out = {}
    for run in runs:
        key = (run.project, run.experiment or "")
        if run.experiment is not None and key not in out:
            try:
                out[key] = store.get_experiment(run.project, run.experiment)
            except ExperimentNotFoundError:  # deleted while we read: no definition then
                continue
    return out


def _goals(experiments: Iterable[Experiment]) -> dict[str, MetricGoal]:
    # Experiments that disagree on a metric's goal give it none: no "best" to claim.
    goals: dict[str, MetricGoal | None] = {}
    for experiment in experiments:
        for metric in experiment.metrics:
            seen = goals.setdefault(metric.name, metric.goal)
            if seen is not metric.goal:
                goals[metric.name] = None
    return {key: goal for key, goal in goals.items() if goal is not None}


def _summary_rows(runs: Sequence[RunRecord], goals: dict[str, MetricGoal]) -> list[SummaryRow]:
    keys = sorted({k for run in runs for k in run.summary}, key=lambda k: (_is_system(k), k))
    rows = []
    for key in keys:
        values = [run.summary.get(key) for run in runs]
        numbers = [(i, n) for i, v in enumerate(values) if (n := finite_number(v)) is not None]
        goal, inferred = goal_of(key, goals)
        marked: list[int] = []
        # Nothing to point out without a direction, when fewer than two runs have a
        # number, or when all tie.
        if goal is not None and len({n for _, n in numbers}) >= 2:
            pick = min if goal is MetricGoal.MIN else max
            extreme = pick(n for _, n in numbers)
            marked = [i for i, n in numbers if n == extreme]
        rows.append(SummaryRow(key, values, goal, marked, inferred and goal is not None))
    return rows


def _is_system(key: str) -> bool:
    return key.startswith("system/")


def _chart_keys(runs: Sequence[RunRecord]) -> dict[str, list[str]]:
    """Logged keys by chart section: curves, metrics logged once per run, system."""
    counts: dict[str, int] = {}
    for run in runs:
        for key, summary in run.metrics.items():
            counts[key] = max(counts.get(key, 0), summary.count)
    keys = sorted(counts)
    return {
        "curves": [k for k in keys if not _is_system(k) and counts[k] > 1],
        "single_value": [k for k in keys if not _is_system(k) and counts[k] <= 1],
        "system": [k for k in keys if _is_system(k)],
    }


def _importance_source(
    runs: Sequence[RunRecord], objective: str | None, links: Links
) -> dict[str, str]:
    """Where the importance panel gets its data, and what population that is.

    Importance needs many runs, so it is computed over the experiment of the
    compared runs (all of it), not over the handful being compared.
    """
    # The experiment most of the compared runs belong to (ties: the earliest listed).
    counts = Counter((run.project, run.experiment) for run in runs)
    project, experiment = max(counts, key=lambda k: counts[k])
    if experiment is None:
        note = (
            f"Computed over all runs of project {project}: "
            f"most compared runs belong to no experiment."
        )
    elif len(counts) > 1:
        note = (
            f"Computed over experiment {experiment}, which {counts[(project, experiment)]} of "
            f"the {len(runs)} compared runs belong to."
        )
    else:
        note = f"Computed over every run of experiment {experiment}, not just these."
    page_url = links.importance(project, experiment=experiment, metric=objective)
    return {"url": links.json(page_url), "page": page_url, "note": note}
