"""The runs table of a project: ``/projects/{project}/runs`` and its JSON twin.

A page shows one slice of the runs matching a filter, sorted and paged by the
store; columns, sort, filter, page and grouping are URL parameters, so a view
is shared by sharing its URL. The work per request is bounded whatever the
project's size: one ``list_experiments``, one ``list_run_keys``, one
``count_runs`` and one ``search_runs`` of at most ``per_page`` runs (plus one
``aggregate_runs`` when grouping), and nothing per run in the store.

A filter or sort the store rejects is not an error page: the page comes back
with the message under the filter box and no rows, so the user can fix the
text where they typed it (its JSON twin answers 400 with the error).

Example:
    ``/projects/rag-demo/runs?experiment=chunking&sort=-metrics.recall@10
    &columns=metrics.recall@10,params.chunker.size&group_by=chunker.size``
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ragtrack.analysis.metric_goals import goal_of
from ragtrack.entities import Experiment, MetricGoal, RunGroup, RunKeys, RunRecord
from ragtrack.entities.values import config_leaves
from ragtrack.exceptions import (
    ExperimentNotFoundError,
    InvalidArgumentError,
    InvalidFilterError,
    RagtrackError,
)
from ragtrack.server.ui._links import Links, links_for
from ragtrack.server.ui._pages import page, ui_router
from ragtrack.server.ui._templates import format_number
from ragtrack.server.ui.views._runs_cells import (
    Cell,
    align_precision,
    full_precision,
    row_cells,
    value_cell,
)
from ragtrack.server.ui.views._runs_query import (
    DEFAULT_METRIC_COLUMNS,
    DEFAULT_PARAM_COLUMNS,
    DEFAULT_SORT,
    PER_PAGE_CHOICES,
    Column,
    ColumnKind,
    TableQuery,
)
from ragtrack.storage import Store
from ragtrack.storage._input import checked_lookup
from ragtrack.storage._run_groups import MAX_GROUP_METRICS, group_key
from ragtrack.storage.filter import (
    Comparison,
    Expr,
    Field,
    FieldName,
    FilterWarning,
    IsNull,
    OrderKey,
    param_key,
    parse_filter,
    parse_order_by,
    replace_key,
    unknown_keys,
    unknown_param,
)
from ragtrack.storage.rest import _wire

router = ui_router()


@dataclass(frozen=True)
class Header:
    """A column header: its label, whether it is sorted, and the link that sorts by it."""

    label: str
    title: str
    kind: str  # "fixed", "params" or "metrics": styles the header
    numeric: bool
    aria_sort: str | None
    sort_url: str | None  # None: the column cannot be sorted by (tags)
    export: str  # the CSV header: 'metrics.recall@10', 'duration_s'


@dataclass(frozen=True)
class Row:
    run: RunRecord
    url: str
    duration: float | None
    cells: list[Cell]


@dataclass(frozen=True)
class GroupRow:
    """One group of the group-by table; ``url`` shows its runs (filter narrowed)."""

    group: RunGroup
    label: str
    url: str
    cells: list[Cell]


@dataclass(frozen=True)
class PageError:
    """Why the table is empty: a rejected filter, sort or group-by."""

    code: str
    message: str
    field: str
    position: int | None = None

    @classmethod
    def of(cls, error: RagtrackError, field: str) -> PageError:
        return cls(error.code, error.message, field, getattr(error, "position", None))

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "position": self.position,
        }


@dataclass(frozen=True)
class KeyWarning:
    """A filter key no run shown has; each suggestion with the URL of the view
    whose filter uses it instead (None when the key is not in the text as typed)."""

    warning: FilterWarning
    fixes: list[tuple[str, str | None]]


@dataclass(frozen=True)
class RunsTableContext:
    """Everything the runs table shows; ``to_json`` is the page's JSON twin."""

    project: str
    query: TableQuery
    experiments: list[str]
    columns: tuple[Column, ...]
    keys: RunKeys
    total: int
    runs: list[RunRecord]
    rows: list[Row]
    headers: list[Header]
    groups: list[GroupRow] | None
    group_param: str | None  # the param key grouped by, however the URL named it
    error: PageError | None
    warnings: list[KeyWarning]
    urls: dict[str, str | None]

    @property
    def http_status(self) -> int:
        return 400 if self.error else 200

    @property
    def sort(self) -> str:
        return self.query.sort or DEFAULT_SORT

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.query.per_page))

    @property
    def first_index(self) -> int:
        return (self.query.page - 1) * self.query.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1 if self.rows else 0

    @property
    def per_page_choices(self) -> list[int]:
        return sorted({*PER_PAGE_CHOICES, self.query.per_page})

    @property
    def metric_columns(self) -> list[Column]:
        return [c for c in self.columns if c.kind == "metrics"]

    def hidden(self, *exclude: str) -> list[tuple[str, str]]:
        """(name, value) of the view's parameters a form must carry, but ``exclude``."""
        return [
            (k, str(v))
            for k, v in self.query.params().items()
            if k not in exclude and v not in (None, "")
        ]

    @property
    def tags_shown(self) -> bool:
        return any(c.kind == "tags" for c in self.columns)

    def picker(self, kind: ColumnKind) -> list[tuple[str, bool]]:
        """(key, chosen) of every key of ``kind`` the column picker offers."""
        chosen = {c.key for c in self.columns if c.kind == kind}
        known = self.keys.params if kind == "params" else self.keys.metrics
        return [(k, k in chosen) for k in sorted(set(known) | chosen)]

    def to_json(self) -> dict[str, Any]:
        q = self.query
        return {
            "project": self.project,
            "experiment": q.experiment,
            "experiments": self.experiments,
            "filter": q.filter,
            "sort": self.sort,
            "columns": [c.id for c in self.columns],
            "page": q.page,
            "per_page": q.per_page,
            "total": self.total,
            "runs": [_wire.run_to_json(r) for r in self.runs],
            "keys": {"params": list(self.keys.params), "metrics": list(self.keys.metrics)},
            "group_by": self.group_param,
            "groups": None if self.groups is None else [_group_json(g) for g in self.groups],
            "error": self.error.to_json() if self.error else None,
            "warnings": [w.warning.to_json() for w in self.warnings],
            "links": self.urls,
        }


