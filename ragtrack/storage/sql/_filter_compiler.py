"""Compilation of a parsed runs filter (``ragtrack.storage.filter``) to SQLAlchemy Core.

The clauses reference ``runs``, ``projects`` and ``experiments`` directly, so the
query they go into must select from ``runs JOIN projects LEFT JOIN experiments``.
Params, metrics and tags are matched with correlated ``EXISTS`` subqueries keyed
by ``run_id``, which the primary keys of those tables serve as index lookups.

Every value from the filter text becomes a bound parameter; nothing the user
wrote is ever pasted into SQL.

Two rules keep results predictable:

* Every leaf condition is two-valued (never SQL NULL), so ``not X`` is the exact
  complement of ``X``: a nullable column is tested ``IS NOT NULL`` first.
* A param whose value is JSON ``null`` (``kind = 'null'``) counts as missing,
  and negative conditions (``!=``, ``not in``) on params and metrics only
  match runs that have a value.

A param is compared by its kind (see ``_params.py``): a number with the
numeric column (booleans count as 1 and 0), ``true``/``false`` with booleans
only, and a string with the text of strings, numbers and JSON values, never
with a boolean's or null's text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ragtrack.storage._params import BOOL, NULL
from ragtrack.storage.filter import And as AndExpr
from ragtrack.storage.filter import (
    Comparison,
    Contains,
    Expr,
    Field,
    InList,
    IsNull,
    Not,
    OrderKey,
    Value,
)
from ragtrack.storage.filter import Or as OrExpr
from ragtrack.storage.sql._schema import (
    effective_status,
    experiments,
    params,
    projects,
    run_tags,
    runs,
    summaries,
)

Clause = sa.ColumnElement[bool]
Leaf = Comparison | InList | Contains | IsNull

#: Escape character of LIKE patterns built from ``contains`` substrings.
LIKE_ESCAPE = "\\"

#: Summary column of each metric aggregate (``count`` is stored as ``n_points``).
_AGGREGATE_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "value": summaries.c["value"],
    "last": summaries.c["last"],
    "min": summaries.c["min"],
    "max": summaries.c["max"],
    "count": summaries.c["n_points"],
}

_COMPARE: dict[str, Callable[[sa.ColumnElement[Any], Any], Clause]] = {
    "=": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
}


def filter_clause(
    expr: Expr, *, stale_before: float, driving: tuple[str, sa.FromClause] | None = None
) -> Clause:
    """A WHERE clause selecting the runs that match ``expr``.

    ``stale_before`` is the epoch time before which a running run's last
    heartbeat makes it count as crashed (see ``effective_status``).

    ``driving`` is ``(metric key, summaries alias)`` when the query joins each
    run's summary row of that key (see ``_search_plan.py``): conditions on that
    metric's value then test the joined row's column, which lets the database
    use the row's (key, value) index as a range, instead of a correlated
    EXISTS per run.

    Example:
        >>> from ragtrack.storage.filter import parse_filter
        >>> clause = filter_clause(parse_filter("params.lr < 0.01"), stale_before=0.0)
        >>> print(sa.select(runs.c.id).where(clause))  # doctest: +NORMALIZE_WHITESPACE
        SELECT runs.id FROM runs WHERE EXISTS (SELECT * FROM params
        WHERE params.run_id = runs.id AND params.key = :key_1
        AND params.kind != :kind_1 AND params.value_num < :value_num_1)
    """
    if isinstance(expr, AndExpr):
        return sa.and_(
            *(filter_clause(e, stale_before=stale_before, driving=driving) for e in expr.operands)
        )
    if isinstance(expr, OrExpr):
        return sa.or_(
            *(filter_clause(e, stale_before=stale_before, driving=driving) for e in expr.operands)
        )
    if isinstance(expr, Not):
        return sa.not_(filter_clause(expr.operand, stale_before=stale_before, driving=driving))
    name = expr.field.name
    if name == "params":
        return _param_clause(expr)
    if name == "metrics":
        if (
            driving is not None
            and expr.field.key == driving[0]
            and expr.field.aggregate in (None, "value")
            and not isinstance(expr, IsNull)
        ):
            # The joined row exists and its value is not NULL (the plan only
            # drives by a metric that a top-level condition requires), so the
            # condition on its column is exactly the EXISTS below.
            return _column_condition(driving[1].c.value, expr)
        return _metric_clause(expr)
    if name == "tags":
        return _tag_clause(expr)
    column, nullable = _column(expr.field, stale_before)
    clause = _column_condition(column, expr)
    if nullable and not isinstance(expr, IsNull):
        return sa.and_(column.is_not(None), clause)
    return clause


def order_clauses(keys: list[OrderKey], *, stale_before: float) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms for ``keys``; runs without a value sort last in both directions.

    A param sorts by its number first, then by its text, so numeric params sort
    numerically and text params alphabetically after them.

    Example:
        >>> from ragtrack.storage.filter import parse_order_by
        >>> [str(c) for c in order_clauses(parse_order_by("-name"), stale_before=0.0)]
        ['runs.name DESC']
    """
    out: list[sa.ColumnElement[Any]] = []
    for key in keys:
        for column, nullable in _order_columns(key.field, stale_before):
            term = column.desc() if key.descending else column.asc()
            out.append(term.nulls_last() if nullable else term)
    return out


