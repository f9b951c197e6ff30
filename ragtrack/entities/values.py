"""Reading the values runs hold: the leaves of a nested config, and which
values count as numbers (shared by the store's aggregates and the UI's analysis,
so a param or metric is read the same way everywhere)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any


def config_leaves(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(key, value)`` for each leaf of a nested config, keys joined with ``.``,
    laid out as the store's param index lays them out: lists and empty dicts are
    leaves, values are kept as they are.

    Example:
        >>> dict(config_leaves({"chunker": {"size": 512}, "tags": [], "extra": {}}))
        {'chunker.size': 512, 'tags': [], 'extra': {}}
    """
    for raw_key, value in config.items():
        key = f"{prefix}{raw_key}"
        if isinstance(value, Mapping) and value:
            yield from config_leaves(value, f"{key}.")
        else:
            yield key, value


def finite_number(value: Any) -> float | None:
    """``value`` as a float if it is a finite int or float (not a bool), else ``None``.

    Example:
        >>> finite_number(3), finite_number(float("nan")), finite_number(True)
        (3.0, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range
        return None
    return number if math.isfinite(number) else None
