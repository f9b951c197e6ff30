"""Search results as columns (``Store.search_columns``), selected in one query.

Building a :class:`RunRecord` per run costs ~50 µs (its summaries are five
rows of a second query, each made into a ``MetricSummary``; its config is
parsed; the record itself). Analysis code that wants a few numbers per run
gets them here from the search query itself: each metric column is a
correlated subquery on the ``summaries`` primary key, so every run is one
row, and params come from the run's ``config_json`` (one parse per run, no
param rows). The columns and their dtypes are those of
``storage/_run_columns.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage import _run_columns
from ragtrack.storage.filter import Expr, OrderKey
from ragtrack.storage.sql._driver import fetch_all
from ragtrack.storage.sql._schema import effective_status, experiments, runs, summaries
from ragtrack.storage.sql._search_plan import search_query

#: PostgreSQL allows 1,664 columns in a result.
MAX_METRIC_COLUMNS = 1_000


def search_columns(
    conn: sa.Connection,
    project: str,
    expr: Expr | None,
    order: list[OrderKey],
    limit: int | None,
    offset: int,
    *,
    stale_before: float,
    params: Sequence[str],
    metrics: Sequence[str],
) -> dict[str, np.ndarray[Any, Any]]:
    if len(metrics) > MAX_METRIC_COLUMNS:
        raise InvalidArgumentError(
            f"{len(metrics)} metric columns asked for; ask for at most {MAX_METRIC_COLUMNS}",
            field="metrics",
        )
    columns: list[sa.ColumnElement[Any]] = [
        runs.c.id,
        runs.c.name,
        experiments.c.name,
        effective_status(stale_before),
        runs.c.created_at,
        runs.c.started_at,
        runs.c.ended_at,
        runs.c.config_json,
    ]
    columns += [
        sa.select(summaries.c.value)
        .where(summaries.c.run_id == runs.c.id, summaries.c.key == key)
        .correlate(runs)
        .scalar_subquery()
        for key in metrics
    ]
    query = search_query(columns, project, expr, order, stale_before=stale_before)
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    rows = fetch_all(conn, query)
    fields: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) or [() for _ in columns]
    out: dict[str, np.ndarray[Any, Any]] = {
        name: _run_columns.object_column(list(values))
        for name, values in zip(("id", "name", "experiment", "status"), fields, strict=False)
    }
    for name, values in zip(("created_at", "started_at", "ended_at"), fields[4:7], strict=True):
        out[name] = _run_columns.time_column(values)
    if params:
        param_rows = [_run_columns.param_values(json.loads(c), params) for c in fields[7]]
        for i, key in enumerate(params):
            out[f"params.{key}"] = _run_columns.param_column([row[i] for row in param_rows])
    for key, values in zip(metrics, fields[8:], strict=True):
        # NULL (no summary, NaN, or a value that is not a number) becomes NaN.
        out[f"metrics.{key}"] = np.array(values, dtype=np.float64)
    return out