# -- params -----------------------------------------------------------------------


def _exists(run_id: sa.ColumnElement[Any], *conditions: Clause) -> Clause:
    """``EXISTS`` over the rows of one run, correlated to the outer ``runs``."""
    return sa.exists().where(run_id == runs.c.id, *conditions).correlate(runs)


def _param_exists(key: str | None, *conditions: Clause) -> Clause:
    return _exists(params.c.run_id, params.c.key == key, params.c.kind != NULL, *conditions)


def _is_text() -> Clause:
    # The text of a boolean ("true") or null ("null") is not a string value.
    return params.c.kind.not_in((BOOL, NULL))


def _param_compare(op: str, value: Value) -> Clause:
    """The condition on one params row that ``<param> op value`` stands for."""
    if isinstance(value, bool):
        return sa.and_(params.c.kind == BOOL, _COMPARE[op](params.c.value_num, float(value)))
    if isinstance(value, float):
        return _COMPARE[op](params.c.value_num, value)
    return sa.and_(_is_text(), _COMPARE[op](params.c.value_text, value))


def _param_equals_any(values: tuple[Value, ...]) -> Clause:
    nums = [v for v in values if isinstance(v, float)]
    bools = [float(v) for v in values if isinstance(v, bool)]
    texts = [v for v in values if isinstance(v, str)]
    parts: list[Clause] = []
    if nums:
        parts.append(params.c.value_num.in_(nums))
    if bools:
        parts.append(sa.and_(params.c.kind == BOOL, params.c.value_num.in_(bools)))
    if texts:
        parts.append(sa.and_(_is_text(), params.c.value_text.in_(texts)))
    return sa.or_(*parts)


def _param_clause(leaf: Leaf) -> Clause:
    key = leaf.field.key
    if isinstance(leaf, IsNull):
        has = _param_exists(key)
        return has if leaf.negated else sa.not_(has)
    if isinstance(leaf, Contains):
        return _param_exists(key, _contains(params.c.value_text, leaf.substring))
    if isinstance(leaf, InList):
        matches = _param_equals_any(leaf.values)
        if not leaf.negated:
            return _param_exists(key, matches)
        # One row per (run, key), so "has the param, and it is none of these".
        return sa.and_(_param_exists(key), sa.not_(_param_exists(key, matches)))
    if leaf.op == "!=":
        equal = _param_compare("=", leaf.value)
        return sa.and_(_param_exists(key), sa.not_(_param_exists(key, equal)))
    return _param_exists(key, _param_compare(leaf.op, leaf.value))


# -- metrics and tags -------------------------------------------------------------


