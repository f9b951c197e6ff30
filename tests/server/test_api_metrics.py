"""Metric batches in, keys and (downsampled) histories out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from ragtrack.entities import MetricSeries
from ragtrack.storage.rest import _wire

API = "/api/v1"


def _series(steps: list[Any], values: list[Any]) -> dict[str, Any]:
    return {"steps": steps, "values": values, "timestamps": [1.7e9 + s for s in range(len(steps))]}


def test_metric_keys_page_along_next_cursor(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/metrics"
    keys = [f"k{i:02d}" for i in range(7)]
    api.ok("POST", path, {"series": {k: _series([0], [1.0]) for k in keys}})
    seen: list[str] = []
    cursor = None
    while True:
        page = api.ok("GET", path, params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert len(page["keys"]) <= 3
        seen += page["keys"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == keys


@pytest.mark.parametrize("encoding", ["json", "base64"])
def test_batch_round_trips_in_both_encodings(api: Any, encoding: str) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/metrics"
    series = MetricSeries.from_lists(
        [0, 1, 2, 2**62], [0.5, math.nan, -math.inf, 1e308], [1.0, 2.0, 3.0, 4.0]
    )
    batch = _wire.batch_to_json({"loss": series, "eval/ündex@10": series}, "b-1", encoding)
    assert api.ok("POST", path, batch) == {"points": 8}
    assert api.ok("GET", path) == {"keys": ["eval/ündex@10", "loss"], "next_cursor": None}
    for out in ("json", "base64"):
        history = api.ok("GET", f"{path}/history", params={"key": "eval/ündex@10", "encoding": out})
        assert history["key"] == "eval/ündex@10" and history["encoding"] == out
        assert history["total_points"] == 4 and history["downsampled"] is False
        assert _wire.series_from_json(history, "history") == series


def test_json_values_may_be_strings_for_non_finite(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/metrics"
    api.ok("POST", path, {"series": {"x": _series([0, 1, 2], ["NaN", "Infinity", "-Infinity"])}})
    values = api.ok("GET", f"{path}/history", params={"key": "x"})["values"]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_batch_id_makes_a_batch_idempotent(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/metrics"
    batch = {"batch_id": "once", "series": {"loss": _series([0, 1], [1.0, 0.5])}}
    api.ok("POST", path, batch)
    api.ok("POST", path, batch)  # a retry: answered, not applied
    assert api.ok("GET", f"{path}/history", params={"key": "loss"})["total_points"] == 2
    api.ok("POST", path, {"series": {"loss": _series([2], [0.25])}})  # no id: always applied
    assert api.ok("GET", f"{API}/runs/{run['id']}")["metrics"]["loss"]["count"] == 3


def test_bad_batches(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/metrics"

    def bad(body: Any, field: str | None = None) -> str:
        kwargs = {} if field is None else {"field": field}
        message: str = api.error("POST", path, body, status=400, code="INVALID_ARGUMENT", **kwargs)
        return message

    bad({"series": {"x": _series([0, 1], [1.0])}}, "series.x")
    bad({"series": {"x": _series([2**63], [1.0])}}, "series.x.steps")  # over int64
    # Times are the store's rule (ragtrack/storage/_input.py): the error names the key.
    for stamp in (math.nan, 1e300, -1e300, 1733300000000):
        bad({"series": {"x": {"steps": [0], "values": [1.0], "timestamps": [stamp]}}}, "x")
    # Strict numbers: a JSON boolean is neither a time nor a value.
    message = bad({"series": {"x": {"steps": [0], "values": [1.0], "timestamps": [False]}}})
    assert message.startswith("body.series.x.timestamps")
    message = bad({"series": {"x": {"steps": [0], "values": [True], "timestamps": [1.7e9]}}})
    assert message.startswith("body.series.x.values")
    bad(
        {"series": {"x": {"encoding": "base64", "steps": "!!", "values": "", "timestamps": ""}}},
        "series.x.steps",
    )
    bad(
        {"series": {"x": {"encoding": "base64", "steps": "AAA=", "values": "", "timestamps": ""}}},
        "series.x.steps",
    )
    bad(
        {"series": {"x": {"encoding": "zip", "steps": [], "values": [], "timestamps": []}}},
        "body.series.x.encoding",
    )
    bad({"series": {"x": _series([0], ["lots"])}}, "series.x.values")
    bad({"series": {"x": _series([0.5], [1.0])}})
    bad({"series": {" padded": _series([0], [1.0])}})
    bad({"series": {"x": _series([0], [1.0])}, "batch_id": ""}, "body.batch_id")
    bad({"series": []}, "body.series")
    bad([], "body")


def test_huge_and_negative_steps_and_unicode_keys(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/metrics"
    big = 2**63 - 1
    api.ok("POST", path, {"series": {"損失/訓練": _series([-5, 0, big], [0.5, 1.0, 2.0])}})
    history = api.ok("GET", f"{path}/history", params={"key": "損失/訓練"})
    assert history["steps"] == [-5, 0, big]
    assert api.ok("GET", f"{API}/runs/{run['id']}")["metrics"]["損失/訓練"]["last_step"] == big


def test_unknown_key_has_an_empty_history(api: Any) -> None:
    run = api.run()
    history = api.ok("GET", f"{API}/runs/{run['id']}/metrics/history", params={"key": "nope"})
    assert history["total_points"] == 0 and history["steps"] == []


def test_history_downsampling(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/metrics"
    n = 10_000
    rng = np.random.default_rng(0)
    values = rng.normal(size=n)
    values[6_543] = 50.0  # a spike LTTB must keep
    series = MetricSeries(np.arange(n, dtype=np.int64) * 3, values, np.linspace(1.7e9, 1.8e9, n))
    api.ok("POST", path, _wire.batch_to_json({"loss": series}, None))
    for max_points in (2, 3, 100, 999):
        history = api.ok("GET", f"{path}/history", params={"key": "loss", "max_points": max_points})
        got = _wire.series_from_json(history, "history")
        assert history["total_points"] == n and history["downsampled"] is True
        assert len(got) == max_points
        assert got.steps[0] == 0 and got.steps[-1] == 3 * (n - 1)  # first and last kept
        assert np.all(np.diff(got.steps) > 0)
        if max_points >= 100:
            assert 50.0 in got.values
    full = api.ok("GET", f"{path}/history", params={"key": "loss", "max_points": n})
    assert full["downsampled"] is False and len(full["steps"]) == n
    for bad in ("1", "0", "many"):
        api.error(
            "GET",
            f"{path}/history",
            params={"key": "loss", "max_points": bad},
            status=400,
            code="INVALID_ARGUMENT",
            field="query.max_points",
        )
    api.error("GET", f"{path}/history", status=400, code="INVALID_ARGUMENT", field="query.key")
    api.error(
        "GET",
        f"{path}/history",
        params={"key": "loss", "encoding": "csv"},
        status=400,
        code="INVALID_ARGUMENT",
        field="query.encoding",
    )
