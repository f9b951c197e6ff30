"""The JSON shapes shared by the server, the REST store and the spool."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragtrack.entities import (
    Experiment,
    ExperimentMetric,
    MetricGoal,
    MetricSeries,
    MetricSummary,
    RunRecord,
    RunStatus,
)
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage.rest import _wire

_floats = st.floats(allow_nan=True, allow_infinity=True)
_series = st.integers(0, 50).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 2**62), min_size=n, max_size=n),
        st.lists(_floats, min_size=n, max_size=n),
        st.lists(st.floats(0, 4e9), min_size=n, max_size=n),
    )
)


@pytest.mark.parametrize("encoding", ["json", "base64"])
@given(data=_series)
def test_series_round_trips_bit_for_bit_in_both_encodings(encoding, data):
    series = MetricSeries.from_lists(*data)
    body = _wire.loads(_wire.dumps(_wire.series_to_json(series, encoding)))
    assert _wire.series_from_json(body, "s") == series


def test_run_round_trips_with_non_finite_values():
    run = RunRecord(
        id="abcd1234abcd1234",
        project="pröject",
        experiment=None,
        name="r",
        status=RunStatus.FAILED,
        created_at=1.5,
        ended_at=2.5,
        config={"lr": math.inf, "nested": {"x": [1, "two"]}},
        tags=("a", "b"),
        metrics={"loss": MetricSummary("loss", 3, math.nan, 7, 9.0, -math.inf, 1.0)},
        explicit_summary={"best": math.nan},
        error="boom",
    )
    back = _wire.run_from_json(_wire.loads(_wire.dumps(_wire.run_to_json(run))))
    assert back.config["lr"] == math.inf and back.config["nested"] == {"x": [1, "two"]}
    assert math.isnan(back.metrics["loss"].last) and back.metrics["loss"].min == -math.inf
    assert (back.id, back.project, back.status, back.tags, back.error) == (
        run.id,
        run.project,
        run.status,
        run.tags,
        "boom",
    )


def test_experiment_round_trips_its_definition():
    exp = Experiment(
        project="p",
        name="rerank",
        created_at=1.0,
        description="does reranking help?",
        datasets=("squad@3",),
        models=("bge-small",),
        hyperparameters={"top_k": {"choices": [5, 10]}},
        metrics=(ExperimentMetric("recall@10"), ExperimentMetric("latency", MetricGoal.MIN)),
        command="python eval.py",
    )
    assert _wire.experiment_from_json(_wire.experiment_to_json(exp)) == exp


def test_json_arrays_accept_non_finite_names_for_clients_without_nan_tokens():
    series = _wire.series_from_json(
        {"steps": [0, 1, 2], "values": ["NaN", "Infinity", "-inf"], "timestamps": [1, 2, 3]}, "s"
    )
    assert np.isnan(series.values[0]) and series.values[1] == math.inf
    assert series.values[2] == -math.inf


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"steps": [0], "values": [1.0]}, "s.timestamps", "list of numbers"),
        ({"steps": [0.5], "values": [1.0], "timestamps": [1.0]}, "s.steps", "integers"),
        ({"steps": [True], "values": [1.0], "timestamps": [1.0]}, "s.steps", "integers"),
        ({"steps": [2**70], "values": [1.0], "timestamps": [1.0]}, "s.steps", "too large"),
        ({"steps": [0], "values": ["x"], "timestamps": [1.0]}, "s.values", "must be a number"),
        ({"steps": [0, 1], "values": [1.0], "timestamps": [1.0]}, "s", "equally long"),
        ({"encoding": "zip", "steps": [], "values": [], "timestamps": []}, "s.encoding", "one of"),
        (
            {"encoding": "base64", "steps": "!!", "values": "", "timestamps": ""},
            "s.steps",
            "base64",
        ),
        (
            {"encoding": "base64", "steps": "AAA=", "values": "", "timestamps": ""},
            "s.steps",
            "8-byte",
        ),
        ([1, 2], "s", "must be an object"),
    ],
)
def test_bad_series_name_the_field_and_the_problem(data, field, words):
    with pytest.raises(InvalidArgumentError, match=words) as info:
        _wire.series_from_json(data, "s")
    assert info.value.field == field


def test_batch_ids_are_checked():
    with pytest.raises(InvalidArgumentError) as info:
        _wire.batch_from_json({"batch_id": "x" * 65, "series": {}})
    assert info.value.field == "batch_id"
    with pytest.raises(InvalidArgumentError, match="must be an object like"):
        _wire.batch_from_json({"series": []})


def test_cursors_round_trip_and_forged_ones_are_refused():
    assert _wire.decode_cursor(_wire.encode_cursor(12345)) == 12345
    assert _wire.decode_cursor(None) == 0
    for forged in ("garbage", _wire.encode_cursor(-1), "eyJvIjoiMSJ9", "%%%"):
        with pytest.raises(InvalidArgumentError, match="invalid cursor") as info:
            _wire.decode_cursor(forged)
        assert info.value.field == "cursor"


def test_invalid_json_body_names_the_body():
    with pytest.raises(InvalidArgumentError, match="not valid JSON") as info:
        _wire.loads(b"{")
    assert info.value.field == "body"