def _group_json(row: GroupRow) -> dict[str, Any]:
    return {**_wire.run_group_to_json(row.group), "url": row.url}


@page(router, "/projects/{project}/runs", "runs.html")
def runs_table(request: Request, store: Store) -> RunsTableContext:
    project: str = request.path_params["project"]
    query = TableQuery.from_request(request)
    links = links_for(request)
    experiments = store.list_experiments(project)  # ProjectNotFoundError: a 404 page
    experiment = _experiment(experiments, project, query.experiment)
    keys = store.list_run_keys(project, query.experiment)
    error: PageError | None = None
    where: str | None = None
    primary: OrderKey | None = None
    total, runs = 0, []
    warnings: list[KeyWarning] = []
    try:
        where = _scoped_filter(query.filter, query.experiment)
        warnings = _key_warnings(project, query, keys, links)
    except InvalidFilterError as e:
        error = PageError.of(e, "filter")
    try:
        primary = parse_order_by(query.sort or DEFAULT_SORT)[0]
    except InvalidFilterError as e:
        error = error or PageError.of(e, "sort")
    if error is None:
        try:
            total = store.count_runs(project, where)
            offset = (query.page - 1) * query.per_page
            if offset < total:
                runs = store.search_runs(
                    project, where, query.sort or DEFAULT_SORT, query.per_page, offset
                )
        except InvalidFilterError as e:
            error = PageError.of(e, "filter")
    flat = [dict(config_leaves(r.config)) for r in runs]
    columns = query.columns or default_columns(experiment, keys, runs, flat)
    # Sorting and paging pin the columns: defaults depend on the runs shown, so
    # a click must not make the column it sorted by disappear.
    pinned = query.params(columns=",".join(c.id for c in columns) or None)
    groups = None
    group_param = None
    if query.group_by and error is None:
        try:
            group_param = param_key(query.group_by, keys.params)
            groups = _groups(store, project, query, group_param, where, columns, links)
            warnings = [*warnings, *_group_warnings(project, query, group_param, keys, links)]
        except InvalidArgumentError as e:
            error = PageError.of(e, "group_by")
    goals = {m.name: m.goal for m in experiment.metrics} if experiment else {}
    return RunsTableContext(
        project=project,
        query=query,
        experiments=[e.name for e in experiments],
        columns=columns,
        keys=keys,
        total=total,
        runs=runs,
        rows=[
            Row(run, links.run(run.id), run.duration, cells)
            for run, cells in zip(
                runs,
                align_precision(
                    [row_cells(r, p, columns) for r, p in zip(runs, flat, strict=True)]
                ),
                strict=True,
            )
        ],
        headers=_headers(
            primary,
            columns,
            goals,
            lambda sort: links.runs(project, **{**pinned, "sort": sort, "page": None}),
        ),
        groups=groups,
        group_param=group_param,
        error=error,
        warnings=warnings,
        urls=_page_urls(project, query, total, runs, links, pinned),
    )


