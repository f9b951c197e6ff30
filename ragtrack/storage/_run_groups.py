"""Keys and grouped metrics over many runs, computed from their records.

The rules every backend follows for :meth:`Store.list_run_keys` and
:meth:`Store.aggregate_runs` live here: argument checks, which values count
in a statistic, how group values are told apart and ordered. The base class
derives both operations from :meth:`Store.search_runs` with these functions;
the SQL store computes the same in SQL and uses them for the checks and the
order.

Example:
    >>> from ragtrack.entities import RunRecord, RunStatus
    >>> runs = [
    ...     RunRecord("a", "p", None, "a", RunStatus.COMPLETED, 0.0, config={"k": 5},
    ...               explicit_summary={"recall": 0.5}),
    ...     RunRecord("b", "p", None, "b", RunStatus.COMPLETED, 0.0, config={"k": 5},
    ...               explicit_summary={"recall": 0.7}),
    ... ]
    >>> [(g.value, g.run_count, g.metrics["recall"].mean) for g in groups_of(runs, "k", ["recall"])]
    [(5, 2, 0.6)]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ragtrack.entities import MetricAggregate, RunGroup, RunKeys, RunRecord
from ragtrack.entities.values import config_leaves, finite_number
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage._keys import key_problem
from ragtrack.storage._params import flatten_config

#: The most metrics one :meth:`Store.aggregate_runs` call aggregates.
MAX_GROUP_METRICS = 50

#: A group's identity: its kind and its value as the params table stores it
#: (so 512 and 512.0 are two groups, and so are True and 1).
GroupKey = tuple[str, str]


def checked_group_args(group_by: object, metrics: object) -> tuple[str, tuple[str, ...]]:
    """``group_by`` and the distinct ``metrics`` in the order given, or
    InvalidArgumentError naming the argument.

    Example:
        >>> checked_group_args("chunker.size", ["recall@10", "latency", "recall@10"])
        ('chunker.size', ('recall@10', 'latency'))
    """
    problem = key_problem(group_by)
    if problem is not None or not isinstance(group_by, str):
        raise InvalidArgumentError(
            f"group_by must be a param key such as 'chunker.size' (without 'params.'), "
            f"got {group_by!r}: {problem}",
            field="group_by",
        )
    if isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence):
        raise InvalidArgumentError(
            f"metrics must be a list of metric keys, got {metrics!r}; write [{metrics!r}]"
            if isinstance(metrics, str)
            else f"metrics must be a list of metric keys, got {type(metrics).__name__}",
            field="metrics",
        )
    keys = tuple(dict.fromkeys(metrics))
    for key in keys:
        problem = key_problem(key)
        if problem is not None:
            raise InvalidArgumentError(f"invalid metric key {key!r}: {problem}", field="metrics")
    if len(keys) > MAX_GROUP_METRICS:
        raise InvalidArgumentError(
            f"at most {MAX_GROUP_METRICS} metrics can be aggregated at once, got {len(keys)}",
            field="metrics",
        )
    return group_by, keys


def group_key(value: Any) -> GroupKey | None:
    """The identity of the group of a param value; ``None`` for a missing value.

    Example:
        >>> group_key(512), group_key(512.0), group_key(True), group_key("bge")
        (('int', '512'), ('float', '512.0'), ('bool', 'true'), ('str', 'bge'))
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, float):
        return "float", repr(value)
    if isinstance(value, str):
        return "str", value
    return "json", json.dumps(value, sort_keys=True, allow_nan=True)


def group_order(value: Any) -> tuple[Any, ...]:
    """Sort key of group values: numbers (booleans as 0 and 1) ascending, NaN,
    then strings, then lists and other JSON values, then ``None``.

    Example:
        >>> sorted([None, "bge", 1024, 512.5, True, [1]], key=group_order)
        [True, 512.5, 1024, 'bge', [1], None]
    """
    if value is None:
        return (4,)
    if isinstance(value, (bool, int, float)):
        if isinstance(value, float) and math.isnan(value):
            return (1,)
        rank = 0 if isinstance(value, bool) else 1 if isinstance(value, int) else 2
        return (0, value, rank)
    if isinstance(value, str):
        return (2, value)
    return (3, json.dumps(value, sort_keys=True, allow_nan=True))


def aggregate(values: Sequence[float]) -> MetricAggregate:
    """Count, mean, min and max of finite values.

    Example:
        >>> aggregate([1.0, 2.0, 6.0])
        MetricAggregate(count=3, mean=3.0, min=1.0, max=6.0)
        >>> aggregate([])
        MetricAggregate(count=0, mean=None, min=None, max=None)
    """
    if not values:
        return MetricAggregate(0)
    return MetricAggregate(len(values), sum(values) / len(values), min(values), max(values))


def keys_of(records: Iterable[RunRecord]) -> RunKeys:
    """The param and metric keys used by ``records``, sorted."""
    params: set[str] = set()
    metrics: set[str] = set()
    for record in records:
        params.update(row.key for row in flatten_config(record.config))
        metrics.update(record.summary)
    return RunKeys(params=tuple(sorted(params)), metrics=tuple(sorted(metrics)))


def groups_of(
    records: Iterable[RunRecord], group_by: str, metrics: Sequence[str]
) -> list[RunGroup]:
    """``records`` grouped by the value of param ``group_by``, with ``metrics``
    aggregated per group, in :func:`group_order`."""
    return grouped(
        (
            (param_value(record.config, group_by), [record.summary.get(m) for m in metrics])
            for record in records
        ),
        metrics,
    )


def param_value(config: Mapping[str, Any], key: str) -> Any:
    """The value of the flattened ``key`` in a nested config, ``None`` if missing.

    Example:
        >>> param_value({"chunker": {"size": 512}}, "chunker.size")
        512
    """
    return dict(config_leaves(config)).get(key)


def grouped(runs: Iterable[tuple[Any, Sequence[Any]]], metrics: Sequence[str]) -> list[RunGroup]:
    """Groups of runs given as (param value, summary value of each metric),
    in :func:`group_order`; values that are not finite numbers are left out.

    Example:
        >>> [(g.value, g.metrics["m"].max) for g in grouped([(1, [0.5]), (1, ["x"])], ["m"])]
        [(1, 0.5)]
    """
    values: dict[GroupKey | None, Any] = {}
    counts: dict[GroupKey | None, int] = {}
    numbers: dict[GroupKey | None, list[list[float]]] = {}
    for value, found in runs:
        key = group_key(value)
        if key not in values:
            values[key], counts[key], numbers[key] = value, 0, [[] for _ in metrics]
        counts[key] += 1
        for i, raw in enumerate(found):
            number = finite_number(raw)
            if number is not None:
                numbers[key][i].append(number)
    groups = [
        RunGroup(
            value=values[key],
            run_count=counts[key],
            metrics={m: aggregate(numbers[key][i]) for i, m in enumerate(metrics)},
        )
        for key in values
    ]
    return sorted(groups, key=lambda group: group_order(group.value))
