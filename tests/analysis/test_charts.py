"""series_chart: validated arguments, TensorBoard smoothing over the full series,
LTTB-kept points, and NaN/inf that survive as None."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragtrack.analysis import debiased_ema, lttb_indices, series_chart
from ragtrack.entities import MetricSeries
from ragtrack.exceptions import InvalidArgumentError


def _series(values: Any, steps: Any = None) -> MetricSeries:
    values = np.asarray(values, dtype=np.float64)
    steps = np.arange(len(values)) if steps is None else steps
    return MetricSeries(
        np.asarray(steps, dtype=np.int64), values, 1.7e9 + np.arange(len(values), dtype=np.float64)
    )


def _tensorboard(values: list[float], weight: float) -> list[float | None]:
    """TensorBoard's smoothing loop in exact arithmetic (the reference)."""
    w, last, n = Fraction(weight), Fraction(0), 0
    out: list[float | None] = []
    for v in values:
        if not math.isfinite(v):
            out.append(None)
            continue
        last = last * w + (1 - w) * Fraction(v)
        n += 1
        out.append(float(last / (1 - w**n)))
    return out


@pytest.mark.parametrize("max_points", [1, 100_001, True, 2.5, "10", None])
def test_max_points_out_of_range_names_the_field(max_points: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="max_points must be an integer from 2") as e:
        series_chart("loss", _series([1.0]), max_points=max_points)
    assert e.value.field == "max_points"


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, 1.5, math.nan, math.inf, True, "0.5"])
def test_smoothing_out_of_range_names_the_field(smoothing: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="smoothing must be a number") as e:
        series_chart("loss", _series([1.0]), smoothing=smoothing)
    assert e.value.field == "smoothing"


def test_a_short_series_is_kept_whole_and_unsmoothed_by_default() -> None:
    chart = series_chart("loss", _series([3.0, 2.0, 1.0], steps=[0, 10, 20]))
    assert chart.steps == [0, 10, 20]
    assert chart.values == [3.0, 2.0, 1.0]
    assert chart.times == [1.7e9, 1.7e9 + 1, 1.7e9 + 2]
    assert chart.smoothed is None
    assert (chart.n_points, chart.downsampled) == (3, False)
    assert chart.to_json()["key"] == "loss"


def test_a_chart_counts_the_finite_values_of_the_whole_series() -> None:
    # All NaN/inf: the page says there is nothing to draw (n_finite 0) instead of empty axes.
    nan, inf = float("nan"), float("inf")
    chart = series_chart("loss", _series([nan, inf, -inf, nan]), max_points=2)
    assert (chart.n_points, chart.n_finite) == (4, 0)
    assert chart.to_json()["n_finite"] == 0
    mixed = series_chart("loss", _series([1.0, nan, 2.0, inf] * 100), max_points=10)
    assert (mixed.n_points, mixed.n_finite) == (400, 200)


def test_an_empty_series_gives_an_empty_chart() -> None:
    chart = series_chart("loss", MetricSeries.empty(), smoothing=0.9)
    assert chart.to_json() == {
        "key": "loss",
        "n_points": 0,
        "n_finite": 0,
        "steps": [],
        "values": [],
        "times": [],
        "smoothed": [],
        "downsampled": False,
        "smoothing": 0.9,
        "max_points": 2000,
    }


def test_a_long_series_is_downsampled_by_lttb_and_smoothed_over_all_points() -> None:
    rng = np.random.default_rng(0)
    values = np.exp(-np.arange(200_000) / 40_000) + rng.normal(0, 0.05, 200_000)
    series = _series(values)
    chart = series_chart("loss", series, max_points=500, smoothing=0.9)
    kept = lttb_indices(series.steps, series.values, 500)
    assert chart.steps == kept.tolist()
    assert chart.values == values[kept].tolist()
    # Smoothed over the full series, then sampled: not the smoothing of the kept points.
    assert chart.smoothed == debiased_ema(values, 0.9)[kept].tolist()
    assert (chart.n_points, len(chart.steps), chart.downsampled) == (200_000, 500, True)


def test_non_finite_values_survive_as_none_and_do_not_move_the_average() -> None:
    values = np.linspace(1.0, 0.0, 100_000)
    values[[10, 50_000, 99_000]] = [np.nan, np.inf, -np.inf]
    chart = series_chart("loss", _series(values), max_points=100, smoothing=0.5)
    for step in (10, 50_000, 99_000):
        i = chart.steps.index(step)  # LTTB keeps a bucket's non-finite point
        assert chart.values[i] is None
        assert chart.smoothed is not None and chart.smoothed[i] is None
    assert all(v is not None for i, v in enumerate(chart.smoothed or []) if chart.values[i])
    json.dumps(chart.to_json(), allow_nan=False)


def test_points_out_of_step_order_are_sorted_stably() -> None:
    chart = series_chart("loss", _series([5.0, 1.0, 2.0, 3.0], steps=[2, 0, 1, 1]))
    assert chart.steps == [0, 1, 1, 2]
    assert chart.values == [1.0, 2.0, 3.0, 5.0]
    assert chart.times == [1.7e9 + 1, 1.7e9 + 2, 1.7e9 + 3, 1.7e9]


def test_smoothing_matches_tensorboard_on_a_small_series() -> None:
    values = [1.0, 3.0, math.nan, 5.0, math.inf, 2.0]
    chart = series_chart("loss", _series(values), smoothing=0.6)
    expected = _tensorboard(values, 0.6)
    assert chart.smoothed is not None
    assert [v is None for v in chart.smoothed] == [v is None for v in expected]
    assert [v for v in chart.smoothed if v is not None] == pytest.approx(
        [v for v in expected if v is not None], rel=1e-14
    )


def test_a_constant_series_stays_exactly_constant_when_smoothed() -> None:
    assert debiased_ema(np.full(5000, 0.3), 0.99).tolist() == [0.3] * 5000


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=40
    ),
    weight=st.one_of(
        st.floats(0.0, 0.999999),
        st.sampled_from([1e-300, 1e-20, 0.5, 0.9999999999]),
    ),
)
def test_smoothing_matches_exact_tensorboard_for_any_values_and_weight(
    values: list[float], weight: float
) -> None:
    got = debiased_ema(np.array(values), weight)
    finite = [v for v in values if math.isfinite(v)]
    expected = _tensorboard(values, weight)
    scale = max((abs(v) for v in finite), default=1.0)
    for g, e in zip(got.tolist(), expected, strict=True):
        if e is None:
            assert math.isnan(g)
        else:
            assert abs(g - e) <= 1e-12 * scale


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5000),
    weight=st.floats(0.0, 0.99999),
    magnitude=st.sampled_from([1e-300, 1e-5, 1.0, 1e10, 1e300]),
    seed=st.integers(0, 2**32 - 1),
)
def test_long_smoothing_crosses_blocks_and_stays_within_the_values(
    n: int, weight: float, magnitude: float, seed: int
) -> None:
    # A debiased EMA is a weighted mean: it stays within the values' range, and it
    # equals a plain float loop (the blocks are 1024 points at most).
    values = np.random.default_rng(seed).normal(size=n) * magnitude
    got = debiased_ema(values, weight)
    last, expected = 0.0, []
    for k, v in enumerate(values.tolist(), start=1):
        last = last * weight + (1 - weight) * v
        expected.append(last / (1 - weight**k))
    spread = float(np.abs(values).max())
    assert np.all(np.abs(got - np.array(expected)) <= 1e-9 * spread)
    assert np.all(got >= values.min() - 1e-12 * spread)
    assert np.all(got <= values.max() + 1e-12 * spread)