def _experiment(
    experiments: Sequence[Experiment], project: str, name: str | None
) -> Experiment | None:
    if name is None:
        return None
    checked_lookup(name, "experiment")  # a control character names nothing: 400, not 404
    for experiment in experiments:
        if experiment.name == name:
            return experiment
    raise ExperimentNotFoundError(
        f"no experiment named {name!r} in project {project!r}; pick one on the project page "
        f"or remove experiment= from the URL",
        field="experiment",
    )


def _scoped_filter(user_filter: str, experiment: str | None) -> str | None:
    """The user's filter narrowed to ``experiment``; parsed first so that an
    error's position points into the text the user typed."""
    parse_filter(user_filter)
    if experiment is None:
        return user_filter or None
    return _and(user_filter, Comparison(Field("experiment"), "=", experiment))


def _key_warnings(project: str, query: TableQuery, keys: RunKeys, links: Links) -> list[KeyWarning]:
    scope = _scope(query)
    out = []
    for warning in unknown_keys(parse_filter(query.filter), keys, scope):
        fixes: list[tuple[str, str | None]] = []
        for suggestion in warning.suggestions:
            fixed = replace_key(query.filter, warning.key, suggestion)
            url = (
                None
                if fixed == query.filter
                else links.runs(project, **query.params(filter=fixed, page=None))
            )
            fixes.append((suggestion, url))
        out.append(KeyWarning(warning, fixes))
    return out


def _scope(query: TableQuery) -> str:
    return f" of experiment {query.experiment!r}" if query.experiment else ""


def _group_warnings(
    project: str, query: TableQuery, group_param: str, keys: RunKeys, links: Links
) -> list[KeyWarning]:
    """The warning when no run has the param grouped by (every run would sit
    in one "(no value)" group), each suggestion a link grouping by it."""
    scope = _scope(query)
    warning = unknown_param(group_param, keys.params, scope)
    if warning is None:
        return []
    fixes: list[tuple[str, str | None]] = [
        (s, links.runs(project, **query.params(group_by=s, page=None))) for s in warning.suggestions
    ]
    return [KeyWarning(warning, fixes)]


def _and(user_filter: str, condition: Expr) -> str:
    return f"({user_filter}) and {condition}" if user_filter else str(condition)


def _metric_rank(key: str, on_page: set[str]) -> tuple[bool, bool, bool, str]:
    # Evaluation results ('recall@10') before curves ('train/loss'), system metrics last.
    return (key not in on_page, key.startswith("system/"), "/" in key, key)


def default_columns(
    experiment: Experiment | None,
    keys: RunKeys,
    runs: Sequence[RunRecord],
    flat_params: Sequence[Mapping[str, Any]],
) -> tuple[Column, ...]:
    """The experiment's defined metrics, then up to 6 more metric keys (those
    of the shown runs first, ``system/`` keys last) and up to 6 param keys:
    those whose logged values differ between the shown runs first, then those
    that only some runs have (all params when every one is the same everywhere).

    Example:
        >>> keys = RunKeys(params=("lr", "model"), metrics=("recall@10", "train/loss"))
        >>> [c.id for c in default_columns(None, keys, [], [])]
        ['metrics.recall@10', 'metrics.train/loss', 'params.lr', 'params.model']
    """
    defined = [m.name for m in experiment.metrics] if experiment else []
    on_page = {k for r in runs for k in r.metrics} | {k for r in runs for k in r.explicit_summary}
    more = sorted(set(keys.metrics) - set(defined), key=lambda k: _metric_rank(k, on_page))
    metrics = defined + more[:DEFAULT_METRIC_COLUMNS]

    def rank(key: str) -> int:
        present = [p[key] for p in flat_params if key in p]
        if len({group_key(v) for v in present}) > 1:
            return 0  # what a sweep varies
        # A param only some runs have (a reranker added in a later experiment)
        # says less than one a sweep varies: missing is not a value.
        return 1 if len(present) < len(flat_params) else 2

    # Params that are the same in every shown run say nothing about the runs.
    ranks = {k: rank(k) for k in keys.params}
    params = sorted((k for k in keys.params if ranks[k] < 2), key=ranks.__getitem__)
    params = (params or list(keys.params))[:DEFAULT_PARAM_COLUMNS]
    return tuple(Column("metrics", k) for k in metrics) + tuple(Column("params", k) for k in params)


