"""Grouped metrics over a project's runs, computed by the database.

``aggregate_runs`` is the runs search, with the filter compiled as for
``search_runs``, outer-joined to each run's row of the group param and of
every metric (by primary key), grouped by the param's value. Values that are
not finite numbers become ``NULL`` (see :func:`_finite`), so
``COUNT``/``AVG``/``MIN``/``MAX`` skip them.

The params table keeps a value as text plus a number (see ``_params.py``), which
tells bools, ints and floats apart but not a string from a few other types:
``'nan'`` may be a string or a float, ``'[1, 2]'`` a string or a list. The
groups whose text could be either (rare: lists, ``{}``, non-finite floats,
ints beyond float range) are recomputed from the runs' configs, so every
value comes back with its type and no two types share a group.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ragtrack.entities import MetricAggregate, RunGroup
from ragtrack.storage import _run_groups
from ragtrack.storage._params import NULL
from ragtrack.storage.filter import Expr
from ragtrack.storage.sql._schema import params, runs, summaries
from ragtrack.storage.sql._search_plan import search_query

_MAX = sys.float_info.max
_INT = re.compile(r"-?[0-9]+")
# Texts a non-string param value may have when its number column is NULL.
_NOT_ONLY_TEXT = frozenset({"nan", "inf", "-inf", "{}"})
# Ints from 2**1023 up are stored without a number; shorter digit strings are strings.
_HUGE_INT_DIGITS = 308


def run_groups(
    conn: sa.Connection,
    project: str,
    expr: Expr | None,
    group_by: str,
    metrics: Sequence[str],
    *,
    stale_before: float,
) -> list[RunGroup]:
    """The runs of ``project`` matching ``expr`` grouped by param ``group_by``,
    with ``metrics`` aggregated (``stale_before``: see ``effective_status``)."""
    search = _GroupedRuns(project, expr, group_by, metrics, stale_before)
    param, rows = search.param, search.rows
    columns: list[sa.ColumnElement[Any]] = [param.c.value_text, param.c.value_num]
    columns.append(sa.func.count())
    for row in rows:
        finite = _finite(row.c.value)
        columns += [
            sa.func.count(finite),
            sa.func.avg(finite),
            sa.func.min(finite),
            sa.func.max(finite),
        ]
    query = search.select(columns).group_by(param.c.value_text, param.c.value_num)
    found = conn.execute(query).all()
    groups: list[RunGroup] = []
    ambiguous: list[str] = []
    for text, number, run_count, *stats in found:
        value, known = (None, True) if text is None else _decode(text, number)
        if known:
            groups.append(RunGroup(value, run_count, _metric_stats(metrics, stats)))
        else:
            ambiguous.append(text)
    if ambiguous:
        groups += _groups_from_configs(conn, search, ambiguous)
    return sorted(groups, key=lambda group: _run_groups.group_order(group.value))


class _GroupedRuns:
    """The runs search of :func:`run_groups` with each run's row of the group param
    and of every metric outer-joined; a run has at most one of each (primary
    keys), so no run is counted twice.

    Joins, not correlated subqueries: SQLite evaluates a scalar subquery once
    per aggregate that reads it, and PostgreSQL with statistics hash-joins
    (3× faster than a lookup per run). The conditions are the primary key and
    nothing else: with a bound on the value as well, PostgreSQL without
    statistics (a freshly loaded database) scanned the metric's whole
    ``(key, value)`` index for every run, ~100× slower.
    """

    def __init__(
        self,
        project: str,
        expr: Expr | None,
        group_by: str,
        metrics: Sequence[str],
        stale_before: float,
    ) -> None:
        self.project, self.expr, self.stale_before = project, expr, stale_before
        self.group_by, self.metrics = group_by, metrics
        self.param = params.alias("group_param")
        self.rows = [summaries.alias(f"metric_{i}") for i in range(len(metrics))]

    def select(self, columns: list[sa.ColumnElement[Any]]) -> sa.Select[Any]:
        # Unordered: the groups are sorted afterwards.
        query = search_query(
            columns, self.project, self.expr, [], stale_before=self.stale_before
        ).order_by(None)
        param = self.param
        query = query.outerjoin(
            param,
            sa.and_(
                param.c.run_id == runs.c.id,
                param.c.key == self.group_by,
                # JSON null counts as missing, as in filters.
                param.c.kind != NULL,
            ),
        )
        for row, key in zip(self.rows, self.metrics, strict=True):
            query = query.outerjoin(row, sa.and_(row.c.run_id == runs.c.id, row.c.key == key))
        return query


def _finite(value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``value`` when finite, else NULL (NaN is stored as NULL already)."""
    return sa.case((value.between(-_MAX, _MAX), value))


def _decode(text: str, number: float | None) -> tuple[Any, bool]:
    """The param value a stored (text, number) pair stands for, and whether
    the pair alone says which type it has."""
    if number is not None:
        if text in ("true", "false"):
            return text == "true", True
        return (int(text) if _INT.fullmatch(text) else float(number)), True
    if (
        text in _NOT_ONLY_TEXT
        or text.startswith("[")
        or (_INT.fullmatch(text) is not None and len(text.lstrip("-")) >= _HUGE_INT_DIGITS)
    ):
        return None, False
    return text, True


def _metric_stats(metrics: Sequence[str], stats: Sequence[Any]) -> dict[str, MetricAggregate]:
    out = {}
    for i, key in enumerate(metrics):
        count, mean, lo, hi = stats[4 * i : 4 * i + 4]
        out[key] = (
            MetricAggregate(int(count), float(mean), float(lo), float(hi))
            if count
            else MetricAggregate(0)
        )
    return out


def _groups_from_configs(
    conn: sa.Connection, search: _GroupedRuns, texts: list[str]
) -> list[RunGroup]:
    """The groups of ``texts``, recomputed from each run's config (see module doc)."""
    param = search.param
    columns: list[sa.ColumnElement[Any]] = [runs.c.config_json]
    columns += [row.c.value for row in search.rows]
    query = search.select(columns).where(param.c.value_num.is_(None), param.c.value_text.in_(texts))
    return _run_groups.grouped(
        (
            (_run_groups.param_value(json.loads(config), search.group_by), found)
            for config, *found in conn.execute(query)
        ),
        search.metrics,
    )
