"""Comparing runs by their params: the differing-params table, parallel coordinates
and param-vs-metric scatter data of the compare page.

Params are the runs' configs flattened with ``.`` exactly as the store indexes them
(so a key here is what ``params.<key>`` means in a filter). One rule decides how a
param is plotted, here and in :mod:`ragtrack.analysis.importance`: it is *numeric*
when every run considered has a finite int or float (not bool) for it, otherwise
*categorical* over the values' display text, a run without the param counting as
the category :data:`ABSENT`.

Example:
    >>> from ragtrack.entities import RunRecord, RunStatus
    >>> runs = [RunRecord(id=f"r{i}", project="p", experiment=None, name=f"run-{i}",
    ...                   status=RunStatus.COMPLETED, created_at=0.0,
    ...                   config={"lr": lr, "data": "fiqa"})
    ...         for i, lr in enumerate([0.1, 0.01])]
    >>> table = param_table(runs)
    >>> [row.key for row in table.differing], [row.key for row in table.identical]
    (['lr'], ['data'])
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragtrack.entities import RunRecord
from ragtrack.entities.values import config_leaves, finite_number

#: The category of a run that lacks a categorical param.
ABSENT = "(absent)"

_MISSING = object()


@dataclass(frozen=True)
class ParamRow:
    """One flattened param across the compared runs.

    ``values`` holds the logged value per run (``None`` when the run lacks it);
    ``texts`` the display text per run (``None`` when absent), which tells a
    logged ``null`` (text ``"null"``) from a missing param.
    """

    key: str
    values: list[Any]
    texts: list[str | None]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "values": json_safe(self.values), "texts": self.texts}


@dataclass(frozen=True)
class ParamTable:
    """Params of the compared runs, split into those that differ and the rest.

    Rows are sorted by key; each row has one value per run, in ``run_ids`` order.
    """

    run_ids: list[str]
    run_names: list[str]
    differing: list[ParamRow]
    identical: list[ParamRow]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_ids": self.run_ids,
            "run_names": self.run_names,
            "differing": [row.to_json() for row in self.differing],
            "identical": [row.to_json() for row in self.identical],
        }


@dataclass(frozen=True)
class ParamColumn:
    """One param over a list of runs, ready to plot or to model.

    ``values`` holds numbers (int or float) when ``numeric``, otherwise display
    texts with :data:`ABSENT` for runs without the param; ``categories`` is the
    sorted distinct texts of a categorical column (numbers in numeric order,
    then other texts, :data:`ABSENT` last), empty for a numeric one.
    """

    key: str
    numeric: bool
    values: list[Any]
    categories: list[str]

    @property
    def constant(self) -> bool:
        """Whether every run has the same value (nothing to compare or explain)."""
        if self.numeric:
            return min(self.values, default=0) == max(self.values, default=0)
        return len(self.categories) <= 1


def param_text(value: Any) -> str:
    """The display text of a param value: the text the store indexes it by.

    Kept identical to ``ragtrack.storage._params.flatten_config`` so that a text
    shown here is what ``params.<key> = "<text>"`` matches (a test checks it).

    Example:
        >>> param_text(True), param_text(None), param_text(0.5), param_text([1, 2])
        ('true', 'null', '0.5', '[1, 2]')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return str(value)


def param_table(runs: Sequence[RunRecord]) -> ParamTable:
    """Every flattened param of ``runs``, split into differing and identical rows.

    A param differs when its display text differs between two runs or some runs
    lack it (missing counts as a value); ``NaN`` equals ``NaN`` here.

    Example:
        >>> from ragtrack.entities import RunRecord, RunStatus
        >>> a = RunRecord(id="a", project="p", experiment=None, name="a",
        ...               status=RunStatus.COMPLETED, created_at=0.0, config={"k": 5})
        >>> b = RunRecord(id="b", project="p", experiment=None, name="b",
        ...               status=RunStatus.COMPLETED, created_at=0.0, config={})
        >>> param_table([a, b]).differing[0].values
        [5, None]
    """
    flat = [dict(config_leaves(run.config)) for run in runs]
    differing: list[ParamRow] = []
    identical: list[ParamRow] = []
    for key in sorted({key for params in flat for key in params}):
        raw = [params.get(key, _MISSING) for params in flat]
        texts = [None if v is _MISSING else param_text(v) for v in raw]
        row = ParamRow(key, [None if v is _MISSING else v for v in raw], texts)
        (differing if len(set(texts)) > 1 else identical).append(row)
    return ParamTable(
        run_ids=[run.id for run in runs],
        run_names=[run.name for run in runs],
        differing=differing,
        identical=identical,
    )


