"""Reading numeric settings from environment variables, with errors that name
the variable and the value."""

from __future__ import annotations

import math
import os

from ragtrack.exceptions import InvalidArgumentError


def seconds_from_env(name: str, default: float, *, allow_zero: bool = False) -> float:
    """``$name`` as a number of seconds, ``default`` when unset or empty.

    Example:
        >>> seconds_from_env("RAGTRACK_EXAMPLE_UNSET", 5.0)
        5.0
    """
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "a number of seconds (0 or more)" if allow_zero else "a positive number of seconds"
        raise InvalidArgumentError(f"{name} must be {kind}, got {raw!r}", field=name)
    return value
