"""Compare-page data: the differing-params table, parallel coordinates, scatter and
the metrics that can serve as an objective."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest

from ragtrack.analysis import (
    ABSENT,
    objective_candidates,
    parallel_coordinates,
    param_column,
    param_table,
    param_text,
    scatter,
)
from ragtrack.entities import MetricSummary, RunRecord, RunStatus
from ragtrack.entities.values import config_leaves
from ragtrack.storage._params import flatten_config


def _run(run_id: str, config: dict[str, Any], summary: dict[str, Any] | None = None) -> RunRecord:
    return RunRecord(
        id=run_id,
        project="p",
        experiment="e",
        name=f"run-{run_id}",
        status=RunStatus.COMPLETED,
        created_at=0.0,
        config=config,
        explicit_summary=summary or {},
    )


CONFIG: dict[str, Any] = {
    "lr": 0.001,
    "big": 2**70,
    "huge": 10**400,
    "flag": True,
    "none": None,
    "nan": math.nan,
    "name": "bge",
    "list": [1, "a", 2.5],
    "empty": {},
    "nested": {"deep": {"k": 5}, "emptylist": []},
    "dotted.key": 1,
}


def test_keys_and_texts_are_the_ones_the_store_indexes() -> None:
    # params.<key> = "<text>" in a filter must match what the compare page shows.
    store_rows = [(row.key, row.text) for row in flatten_config(CONFIG)]
    assert [(k, param_text(v)) for k, v in config_leaves(CONFIG)] == store_rows


def test_param_table_splits_differing_from_identical_params() -> None:
    runs = [
        _run("a", {"lr": 0.1, "data": "fiqa", "k": 5, "x": math.nan, "n": None}),
        _run("b", {"lr": 0.01, "data": "fiqa", "k": 5, "x": math.nan}),
        _run("c", {"lr": 0.1, "data": "fiqa", "x": math.nan, "n": None}),
    ]
    table = param_table(runs)
    assert (table.run_ids, table.run_names) == (["a", "b", "c"], ["run-a", "run-b", "run-c"])
    assert [row.key for row in table.differing] == ["k", "lr", "n"]
    assert [row.key for row in table.identical] == ["data", "x"]  # NaN equals NaN here
    k, lr, n = table.differing
    assert k.values == [5, 5, None]  # missing counts as a value
    assert lr.values == [0.1, 0.01, 0.1]
    # A logged null and a missing param both read None; the texts tell them apart.
    assert (n.values, n.texts) == ([None, None, None], ["null", None, "null"])
    out = table.to_json()
    json.dumps(out, allow_nan=False)
    assert out["identical"][1] == {"key": "x", "values": [None] * 3, "texts": ["nan"] * 3}


def test_a_param_is_numeric_only_when_every_run_has_a_finite_number() -> None:
    runs = [_run("a", {"k": 3, "m": 1.5, "b": True}), _run("b", {"k": 10, "m": math.inf})]
    k = param_column(runs, "k")
    assert (k.numeric, k.values, k.categories, k.constant) == (True, [3, 10], [], False)
    m = param_column(runs, "m")
    assert (m.numeric, m.values, m.categories) == (False, ["1.5", "inf"], ["1.5", "inf"])
    b = param_column(runs, "b")
    assert (b.numeric, b.values, b.categories) == (False, ["true", ABSENT], ["true", ABSENT])
    assert param_column(runs[:1], "b").constant


def test_categories_sort_numbers_numerically_then_texts_then_absent() -> None:
    sizes: list[dict[str, Any]] = [
        {"s": 1024},
        {"s": "auto"},
        {},
        {"s": 256},
        {"s": "512"},
        {"s": "Auto"},
    ]
    column = param_column([_run(str(i), c) for i, c in enumerate(sizes)], "s")
    assert column.categories == ["256", "512", "1024", "Auto", "auto", ABSENT]


def test_parallel_coordinates_draws_runs_with_the_metric_coloured_by_it() -> None:
    runs = [
        _run("a", {"size": 256, "model": "bge", "seed": 1}, {"recall": 0.5}),
        _run("b", {"size": 512, "model": "e5", "seed": 1}, {"recall": 0.7}),
        _run("c", {"size": 1024, "seed": 1}, {"recall": 0.6}),
        _run("d", {"size": 512, "model": "bge", "seed": 1}, {"recall": math.nan}),
        _run("e", {"size": 512, "model": "bge", "seed": 1}, {}),
    ]
    out = parallel_coordinates(runs, ["size", "model", "seed"], "recall")
    assert (out["run_ids"], out["skipped_run_ids"]) == (["a", "b", "c"], ["d", "e"])
    assert out["run_names"] == ["run-a", "run-b", "run-c"]
    size, model, seed, recall = out["dimensions"]
    assert size == {"label": "size", "values": [256, 512, 1024], "range": [256, 1024]}
    assert model == {
        "label": "model",
        "values": [0, 1, 2],
        "range": [0, 2],
        "tickvals": [0, 1, 2],
        "ticktext": ["bge", "e5", ABSENT],
    }
    assert seed == {"label": "seed", "values": [1, 1, 1]}  # constant: Plotly picks a range
    assert recall == {"label": "recall", "values": [0.5, 0.7, 0.6], "range": [0.5, 0.7]}
    assert out["line"]["color"] == [0.5, 0.7, 0.6]
    json.dumps(out, allow_nan=False)


def test_a_single_category_still_gets_a_span() -> None:
    runs = [_run("a", {"m": "x"}, {"y": 1.0}), _run("b", {"m": "x"}, {"y": 2.0})]
    (model, _) = parallel_coordinates(runs, ["m"], "y")["dimensions"]
    assert (model["values"], model["range"], model["ticktext"]) == ([0, 0], [0, 1], ["x"])


def test_no_run_with_the_metric_gives_empty_dimensions() -> None:
    out = parallel_coordinates([_run("a", {"k": 1})], ["k"], "recall")
    assert out["run_ids"] == [] and out["skipped_run_ids"] == ["a"]
    assert [d["values"] for d in out["dimensions"]] == [[], []]


def test_scatter_of_a_numeric_param() -> None:
    runs = [
        _run("a", {"k": 3}, {"acc": 0.5}),
        _run("b", {"k": 10}, {"acc": 0.7}),
        _run("c", {"k": 5}, {"acc": "n/a"}),
    ]
    out = scatter(runs, "k", "acc")
    assert out == {
        "param": "k",
        "metric": "acc",
        "x": [3, 10],
        "y": [0.5, 0.7],
        "ids": ["a", "b"],
        "names": ["run-a", "run-b"],
        "categorical": False,
        "categories": [],
        "skipped_run_ids": ["c"],
    }


def test_scatter_of_a_categorical_param_with_a_run_lacking_it() -> None:
    runs = [
        _run("a", {"reranker": {"model": "bge"}}, {"acc": 0.8}),
        _run("b", {}, {"acc": 0.6}),
        _run("c", {"reranker": {"model": "minilm"}}, {"acc": 0.7}),
    ]
    out = scatter(runs, "reranker.model", "acc")
    assert out["categorical"] is True
    assert out["x"] == ["bge", ABSENT, "minilm"]
    assert out["categories"] == ["bge", "minilm", ABSENT]


def test_objective_candidates_are_metrics_finite_in_every_run() -> None:
    summary = MetricSummary("loss", 3, 0.2, 3, 0.0, 0.1, 0.9)
    runs = [
        _run("a", {}, {"acc": 0.5, "f1": 0.1, "ok": True, "note": "x", "nan": 1.0}),
        _run("b", {}, {"acc": 1, "ok": False, "note": "y", "nan": math.nan}),
    ]
    # Summaries of logged metrics count too, not only explicit summary values.
    runs = [dataclasses.replace(r, metrics={"loss": summary}) for r in runs]
    assert objective_candidates(runs) == ["acc", "loss"]
    assert objective_candidates([]) == []


@pytest.mark.parametrize("value", [2**2000, -math.inf, math.nan, True, None, "1.0"])
def test_values_that_are_not_finite_numbers_are_no_objective(value: Any) -> None:
    assert objective_candidates([_run("a", {}, {"m": value})]) == []
