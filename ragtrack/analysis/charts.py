"""One metric chart's data: the series smoothed, downsampled and made JSON-safe.

The run page and the compare page draw what :func:`series_chart` returns; the
browser never sees more than ``max_points`` points however long the series.

Smoothing is TensorBoard's debiased exponential moving average, computed over the
*full* series in step order before downsampling, so a smoothed curve does not
change shape with the zoom level or ``max_points``. Non-finite values (NaN, ±inf)
neither update the average nor get a smoothed value (``None``), as in TensorBoard.
Downsampling is LTTB over (step, raw value) (:mod:`ragtrack.analysis.downsample`);
the smoothed curve is sampled at the same kept points.

Example:
    >>> from ragtrack.entities import MetricSeries
    >>> series = MetricSeries.from_lists([0, 1, 2], [1.0, float("nan"), 3.0], [0.0, 1.0, 2.0])
    >>> chart = series_chart("loss", series, smoothing=0.5)
    >>> chart.values, chart.smoothed
    ([1.0, None, 3.0], [1.0, None, 2.3333333333333335])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragtrack.analysis.downsample import lttb_indices
from ragtrack.entities import MetricSeries
from ragtrack.entities.metric import Float64Array
from ragtrack.exceptions import InvalidArgumentError

MIN_POINTS = 2
MAX_POINTS = 100_000

# The smoothing is a blocked scan: inside a block of at most this many points the
# EMA is a cumulative sum of values scaled by w**-i (vectorised); the blocks are
# then chained by a log-depth scan over their end values.
_MAX_BLOCK = 1024
# Keep every intermediate (w**-i, the sums of x * w**-i) far from float overflow.
_FLOAT_ROOM = 1e300


@dataclass(frozen=True)
class SeriesChart:
    """The points of one metric series to draw.

    ``steps``, ``values``, ``times`` (epoch seconds) and ``smoothed`` are equally
    long and hold the kept points in step order; non-finite values are ``None``.
    ``smoothed`` is ``None`` when no smoothing was asked for. ``n_points`` is the
    length of the stored series, ``n_finite`` how many of its values are finite
    (0: nothing to draw, which the page says instead of drawing empty axes);
    ``downsampled`` says whether points were dropped.
    """

    key: str
    n_points: int
    n_finite: int
    steps: list[int]
    values: list[float | None]
    times: list[float | None]
    smoothed: list[float | None] | None
    downsampled: bool
    smoothing: float = 0.0
    max_points: int = 2000

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "n_points": self.n_points,
            "n_finite": self.n_finite,
            "steps": self.steps,
            "values": self.values,
            "times": self.times,
            "smoothed": self.smoothed,
            "downsampled": self.downsampled,
            "smoothing": self.smoothing,
            "max_points": self.max_points,
        }


def series_chart(
    key: str, series: MetricSeries, *, max_points: int = 2000, smoothing: float = 0.0
) -> SeriesChart:
    """Chart data of ``series``: at most ``max_points`` points, optionally smoothed.

    Args:
        key: the metric key (carried into the result for the page).
        series: the full stored series; points out of step order are sorted
            (stably) by step.
        max_points: 2 to 100,000 points to keep.
        smoothing: the EMA weight, ``0 <= smoothing < 1`` (0: no smoothing).

    Raises:
        InvalidArgumentError: ``max_points`` or ``smoothing`` is out of range
            (``field`` names which).

    Example:
        >>> from ragtrack.entities import MetricSeries
        >>> n = 10_000
        >>> series = MetricSeries.from_lists(list(range(n)), [1 / (i + 1) for i in range(n)],
        ...                                  [float(i) for i in range(n)])
        >>> chart = series_chart("train/loss", series, max_points=100, smoothing=0.9)
        >>> len(chart.steps), chart.steps[-1], chart.downsampled, chart.smoothed[0]
        (100, 9999, True, 1.0)
    """
    _check_max_points(max_points)
    _check_smoothing(smoothing)
    steps, values, times = series.steps, series.values, series.timestamps
    if len(steps) > 1 and bool((np.diff(steps) < 0).any()):
        order = np.argsort(steps, kind="stable")
        steps, values, times = steps[order], values[order], times[order]
    smoothed = debiased_ema(values, smoothing) if smoothing > 0 else None
    keep = lttb_indices(steps, values, max_points)
    return SeriesChart(
        key=key,
        n_points=len(steps),
        n_finite=int(np.isfinite(values).sum()),
        steps=steps[keep].tolist(),
        values=_finite_list(values[keep]),
        times=_finite_list(times[keep]),
        smoothed=None if smoothed is None else _finite_list(smoothed[keep]),
        downsampled=len(keep) < len(steps),
        smoothing=float(smoothing),
        max_points=max_points,
    )


def debiased_ema(values: Float64Array, weight: float) -> Float64Array:
    """TensorBoard's smoothing of ``values`` with EMA ``weight`` in ``[0, 1)``.

    ``ema = weight * ema + (1 - weight) * value`` over the finite values, each
    divided by ``1 - weight ** n`` (``n``: finite values so far) so the start is
    not pulled towards 0. Non-finite values leave the average alone and get NaN.
    A series whose finite values are all equal is returned as is.

    Example:
        >>> debiased_ema(np.array([1.0, 3.0, np.inf, 5.0]), 0.5).tolist()
        [1.0, 2.3333333333333335, nan, 3.857142857142857]
    """
    finite = np.isfinite(values)
    all_finite = bool(finite.all())
    x: Float64Array = values if all_finite else values[finite]
    if len(x) == 0:
        return np.full(len(values), np.nan)
    low, high = float(x.min()), float(x.max())
    ema: Float64Array
    if weight == 0 or low == high:
        ema = x.copy()
    else:
        ema = _ema(x, weight, max(abs(low), abs(high)))
        # 1 - weight**n as -expm1(n log weight): with weight near 1 the subtraction
        # would cancel to a few correct digits. Beyond n where weight**n < eps the
        # divisor is 1.0 in float64.
        log_w = math.log1p(weight - 1.0) if weight >= 0.5 else math.log(weight)
        eps = float(np.finfo(np.float64).eps)
        n_debias = min(len(x), math.ceil(math.log(eps) / log_w) + 1)
        ema[:n_debias] /= -np.expm1(np.arange(1, n_debias + 1, dtype=np.float64) * log_w)
    if all_finite:
        return ema
    out = np.full(len(values), np.nan)
    out[finite] = ema
    return out


def _ema(x: Float64Array, w: float, largest: float) -> Float64Array:
    """``y[k] = w * y[k-1] + (1 - w) * x[k]`` with ``y[-1] = 0``, vectorised.

    ``largest`` is the largest ``|x|``. Returns a new array.
    """
    m = len(x)
    # Block length: w**-(b-1) times the largest |x| times the block length must stay
    # finite. Huge values or a tiny w give short blocks; the chaining scan then does
    # more of the work, still in O(log n) vectorised passes.
    biggest = largest * _MAX_BLOCK
    room = min(_FLOAT_ROOM, _FLOAT_ROOM / biggest) if biggest > 0 else _FLOAT_ROOM
    growth = math.floor(math.log(room) / -math.log(w)) if room > 1 else 0
    b = max(1, min(_MAX_BLOCK, growth + 1))
    n_blocks = -(-m // b)
    if m == n_blocks * b:
        blocks = x.reshape(n_blocks, b)
    else:
        blocks = np.zeros((n_blocks, b))
        blocks.ravel()[:m] = x
    i = np.arange(b, dtype=np.float64)
    # Each block's EMA as if it started from 0 (in place: 1,000,000 points are 8 MB).
    partial = blocks * np.power(w, -i)
    np.cumsum(partial, axis=1, out=partial)
    partial *= np.power(w, i) * (1.0 - w)
    # The true EMA at each block's end: c[j] = w**b * c[j-1] + partial[j, -1],
    # solved by doubling (Hillis-Steele); stop once the factor is negligible.
    carry = partial[:, -1].copy()
    shift, factor = 1, w**b
    while shift < n_blocks and factor > 1e-300:
        carry[shift:] = carry[shift:] + factor * carry[:-shift]
        shift, factor = shift * 2, factor * factor
    partial[1:] += carry[:-1, None] * np.power(w, i + 1)
    return partial.ravel()[:m]


def _finite_list(values: Float64Array) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values.tolist()]


def _check_max_points(max_points: int) -> None:
    if (
        isinstance(max_points, bool)
        or not isinstance(max_points, (int, np.integer))
        or not MIN_POINTS <= max_points <= MAX_POINTS
    ):
        raise InvalidArgumentError(
            f"max_points must be an integer from {MIN_POINTS} to {MAX_POINTS:,}, "
            f"got {max_points!r}",
            field="max_points",
        )


def _check_smoothing(smoothing: float) -> None:
    if (
        isinstance(smoothing, bool)
        or not isinstance(smoothing, (int, float, np.floating, np.integer))
        or not math.isfinite(smoothing)
        or not 0 <= smoothing < 1
    ):
        raise InvalidArgumentError(
            f"smoothing must be a number from 0 up to (not including) 1, such as 0.6; "
            f"got {smoothing!r}",
            field="smoothing",
        )
