"""How a runs search is laid out in SQL: which table drives the query.

The plain plan walks the project's runs and tests every condition per run, then
sorts; for ``params.lr < 0.01 and metrics.recall@10 > 0.5`` ordered by
``-metrics.recall@10`` over 10,000 runs that is ~30,000 correlated lookups and
a sort, ~40 ms, however small the limit.

When the first order key is a metric's value and a top-level condition requires
that metric (every condition but ``is null`` is false for a run without it, see
docs/filter.md), the runs without it cannot match anyway. The query then joins
each run's summary row of that metric and lets the ``(key, value)`` index of
``summaries`` drive it in order: the database walks the index from the best
value, tests the other conditions run by run, and stops at the limit (~1 ms for
the example). SQLite's planner does not pick that order by itself (with or
without ANALYZE), so on SQLite the join is written ``CROSS JOIN``, which SQLite
documents as the way to fix the outer loop; PostgreSQL plans it from its
statistics.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Join

from ragtrack.storage.filter import And, Comparison, Expr, Field, InList, IsNull, OrderKey
from ragtrack.storage.sql._filter_compiler import filter_clause, order_clauses
from ragtrack.storage.sql._records import runs_from
from ragtrack.storage.sql._schema import experiments, projects, runs, summaries


class _DrivingJoin(Join):
    """An inner join whose left side is the outer loop (``CROSS JOIN`` on SQLite)."""

    inherit_cache = True


@compiles(_DrivingJoin, "sqlite")
def _compile_driving_join(element: _DrivingJoin, compiler: SQLCompiler, **kw: Any) -> str:
    # The left side is a plain table alias, so the first JOIN keyword is ours.
    sql: str = compiler.visit_join(element, **kw)  # type: ignore[no-untyped-call]
    return sql.replace(" JOIN ", " CROSS JOIN ", 1)


def driving_metric(expr: Expr | None, keys: list[OrderKey]) -> str | None:
    """The metric key whose index can drive the search, or None for the plain plan."""
    if not keys or not _is_metric_value(keys[0].field):
        return None
    key = keys[0].field.key
    conjuncts = expr.operands if isinstance(expr, And) else (expr,) if expr is not None else ()
    for leaf in conjuncts:
        # Every condition but "is null" is false for a run without the metric.
        requires = isinstance(leaf, (Comparison, InList)) or (
            isinstance(leaf, IsNull) and leaf.negated
        )
        if requires and _is_metric_value(leaf.field) and leaf.field.key == key:  # type: ignore[union-attr]
            return key
    return None


def _is_metric_value(field: Field) -> bool:
    return field.name == "metrics" and field.aggregate in (None, "value")


def _project_id(name: str) -> sa.ScalarSelect[int]:
    return sa.select(projects.c.id).where(projects.c.name == name).scalar_subquery()


def search_query(
    columns: list[sa.ColumnElement[Any]],
    project: str | None,
    expr: Expr | None,
    keys: list[OrderKey],
    *,
    stale_before: float,
) -> sa.Select[Any]:
    """SELECT ``columns`` of the runs matching ``expr``, ordered by ``keys`` (then
    newest first, then id, so pages are stable)."""
    metric = driving_metric(expr, keys)
    if metric is None:
        query = sa.select(*columns).select_from(runs_from())
        order = order_clauses(keys, stale_before=stale_before)
        driving = None
    else:
        row = summaries.alias("order_row")
        joined = _DrivingJoin(row, runs, sa.and_(row.c.run_id == runs.c.id, row.c.key == metric))
        query = sa.select(*columns).select_from(
            joined.join(projects, runs.c.project_id == projects.c.id).outerjoin(
                experiments, runs.c.experiment_id == experiments.c.id
            )
        )
        # No NULLS LAST: the required condition already excludes NULL values,
        # and a plain ORDER BY on the indexed column is what lets the index serve it.
        first = row.c.value.desc() if keys[0].descending else row.c.value.asc()
        order = [first, *order_clauses(keys[1:], stale_before=stale_before)]
        driving = (metric, row)
    if project is not None:
        # By id, from a subquery the database runs once: a condition on the
        # joined name hid the project from the planner, so PostgreSQL sorted
        # all 100,000 runs of a project for its newest 50 (~90 ms) instead of
        # walking ix_runs_project_created backwards (~1 ms).
        query = query.where(runs.c.project_id == _project_id(project))
    if expr is not None:
        query = query.where(filter_clause(expr, stale_before=stale_before, driving=driving))
    return query.order_by(*order, runs.c.created_at.desc(), runs.c.id)