def param_column(runs: Sequence[RunRecord], key: str) -> ParamColumn:
    """Param ``key`` over ``runs``: numeric, or categorical with :data:`ABSENT`.

    Example:
        >>> from ragtrack.entities import RunRecord, RunStatus
        >>> runs = [RunRecord(id=str(i), project="p", experiment=None, name=str(i),
        ...                   status=RunStatus.COMPLETED, created_at=0.0, config=config)
        ...         for i, config in enumerate([{"k": 3}, {"k": 10}, {}])]
        >>> param_column(runs[:2], "k").numeric, param_column(runs, "k").categories
        (True, ['3', '10', '(absent)'])
    """
    return param_columns(runs, [key])[0]


def param_columns(
    runs: Sequence[RunRecord], keys: Sequence[str] | None = None
) -> list[ParamColumn]:
    """:func:`param_column` of each of ``keys`` (default: every param, in the order
    they first appear in the runs' configs), flattening each config once.

    Example:
        >>> from ragtrack.entities import RunRecord, RunStatus
        >>> run = RunRecord(id="a", project="p", experiment=None, name="a",
        ...                 status=RunStatus.COMPLETED, created_at=0.0,
        ...                 config={"lr": 0.1, "retriever": {"top_k": 5}})
        >>> [column.key for column in param_columns([run])]
        ['lr', 'retriever.top_k']
    """
    flat = [dict(config_leaves(run.config)) for run in runs]
    if keys is None:
        keys = list(dict.fromkeys(key for params in flat for key in params))
    return [_column(key, [params.get(key, _MISSING) for params in flat]) for key in keys]


def parallel_coordinates(
    runs: Sequence[RunRecord], params: Sequence[str], metric: str
) -> dict[str, Any]:
    """Data for a Plotly ``parcoords`` trace: one axis per param, then ``metric``.

    Only runs with a finite numeric ``metric`` summary are drawn (their ids are in
    ``run_ids``; the others in ``skipped_run_ids``). A numeric axis gets a
    ``range`` (when not constant); a categorical one plots category codes
    ``0..n-1`` with ``tickvals``/``ticktext`` naming them. ``line.color`` is the
    metric, so the trace is ``{"type": "parcoords", "dimensions": ...,
    "line": ...}`` as returned.

    Example:
        >>> from ragtrack.entities import RunRecord, RunStatus
        >>> runs = [RunRecord(id=str(i), project="p", experiment=None, name=str(i),
        ...                   status=RunStatus.COMPLETED, created_at=0.0,
        ...                   config={"model": m}, explicit_summary={"acc": acc})
        ...         for i, (m, acc) in enumerate([("a", 0.5), ("b", 0.7)])]
        >>> dims = parallel_coordinates(runs, ["model"], "acc")["dimensions"]
        >>> dims[0]["ticktext"], dims[1]["values"]
        (['a', 'b'], [0.5, 0.7])
    """
    kept, skipped = split_by_metric(runs, metric)
    ys = [metric_value(run, metric) for run in kept]
    dimensions = [_dimension(column) for column in param_columns(kept, params)]
    dimensions.append(_numeric_dimension(metric, ys))
    return {
        "metric": metric,
        "run_ids": [run.id for run in kept],
        "run_names": [run.name for run in kept],
        "skipped_run_ids": [run.id for run in skipped],
        "dimensions": dimensions,
        "line": {
            "color": ys,
            "colorscale": "Viridis",
            "showscale": True,
            "colorbar": {"title": {"text": metric}},
        },
    }


