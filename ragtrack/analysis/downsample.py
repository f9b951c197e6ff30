"""Downsampling a metric series for charts: Largest-Triangle-Three-Buckets.

LTTB (Steinarsson, "Downsampling Time Series for Visual Representation", 2013)
keeps the first and last points and, from each of ``n - 2`` equal buckets in
between, the point forming the largest triangle with the point kept from the
previous bucket and the mean of the next bucket. Unlike taking every k-th point
it keeps spikes, which are what a loss curve's reader looks for.

Example:
    >>> import numpy as np
    >>> steps = np.arange(1000)
    >>> values = np.where(steps == 500, 100.0, 0.0)  # one spike
    >>> kept = lttb_indices(steps, values, 10)
    >>> int(kept[0]), int(kept[-1]), 500 in kept
    (0, 999, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ragtrack.entities import MetricSeries


def lttb_indices(x: npt.ArrayLike, y: npt.ArrayLike, max_points: int) -> npt.NDArray[np.intp]:
    """Indices (ascending) of at most ``max_points`` points to keep of ``(x, y)``.

    ``x`` must be sorted ascending (equal values are fine). Every point is kept
    when there are no more than ``max_points``; with ``max_points`` of 2 only the
    first and last, of 1 only the first. Non-finite ``y`` values (NaN, ±inf) sit
    at 0 for the triangle geometry, and a bucket holding one keeps it, so a
    diverged run still shows where it diverged.
    """
    xs = np.asarray(x)
    ys = np.asarray(y, dtype=np.float64)
    n = len(xs)
    if len(ys) != n:
        raise ValueError(f"x and y must be equally long, got {n} and {len(ys)}")
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    if n <= max_points:
        return np.arange(n, dtype=np.intp)
    if max_points < 3:
        return np.array([0, n - 1][:max_points], dtype=np.intp)
    finite = np.isfinite(ys)
    if finite.all() and _evenly_spaced(xs):
        fast = _compiled_lttb(xs, ys, max_points)
        if fast is not None:
            return fast
    gx, gy = _geometry(xs, ys)
    return _lttb_loop(gx, gy, ~finite, max_points)


def _evenly_spaced(x: npt.NDArray[Any]) -> bool:
    # Steps logged every k steps, the common case. Checked in integers where they are.
    if len(x) < 3 or x.dtype.kind not in "iu":
        return False
    gaps = np.diff(x)
    return bool(gaps[0] > 0 and (gaps == gaps[0]).all())


def _compiled_lttb(
    x: npt.NDArray[Any], y: npt.NDArray[np.float64], max_points: int
) -> npt.NDArray[np.intp] | None:
    # tsdownsample (Rust, a [server] dependency) runs LTTB ~15x faster than the loop
    # below. It takes the mean x of the next bucket as the midpoint of its ends,
    # which is exact only for evenly spaced x, and does not know our NaN rule: the
    # caller sends only finite, evenly spaced series here, and for those it keeps
    # the very points the loop keeps (tested).
    try:
        from tsdownsample import LTTBDownsampler
    except ImportError:
        return None
    scale = float(np.abs(y).max()) or 1.0  # areas stay finite for values near 1.8e308
    gy = y / scale
    downsampler = LTTBDownsampler()  # type: ignore[no-untyped-call]
    kept = np.asarray(downsampler.downsample(x, gy, n_out=max_points), dtype=np.intp)
    # Its last inner bucket may start one point off ours (float rounding of the
    # bucket width): choose that bucket's point again with our edges.
    n = len(x)
    start = int((max_points - 3) * ((n - 2) / (max_points - 2))) + 1
    if start < n - 1:
        gx = (x[[kept[-3], *range(start, n)]] - x[0]).astype(np.float64)
        ya, yc, ys = gy[kept[-3]], gy[n - 1], gy[start : n - 1]
        xa, xc, xs = gx[0], gx[-1], gx[1:-1]
        areas = np.abs((xa - xc) * (ys - ya) - (xa - xs) * (yc - ya))
        kept[-2] = start + int(np.argmax(areas))
    return kept


def _lttb_loop(
    gx: npt.NDArray[np.float64],
    gy: npt.NDArray[np.float64],
    bad: npt.NDArray[np.bool_],
    max_points: int,
) -> npt.NDArray[np.intp]:
    n = len(gx)
    kept = np.empty(max_points, dtype=np.intp)
    kept[0], kept[-1] = 0, n - 1
    # Bucket i covers [edges[i], edges[i+1]) of the inner points 1..n-2.
    edges = (np.arange(max_points - 1) * ((n - 2) / (max_points - 2))).astype(np.intp) + 1
    edges[-1] = n - 1
    a = 0
    for i in range(max_points - 2):
        start, end = edges[i], edges[i + 1]
        if bad[start:end].any():
            a = start + int(np.argmax(bad[start:end]))
        else:
            nxt_start, nxt_end = (end, edges[i + 2]) if i + 2 < len(edges) else (n - 1, n)
            mean_x = gx[nxt_start:nxt_end].mean()
            mean_y = gy[nxt_start:nxt_end].mean()
            areas = np.abs(
                (gx[a] - mean_x) * (gy[start:end] - gy[a])
                - (gx[a] - gx[start:end]) * (mean_y - gy[a])
            )
            a = start + int(np.argmax(areas))
        kept[i + 1] = a
    return kept


def downsample_series(series: MetricSeries, max_points: int) -> MetricSeries:
    """``series`` reduced to at most ``max_points`` points by LTTB over (step, value).

    Example:
        >>> s = MetricSeries.from_lists(list(range(100)), [float(i % 7) for i in range(100)],
        ...                             [float(i) for i in range(100)])
        >>> small = downsample_series(s, 20)
        >>> len(small), int(small.steps[0]), int(small.steps[-1])
        (20, 0, 99)
    """
    if len(series) <= max_points:
        return series
    keep = lttb_indices(series.steps, series.values, max_points)
    return MetricSeries(series.steps[keep], series.values[keep], series.timestamps[keep])


def _geometry(
    x: npt.NDArray[Any], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    # Both axes scaled into [-1, 1]: triangle areas then cannot overflow (steps span
    # up to 2**64 and values up to 1.8e308), and LTTB's choice does not change
    # under per-axis scaling (every area scales by the same factor).
    # In float64 before subtracting: int64 steps may span more than int64 holds.
    xf = x.astype(np.float64)
    span = (xf[-1] - xf[0]) or 1.0
    gx = (xf - xf[0]) / span
    gy = np.where(np.isfinite(y), y, 0.0)
    scale = float(np.abs(gy).max()) or 1.0
    return gx, gy / scale
