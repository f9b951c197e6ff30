"""Property test of the chunked metric store against a plain-list model.

Batches of random sizes (crossing the small-chunk and chunk-size thresholds,
folded together every few chunks),
unordered and repeated steps, NaN and infinities: the history must always be
the concatenation of everything logged, stably sorted by step, and the summary
must agree with it.
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ragtrack.entities import MetricSeries
from ragtrack.storage.sql import SqlStore, _chunks

SIZES = st.sampled_from(
    [
        1,
        2,
        7,
        _chunks.MERGE_BELOW_POINTS - 1,
        _chunks.MERGE_BELOW_POINTS,
        3000,
        _chunks.CHUNK_MAX_POINTS + 5,
    ]
)
VALUES = st.sampled_from([0.5, -1.0, math.nan, math.inf, -math.inf, 1e308, 0.0])


@st.composite
def batch(draw: st.DrawFn) -> MetricSeries:
    n = draw(SIZES)
    start = draw(st.integers(-1000, 10**6))
    stride = draw(st.sampled_from([1, 1, 3, 0]))
    steps = start + stride * np.arange(n, dtype=np.int64)
    if draw(st.booleans()):  # now and then, out of order
        steps = np.random.default_rng(n).permutation(steps)
    rng = np.random.default_rng(start & 0xFFFF)
    values = rng.normal(size=n)
    for i in draw(st.lists(st.integers(0, n - 1), max_size=3)):
        values[i] = draw(VALUES)
    stamps = 1.7e9 + np.cumsum(rng.random(n))
    return MetricSeries(steps, values, stamps)


@settings(max_examples=25, deadline=None)
@given(batches=st.lists(batch(), min_size=1, max_size=8), fold_every=st.sampled_from([1, 2, 3]))
def test_history_and_summary_match_a_list_model(
    batches: list[MetricSeries], fold_every: int
) -> None:
    store = SqlStore("sqlite://")
    # Folding every few chunks (rather than every 16) lets a handful of
    # batches reach every case: nothing to fold, small chunks behind a full one.
    fold = mock.patch.object(_chunks, "FOLD_EVERY_CHUNKS", fold_every)
    try:
        fold.start()
        run = store.create_run(project="p")
        for b in batches:
            store.log_metrics(run.id, {"m": b})
        want = MetricSeries.concat(batches)
        order = np.argsort(want.steps, kind="stable")
        got = store.get_history(run.id, "m")
        assert np.array_equal(got.steps, want.steps[order])
        assert np.array_equal(got.values, want.values[order], equal_nan=True)
        assert np.allclose(got.timestamps, want.timestamps[order], rtol=0, atol=1e-6)

        summary = store.get_run(run.id).metrics["m"]
        finite = want.values[~np.isnan(want.values)]
        assert summary.count == len(want)
        assert summary.last_step == want.steps[-1]
        assert np.array_equal([summary.last], [want.values[-1]], equal_nan=True)
        if len(finite):
            assert (summary.min, summary.max) == (finite.min(), finite.max())
        else:
            assert math.isnan(summary.min) and math.isnan(summary.max)
    finally:
        fold.stop()
        store.close()
