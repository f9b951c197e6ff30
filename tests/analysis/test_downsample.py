"""LTTB downsampling: first and last kept, at most max_points, spikes survive."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragtrack.analysis import downsample_series, lttb_indices
from ragtrack.entities import MetricSeries


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=300),
    max_points=st.integers(1, 350),
    stride=st.integers(0, 2**40),
    start=st.integers(-(2**62), 2**62),
)
def test_indices_are_sorted_bounded_and_keep_the_ends(
    values: list[float], max_points: int, stride: int, start: int
) -> None:
    x = start + np.arange(len(values), dtype=np.int64) * stride
    kept = lttb_indices(x, values, max_points)
    assert len(kept) == min(len(values), max_points)
    assert np.all(np.diff(kept) > 0)
    if len(values):
        assert kept[0] == 0
        if max_points >= 2:
            assert kept[-1] == len(values) - 1


def test_keeps_spikes_and_non_finite_points() -> None:
    y = np.zeros(10_000)
    y[1234], y[7777] = 1e308, np.nan
    y[5000] = -np.inf
    kept = lttb_indices(np.arange(10_000), y, 50)
    assert {1234, 5000, 7777} <= set(kept.tolist())


def test_follows_the_shape() -> None:
    x = np.arange(1000)
    y = np.sin(x / 50)
    kept = lttb_indices(x, y, 100)
    # The extremes of every period are kept (within one bucket's width).
    for extreme in (np.argmax(y), np.argmin(y)):
        assert np.min(np.abs(kept - extreme)) <= 10


def test_huge_steps_do_not_overflow() -> None:
    x = np.array([-(2**63), 2**62, 2**63 - 2, 2**63 - 1], dtype=np.int64)
    with np.errstate(over="raise", invalid="raise"):
        kept = lttb_indices(x, [1.0, -1e308, 1e308, 0.0], 3)
    assert kept.tolist()[0] == 0 and kept.tolist()[-1] == 3


def test_downsample_series() -> None:
    s = MetricSeries.from_lists(
        list(range(100)), [float(i) for i in range(100)], [1e9 + i for i in range(100)]
    )
    assert downsample_series(s, 100) is s
    small = downsample_series(s, 10)
    assert len(small) == 10
    assert small.steps.tolist()[0] == 0 and small.timestamps.tolist()[-1] == 1e9 + 99
    assert np.array_equal(small.values, small.steps.astype(float))  # points stay whole


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="equally long"):
        lttb_indices([1, 2], [1.0], 2)
    with pytest.raises(ValueError, match="at least 1"):
        lttb_indices([1, 2], [1.0, 2.0], 0)


@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_path_keeps_the_points_the_loop_keeps(seed: int) -> None:
    # Evenly spaced, finite series go through tsdownsample; the numpy loop is the reference.
    from ragtrack.analysis import downsample

    rng = np.random.default_rng(seed)
    for _ in range(25):
        n = int(rng.integers(4, 20_000))
        m = int(rng.integers(3, min(n, 600)))
        x = np.arange(n, dtype=np.int64) * int(rng.integers(1, 100)) + int(rng.integers(-5, 5))
        y = np.cumsum(rng.normal(size=n)) * float(rng.choice([1e-300, 1.0, 1e300]))
        gx, gy = downsample._geometry(x, y)
        reference = downsample._lttb_loop(gx, gy, ~np.isfinite(y), m)
        assert downsample._compiled_lttb(x, y, m) is not None
        np.testing.assert_array_equal(lttb_indices(x, y, m), reference, err_msg=f"{n=} {m=}")


def test_uneven_steps_and_non_finite_values_take_the_exact_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ragtrack.analysis import downsample

    def refuse(*args: object) -> None:
        raise AssertionError("the compiled path was used")

    monkeypatch.setattr(downsample, "_compiled_lttb", refuse)
    steps = np.cumsum(np.arange(1, 5001))  # gaps grow: not evenly spaced
    assert len(lttb_indices(steps, np.sin(steps / 50.0), 100)) == 100
    values = np.sin(np.arange(5000) / 50.0)
    values[1234] = np.nan
    assert 1234 in lttb_indices(np.arange(5000), values, 100)