def _metric_clause(leaf: Leaf) -> Clause:
    column = _AGGREGATE_COLUMNS[leaf.field.aggregate or "value"]

    def exists(condition: Clause) -> Clause:
        return _exists(summaries.c.run_id, summaries.c.key == leaf.field.key, condition)

    # A NULL summary column (NaN, or a non-numeric explicit summary) matches no
    # comparison, so EXISTS alone gives "has a value, and it ..." semantics.
    if isinstance(leaf, IsNull):
        has = exists(column.is_not(None))
        return has if leaf.negated else sa.not_(has)
    return exists(_column_condition(column, leaf))


def _tag_clause(leaf: Leaf) -> Clause:
    def exists(*conditions: Clause) -> Clause:
        return _exists(run_tags.c.run_id, *conditions)

    if isinstance(leaf, IsNull):
        return exists() if leaf.negated else sa.not_(exists())
    if isinstance(leaf, Contains):
        return exists(_contains(run_tags.c.tag, leaf.substring))
    if isinstance(leaf, InList):
        has_any = exists(run_tags.c.tag.in_(leaf.values))
        return sa.not_(has_any) if leaf.negated else has_any
    has = exists(run_tags.c.tag == leaf.value)
    return sa.not_(has) if leaf.op == "!=" else has


# -- plain columns ----------------------------------------------------------------


def _column(field: Field, stale_before: float) -> tuple[sa.ColumnElement[Any], bool]:
    """The SQL expression of a simple field and whether it can be NULL."""
    name = field.name
    if name == "status":
        return effective_status(stale_before), False
    if name == "duration":
        end = sa.func.coalesce(runs.c.ended_at, runs.c.heartbeat_at)
        # A live run's start is the client's clock and its heartbeat the store's:
        # a client ahead would give a negative duration (clamped as RunRecord does).
        elapsed = end - runs.c.started_at
        return sa.case((elapsed < 0, 0.0), else_=elapsed), True
    columns: dict[str, tuple[sa.ColumnElement[Any], bool]] = {
        "name": (runs.c.name, False),
        "id": (runs.c.id, False),
        "experiment": (experiments.c.name, True),
        "project": (projects.c.name, False),
        "created": (runs.c.created_at, False),
        "started": (runs.c.started_at, True),
        "ended": (runs.c.ended_at, True),
    }
    return columns[name]


def _column_condition(column: sa.ColumnElement[Any], leaf: Leaf) -> Clause:
    if isinstance(leaf, IsNull):
        return column.is_not(None) if leaf.negated else column.is_(None)
    if isinstance(leaf, Contains):
        return _contains(column, leaf.substring)
    if isinstance(leaf, InList):
        values = list(leaf.values)
        return column.not_in(values) if leaf.negated else column.in_(values)
    return _COMPARE[leaf.op](column, leaf.value)


def _contains(column: sa.ColumnElement[Any], substring: str) -> Clause:
    """Case-insensitive substring match with LIKE wildcards in ``substring`` escaped.

    Case folding covers all of Unicode on both backends: the SQLite engine
    registers a Unicode-aware ``lower()`` (see ``_engine.py``).
    """
    escaped = (
        substring.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return column.ilike(f"%{escaped}%", escape=LIKE_ESCAPE)


# -- ordering ---------------------------------------------------------------------


def _order_columns(field: Field, stale_before: float) -> list[tuple[sa.ColumnElement[Any], bool]]:
    if field.name == "params":
        return [
            (_param_scalar(field, params.c.value_num), True),
            (_param_scalar(field, params.c.value_text), True),
        ]
    if field.name == "metrics":
        column = _AGGREGATE_COLUMNS[field.aggregate or "value"]
        value = (
            sa.select(column)
            .where(summaries.c.run_id == runs.c.id, summaries.c.key == field.key)
            .correlate(runs)
            .scalar_subquery()
        )
        return [(value, True)]
    return [_column(field, stale_before)]


def _param_scalar(field: Field, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return (
        sa.select(column)
        .where(
            params.c.run_id == runs.c.id,
            params.c.key == field.key,
            params.c.kind != NULL,
        )
        .correlate(runs)
        .scalar_subquery()
    )
