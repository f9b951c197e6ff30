"""Checking and converting what users pass to ``run.log``.

This sits on the training loop's hot path: the common case (a dict of floats
under keys seen before) costs one type check and one set lookup per key.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage._keys import key_problem

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def metric_value(key: str, value: Any) -> float:
    """``value`` as a float, or TypeError naming ``key`` when it is not a number.

    Accepts Python numbers, bools (as 0/1), numpy scalars, 0-d arrays and
    one-element tensors (PyTorch, TensorFlow, JAX) through ``.item()``.
    """
    if isinstance(value, numbers.Real):  # int, float, bool, numpy scalars, Fraction
        try:
            return float(value)
        except OverflowError:
            raise InvalidArgumentError(
                f"metric {key!r}: {value!r} is too large for a 64-bit float", field=key
            ) from None
    item = getattr(value, "item", None)
    size = getattr(value, "size", None)
    size = size() if callable(size) else size  # torch: .size() is a method; numpy: attribute
    numel = getattr(value, "numel", None)
    count = numel() if callable(numel) else size
    if callable(item) and (count == 1 or count == () or getattr(value, "ndim", None) == 0):
        scalar = item()
        if isinstance(scalar, numbers.Real):
            return float(scalar)
    raise TypeError(
        f"metric {key!r} has a value of type {type(value).__name__} ({_short(value)}), which is "
        f"not a number; log ints, floats or numpy/torch scalars (put text in run.summary or notes)"
    )


def checked_metrics(data: Mapping[str, Any], known: set[str]) -> dict[str, float]:
    """A float-valued copy of ``data``; unknown keys are validated and added to ``known``.

    The copy matters: a caller that reuses one dict for every step must not
    change points already logged.
    """
    try:
        out = dict(data)
    except (TypeError, ValueError):
        raise TypeError(
            f"run.log takes a dict of metric name -> number, got {type(data).__name__}"
        ) from None
    for key, value in out.items():
        if type(value) is not float or key not in known:
            return _checked_slowly(out, known)
    return out


def _checked_slowly(data: dict[str, Any], known: set[str]) -> dict[str, float]:
    for key, value in data.items():
        if key not in known:
            problem = key_problem(key)
            if problem is not None:
                raise InvalidArgumentError(f"invalid metric key {key!r}: {problem}", field=str(key))
            known.add(key)
        if type(value) is not float:
            data[key] = metric_value(key, value)
    return data


def step_value(step: Any) -> int:
    """``step`` as an int64, or a TypeError/InvalidArgumentError saying why not."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        else:
            raise TypeError(f"step must be an int, got {type(step).__name__} {_short(step)}")
    as_int = int(step)
    if not _INT64_MIN <= as_int <= _INT64_MAX:
        raise InvalidArgumentError(f"step {as_int} does not fit in 64 bits", field="step")
    return as_int


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
