"""Flattening of nested configs into indexed (key, text, number) param rows."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage._keys import key_problem

#: What JSON value a param row holds. The text alone cannot tell: the string
#: ``"null"`` and JSON ``null`` have the same text, and so do ``"true"`` and ``true``.
STR, NUM, BOOL, NULL, JSON = "str", "num", "bool", "null", "json"


class ParamRow(NamedTuple):
    key: str
    text: str
    number: float | None
    kind: str


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> Iterator[ParamRow]:
    """Yield one row per leaf of a nested config, keys joined with ``.``.

    Numbers (and bools, as 0/1) get a numeric value for range filters; every leaf
    gets a text value for equality filters and display, and its kind (``str``,
    ``num``, ``bool``, ``null`` or ``json``). Lists and empty dicts are leaves,
    stored as JSON text.

    Example:
        >>> for row in flatten_config({"lr": 0.1, "retriever": {"top_k": 5}, "mode": None}):
        ...     print(row)
        ParamRow(key='lr', text='0.1', number=0.1, kind='num')
        ParamRow(key='retriever.top_k', text='5', number=5.0, kind='num')
        ParamRow(key='mode', text='null', number=None, kind='null')
    """
    for raw_key, value in config.items():
        key = f"{prefix}{raw_key}"
        problem = key_problem(key) if isinstance(raw_key, str) else "it is not a str"
        if problem is not None:
            raise InvalidArgumentError(f"invalid param key {key!r}: {problem}", field=str(key))
        if isinstance(value, Mapping):
            if value:
                yield from flatten_config(value, prefix=f"{key}.")
            else:
                yield ParamRow(key, "{}", None, JSON)
            continue
        yield ParamRow(key, *_leaf(key, value))


def _leaf(key: str, value: Any) -> tuple[str, float | None, str]:
    if value is None:
        return "null", None, NULL
    if isinstance(value, bool):
        return ("true" if value else "false"), float(value), BOOL
    if isinstance(value, int):
        # Huge ints are kept exactly as text; the number is what float() gives.
        return str(value), float(value) if abs(value) < 2**1023 else None, NUM
    if isinstance(value, float):
        return repr(value), value if math.isfinite(value) else None, NUM
    if isinstance(value, str):
        return value, None, STR
    try:
        return json.dumps(value, sort_keys=True, allow_nan=True), None, JSON
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(
            f"param {key!r} has a value of type {type(value).__name__} that cannot be "
            f"stored as JSON; convert it to a str, number, bool, list or dict",
            field=key,
        ) from e


def to_plain(value: Any, key: str = "config") -> Any:
    """Convert numpy scalars/arrays and tuples to JSON-friendly Python values.

    Raises InvalidArgumentError naming the key for anything else that is not
    JSON-serialisable.
    """
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidArgumentError(
                    f"config key {k!r} under {key!r} is a {type(k).__name__}; keys must be str",
                    field=key,
                )
            out[k] = to_plain(v, f"{key}.{k}" if key != "config" else k)
        return out
    if isinstance(value, (list, tuple)):
        return [to_plain(v, key) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", 1) == 0:
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise InvalidArgumentError(
        f"config value {key!r} is a {type(value).__name__}, which cannot be stored; "
        f"use a str, number, bool, list or dict",
        field=key,
    )


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in recursively; ``update`` wins on conflicts."""
    out = dict(base)
    for k, v in update.items():
        old = out.get(k)
        if isinstance(old, Mapping) and isinstance(v, Mapping):
            out[k] = deep_merge(old, v)
        else:
            out[k] = v
    return out