def scatter(runs: Sequence[RunRecord], param: str, metric: str) -> dict[str, Any]:
    """Points (param value, metric) of every run with a finite numeric ``metric``.

    ``categorical`` says whether ``x`` holds display texts (put ``categories``,
    ordered, into the axis' ``categoryarray``) or numbers.

    Example:
        >>> from ragtrack.entities import RunRecord, RunStatus
        >>> runs = [RunRecord(id=str(i), project="p", experiment=None, name=str(i),
        ...                   status=RunStatus.COMPLETED, created_at=0.0,
        ...                   config={"k": k}, explicit_summary={"acc": acc})
        ...         for i, (k, acc) in enumerate([(3, 0.5), (10, 0.7)])]
        >>> s = scatter(runs, "k", "acc")
        >>> s["x"], s["y"], s["categorical"]
        ([3, 10], [0.5, 0.7], False)
    """
    kept, skipped = split_by_metric(runs, metric)
    column = param_column(kept, param)
    return {
        "param": param,
        "metric": metric,
        "x": column.values,
        "y": [metric_value(run, metric) for run in kept],
        "ids": [run.id for run in kept],
        "names": [run.name for run in kept],
        "categorical": not column.numeric,
        "categories": column.categories,
        "skipped_run_ids": [run.id for run in skipped],
    }


def objective_candidates(runs: Sequence[RunRecord], min_runs: int | None = None) -> list[str]:
    """Summary keys with a finite number in at least ``min_runs`` runs (default:
    every run), sorted: the metrics that can colour a parallel-coordinates plot
    or be explained by param importance.

    Example:
        >>> from ragtrack.entities import RunRecord, RunStatus
        >>> runs = [RunRecord(id=str(i), project="p", experiment=None, name=str(i),
        ...                   status=RunStatus.COMPLETED, created_at=0.0, explicit_summary=s)
        ...         for i, s in enumerate([{"acc": 0.5, "f1": 0.1}, {"acc": 0.7}])]
        >>> objective_candidates(runs), objective_candidates(runs, min_runs=1)
        (['acc'], ['acc', 'f1'])
    """
    needed = len(runs) if min_runs is None else min_runs
    seen: dict[str, int] = {}
    for run in runs:
        for key, value in run.summary.items():
            if finite_number(value) is not None:
                seen[key] = seen.get(key, 0) + 1
    return sorted(key for key, count in seen.items() if count >= needed)


def metric_value(run: RunRecord, metric: str) -> float | None:
    """The run's summary value of ``metric`` when it is a finite number."""
    return finite_number(run.summary.get(metric))


def split_by_metric(
    runs: Sequence[RunRecord], metric: str
) -> tuple[list[RunRecord], list[RunRecord]]:
    """``(runs with a finite numeric metric, the others)``, order kept."""
    kept: list[RunRecord] = []
    skipped: list[RunRecord] = []
    for run in runs:
        (kept if metric_value(run, metric) is not None else skipped).append(run)
    return kept, skipped


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _column(key: str, raw: list[Any]) -> ParamColumn:
    if raw and all(finite_number(v) is not None for v in raw):
        return ParamColumn(key, True, raw, [])
    texts = [ABSENT if v is _MISSING else param_text(v) for v in raw]
    return ParamColumn(key, False, texts, sorted(set(texts), key=_category_order))


def _category_order(text: str) -> tuple[int, float, str]:
    # Numbers in numeric order ("256" before "1024"), then texts, the absent last.
    if text == ABSENT:
        return (2, 0.0, text)
    try:
        number = float(text)
    except ValueError:
        return (1, 0.0, text)
    return (0, number, text) if math.isfinite(number) else (1, 0.0, text)


def _dimension(column: ParamColumn) -> dict[str, Any]:
    if column.numeric:
        return _numeric_dimension(column.key, column.values)
    codes = {text: i for i, text in enumerate(column.categories)}
    return {
        "label": column.key,
        "values": [codes[text] for text in column.values],
        # A single category still needs a span for Plotly to place its tick.
        "range": [0, max(len(codes) - 1, 1)],
        "tickvals": list(range(len(codes))),
        "ticktext": column.categories,
    }


def _numeric_dimension(label: str, values: Sequence[Any]) -> dict[str, Any]:
    dimension: dict[str, Any] = {"label": label, "values": list(values)}
    if values and min(values) < max(values):
        dimension["range"] = [min(values), max(values)]
    return dimension
