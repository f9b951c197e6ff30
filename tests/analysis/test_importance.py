"""Param importance by Optuna's fANOVA: the demo's answer, synthetic answers, and
the reasons given when there is nothing to compute."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np
import optuna
import pytest

from ragtrack.analysis import param_importance
from ragtrack.demo import log_demo_runs
from ragtrack.entities import RunRecord, RunStatus
from ragtrack.exceptions import InvalidArgumentError, RagtrackError
from ragtrack.storage import open_store


def _run(i: int, config: dict[str, Any], summary: dict[str, Any]) -> RunRecord:
    return RunRecord(
        id=f"r{i}",
        project="p",
        experiment="e",
        name=f"run-{i}",
        status=RunStatus.COMPLETED,
        created_at=0.0,
        config=config,
        explicit_summary=summary,
    )


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> list[RunRecord]:
    directory = tmp_path_factory.mktemp("demo")
    log_demo_runs(directory, n_runs=12)
    store = open_store(dir=directory, create=False)
    try:
        return store.search_runs(project="rag-demo", filter='experiment = "chunking"')
    finally:
        store.close()


def test_chunk_size_matters_most_for_recall_in_the_demo(demo_runs: list[RunRecord]) -> None:
    result = param_importance(demo_runs, "recall@10")
    assert result.message is None
    assert (result.n_runs, result.skipped_runs) == (12, 0)
    params = [key for key, _ in result.importances]
    assert params[0] == "chunker.size"
    assert set(params) == {"chunker.size", "retriever.embedding_model", "retriever.top_k"}
    # The overlap is size / 8: one param to any model, counted once under the size.
    assert result.aliases == {"chunker.size": ["chunker.overlap"]}
    assert "dataset" in result.dropped_params
    assert result.drop_reasons["finetune.lr"] == "the same in every run"
    values = [v for _, v in result.importances]
    assert values == sorted(values, reverse=True)
    assert math.isclose(sum(values), 1.0)
    assert result.method.startswith("fANOVA")
    json.dumps(result.to_json(), allow_nan=False)


def test_the_same_seed_gives_the_same_importances(demo_runs: list[RunRecord]) -> None:
    first = param_importance(demo_runs, "recall@10", seed=3)
    assert param_importance(demo_runs, "recall@10", seed=3) == first


def test_only_the_param_the_metric_depends_on_is_important() -> None:
    rng = np.random.default_rng(0)
    runs = [
        _run(i, {"x": float(x), "noise": {"z": float(z)}}, {"y": 3 * x})
        for i, (x, z) in enumerate(rng.uniform(0, 1, size=(30, 2)))
    ]
    result = param_importance(runs, "y")
    assert [key for key, _ in result.importances] == ["x", "noise.z"]
    assert result.importances[0][1] > 0.8


def test_params_that_order_or_group_runs_alike_are_counted_once() -> None:
    sizes = [256, 512, 1024, 512, 256, 1024]
    runs = [
        _run(
            i,
            {"size": size, "inverse": 1 / size, "label": f"s{size}", "k": i % 2},
            {"y": size / 1000 + (i % 2) / 100},
        )
        for i, size in enumerate(sizes)
    ]
    result = param_importance(runs, "y")
    # Decreasing with size still offers the same splits; so does a label per size.
    assert result.aliases == {"size": ["inverse", "label"]}
    assert [key for key, _ in result.importances] == ["size", "k"]


def test_a_missing_param_is_the_category_absent() -> None:
    # What matters is whether a reranker is configured at all.
    runs = [
        _run(i, {"seed": i % 3, **({"reranker": {"model": "bge"}} if i % 2 else {})}, {"y": y})
        for i, y in enumerate([0.5, 0.8, 0.52, 0.81, 0.49, 0.79, 0.51, 0.8])
    ]
    result = param_importance(runs, "y")
    assert result.importances[0][0] == "reranker.model"
    assert result.importances[0][1] > 0.8


def test_runs_without_a_finite_metric_are_skipped() -> None:
    values: list[Any] = [0.1, 0.2, 0.3, math.nan, "n/a", True, None]
    runs = [_run(i, {"k": i}, {} if v is None else {"y": v}) for i, v in enumerate(values)]
    result = param_importance(runs, "y")
    assert (result.n_runs, result.skipped_runs) == (3, 4)
    assert [key for key, _ in result.importances] == ["k"]


def test_a_value_per_run_param_names_runs_and_is_dropped() -> None:
    runs = [_run(i, {"out": f"/tmp/run-{i}", "k": i % 2}, {"y": float(i % 2)}) for i in range(4)]
    result = param_importance(runs, "y")
    assert result.drop_reasons == {"out": "a different value in every run"}
    assert [key for key, _ in result.importances] == ["k"]


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([], "needs at least 2 runs with a finite value of y; found 0"),
        (
            [_run(0, {"k": 1}, {"y": 1.0}), _run(1, {"k": 2}, {"y": math.inf})],
            "needs at least 2 runs with a finite value of y; found 1",
        ),
        (
            [_run(0, {"k": 1}, {"y": 1.0}), _run(1, {"k": 1}, {"y": 2.0})],
            "no param varies across the 2 runs with a finite value of y",
        ),
        (
            [_run(0, {"k": 1}, {"y": 0.5}), _run(1, {"k": 2}, {"y": 0.5})],
            "y is 0.5 in all 2 runs: no param can explain it",
        ),
    ],
)
def test_why_nothing_could_be_computed(runs: list[RunRecord], message: str) -> None:
    result = param_importance(runs, "y")
    assert (result.importances, result.message) == ([], message)
    assert result.to_json()["message"] == message


def test_optuna_stays_quiet_and_keeps_the_callers_verbosity(
    capfd: pytest.CaptureFixture[str],
) -> None:
    runs = [_run(i, {"k": i}, {"y": float(i)}) for i in range(3)]
    before = optuna.logging.get_verbosity()
    param_importance(runs, "y")
    assert optuna.logging.get_verbosity() == before
    assert capfd.readouterr().err == ""


def test_without_optuna_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    runs = [_run(i, {"k": i}, {"y": float(i)}) for i in range(3)]
    with pytest.raises(RagtrackError, match=r"pip install 'ragtrack\[server\]'"):
        param_importance(runs, "y")


def test_many_runs_are_sampled_down_to_max_runs() -> None:
    runs = [_run(i, {"k": i % 5, "j": i % 3}, {"y": float(i % 5)}) for i in range(30)]
    runs.append(_run(99, {"k": 1}, {}))
    result = param_importance(runs, "y", max_runs=10)
    assert (result.n_runs, result.skipped_runs) == (10, 1)
    assert result.note == "fitted on a random 10 of the 30 runs with a finite value of y"
    assert result.importances[0][0] == "k"
    assert param_importance(runs, "y").note is None


@pytest.mark.parametrize("max_runs", [1, True, 2.0])
def test_max_runs_below_two_names_the_field(max_runs: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="max_runs must be an integer") as e:
        param_importance([], "y", max_runs=max_runs)
    assert e.value.field == "max_runs"