_FIXED: tuple[tuple[FieldName, str, bool, str], ...] = (
    ("name", "Name", False, "name"),
    ("status", "Status", False, "status"),
    ("created", "Created", False, "created"),
    ("duration", "Duration", True, "duration_s"),
)


def _headers(
    primary: OrderKey | None,
    columns: Sequence[Column],
    goals: Mapping[str, MetricGoal],
    sort_url: Callable[[str], str],
) -> list[Header]:
    """Headers with ``aria-sort`` on the sorted one; a header's link sorts by it,
    the other way round if it is sorted already. A first click sorts metrics
    best first (descending unless the experiment, or else the key's name as in
    ``train/loss``, says smaller is better), times newest and longest first,
    text ascending."""

    def header(
        field: Field, label: str, title: str, kind: str, numeric: bool, export: str
    ) -> Header:
        aria = None
        if primary is not None and primary.field == field:
            aria = "descending" if primary.descending else "ascending"
            descending = not primary.descending
        elif field.name == "metrics":
            key = field.key or ""
            descending = goal_of(key, goals)[0] != MetricGoal.MIN
        else:
            descending = field.name in ("created", "duration")
        sort = str(OrderKey(field, descending))
        return Header(label, title, kind, numeric, aria, sort_url(sort), export)

    headers = [
        header(Field(n), label, f"Sort by {n}", "fixed", num, export)
        for n, label, num, export in _FIXED
    ]
    for c in columns:
        if c.kind == "tags":
            headers.append(Header("Tags", "tags", "fixed", False, None, None, c.id))
        else:
            headers.append(header(Field(c.kind, c.key), c.key, c.id, c.kind, True, c.id))
    return headers


def _groups(
    store: Store,
    project: str,
    query: TableQuery,
    group_by: str,
    where: str | None,
    columns: Sequence[Column],
    links: Links,
) -> list[GroupRow]:
    metrics = [c.key for c in columns if c.kind == "metrics"][:MAX_GROUP_METRICS]
    rows = []
    for group in store.aggregate_runs(project, group_by, metrics, where):
        condition = _param_condition(group_by, group.value)
        url = links.runs(
            project, **query.params(filter=_and(query.filter, condition), group_by=None, page=None)
        )
        label = "(no value)" if group.value is None else value_cell(group.value).text
        cells = []
        for key in metrics:
            a = group.metrics.get(key)
            if a is None or a.count == 0 or a.mean is None:
                cells.append(Cell(""))
                continue
            text = format_number(a.mean)
            if a.count > 1:
                text += f" ({format_number(a.min)}–{format_number(a.max)})"
            cells.append(Cell(text, full_precision(a.mean), True))
        rows.append(GroupRow(group, label, url, cells))
    return rows


def _param_condition(key: str, value: Any) -> Expr:
    """The filter condition selecting the runs of a group: ``params.k = 512``."""
    field = Field("params", key)
    if value is None:
        return IsNull(field)
    if isinstance(value, (bool, str)):
        return Comparison(field, "=", value)
    if isinstance(value, float) and math.isfinite(value):
        return Comparison(field, "=", value)
    if isinstance(value, int) and abs(value) < 2**53:
        return Comparison(field, "=", float(value))
    # Huge ints, NaN and JSON values: the param's text as logged matches exactly.
    if isinstance(value, (int, float)):
        return Comparison(field, "=", repr(value) if isinstance(value, float) else str(value))
    return Comparison(field, "=", json.dumps(value, sort_keys=True, allow_nan=True))


def _page_urls(
    project: str,
    query: TableQuery,
    total: int,
    runs: Sequence[RunRecord],
    links: Links,
    pinned: dict[str, Any],
) -> dict[str, str | None]:
    page, last = query.page, max(1, -(-total // query.per_page))

    def at(n: int) -> str:
        return links.runs(project, **{**pinned, "page": n})

    ids = [r.id for r in runs]
    return {
        "self": links.runs(project, **query.params()),
        "first": at(1) if page > 1 else None,
        "prev": at(min(page - 1, last)) if page > 1 else None,
        "next": at(page + 1) if page < last else None,
        "last": at(last) if page < last else None,
        "default_columns": links.runs(project, **query.params(columns=None, page=None)),
        "clear_filter": links.runs(project, **query.params(filter=None, page=None)),
        "compare": links.compare(ids) if 2 <= len(ids) <= 50 else None,
        "compare_base": links.compare([]),
        "importance": links.importance(project, experiment=query.experiment),
        "form": links.runs(project),
    }
