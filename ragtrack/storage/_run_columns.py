"""Search results as columns: one numpy array per field, for analysis code.

The rules every backend follows for :meth:`Store.search_columns` live here:
which columns there are, their names and their dtypes. The base class builds
them from :meth:`Store.search_runs` records with :func:`columns_of`; the SQL
store selects the same values without building a record per run.

Columns, each as long as the number of runs, in search order:

* ``id``, ``name``, ``experiment`` (``None`` outside any), ``status``: object
  arrays of str;
* ``created_at``, ``started_at``, ``ended_at``: float64 epoch seconds, NaN when
  unset;
* ``params.<key>`` per flattened param key: float64 when every run's value is
  a number (NaN where a run has none or JSON ``null``), else an object array of
  the values as logged (``None`` where missing);
* ``metrics.<key>`` per metric key: float64, the summary value of
  :attr:`RunRecord.summary` when it is a number (booleans excepted), else NaN.

Example:
    >>> cols = columns_of([], params=["lr"], metrics=["recall@10"])
    >>> sorted(cols)[:3], cols["params.lr"].dtype.name
    (['created_at', 'ended_at', 'experiment'], 'float64')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ragtrack.entities import RunRecord
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage._keys import key_problem

#: The columns every result has, before its params and metrics.
RUN_COLUMNS = ("id", "name", "experiment", "status", "created_at", "started_at", "ended_at")


def checked_keys(keys: Sequence[str], name: str) -> list[str]:
    """``keys`` without repeats, or InvalidArgumentError naming the argument."""
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
        raise InvalidArgumentError(
            f"{name} must be a list of keys, got {keys!r}; write [{keys!r}]", field=name
        )
    for key in keys:
        problem = key_problem(key)
        if problem is not None:
            raise InvalidArgumentError(f"invalid key {key!r} in {name}: {problem}", field=name)
    return list(dict.fromkeys(keys))


def param_values(config: Mapping[str, Any], keys: Sequence[str]) -> list[Any]:
    """The value of each flattened ``key`` in a nested config (``None`` if absent)."""
    out = []
    for key in keys:
        value: Any = config.get(key, _MISSING)
        if value is _MISSING:
            # "a.b" is config["a"]["b"], or a key holding a dot, or a mix.
            value = _nested(config, key) if "." in key else None
        elif type(value) is dict and value:  # not a leaf (JSON objects load as dicts)
            value = None
        out.append(value)
    return out


_MISSING: Any = object()


def _nested(config: Mapping[str, Any], key: str) -> Any:
    head, dot, rest = key.partition(".")
    while dot:
        inner = config.get(head)
        if type(inner) is dict:
            found = param_values(inner, [rest])[0]
            if found is not None:
                return found
        more, dot, rest = rest.partition(".")
        head = f"{head}.{more}"
    return None


#: Types that go into a float64 column (not bool: True is not 1.0 to a reader).
_NUMBER_TYPES = frozenset({float, int, type(None)})


def param_column(values: list[Any]) -> np.ndarray[Any, Any]:
    """float64 when every present value is a number, else the values as objects."""
    if {type(v) for v in values} <= _NUMBER_TYPES:
        try:
            return np.array(values, dtype=np.float64)  # None becomes NaN
        except OverflowError:  # an int beyond float range
            pass
    return object_column(values)


def object_column(values: list[Any]) -> np.ndarray[Any, Any]:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def time_column(values: Iterable[float | None]) -> np.ndarray[Any, Any]:
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def metric_number(value: Any) -> float:
    """A summary value as it goes into a ``metrics.`` column."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an int beyond float range
        return math.inf if value > 0 else -math.inf


def columns_of(
    records: Sequence[RunRecord], *, params: Sequence[str], metrics: Sequence[str]
) -> dict[str, np.ndarray[Any, Any]]:
    """The columns of ``records`` with the given param and metric keys."""
    columns: dict[str, np.ndarray[Any, Any]] = {
        "id": object_column([r.id for r in records]),
        "name": object_column([r.name for r in records]),
        "experiment": object_column([r.experiment for r in records]),
        "status": object_column([r.status.value for r in records]),
        "created_at": time_column(r.created_at for r in records),
        "started_at": time_column(r.started_at for r in records),
        "ended_at": time_column(r.ended_at for r in records),
    }
    rows = [param_values(r.config, params) for r in records]
    for i, key in enumerate(params):
        columns[f"params.{key}"] = param_column([row[i] for row in rows])
    summaries = [r.summary for r in records]
    for key in metrics:
        columns[f"metrics.{key}"] = np.array(
            [metric_number(s.get(key)) for s in summaries], dtype=np.float64
        )
    return columns
