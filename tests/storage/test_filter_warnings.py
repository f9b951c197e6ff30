"""Warnings about filter keys no run has (ragtrack/storage/filter/_warnings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtrack.entities import RunKeys
from ragtrack.storage import open_store
from ragtrack.storage.filter import filter_warnings, parse_filter, unknown_keys

KEYS = RunKeys(
    params=("chunker.overlap", "chunker.size", "retriever.top_k"),
    metrics=("latency_ms", "recall@10", "recall@5", "train/loss"),
)


def test_a_misspelled_metric_is_named_with_the_nearest_keys() -> None:
    (warning,) = unknown_keys(parse_filter("metrics.recal@10 > 0.5"), KEYS)
    assert warning.key == "metrics.recal@10"
    assert warning.suggestions[0] == "metrics.recall@10"
    assert warning.message.startswith("no run has metrics.recal@10; did you mean metrics.recall@10")
    assert warning.to_json()["code"] == "UNKNOWN_KEY"
    assert warning.to_json()["field"] == "filter"


def test_keys_anywhere_in_the_filter_are_checked_once_each() -> None:
    expr = parse_filter(
        "not (params.chunkr.size = 512 or metrics.recall@10.max > 1) "
        "and params.chunkr.size != 3 and metrics.`train/los` is null and status = 'failed'"
    )
    assert [(w.key, w.suggestions[0]) for w in unknown_keys(expr, KEYS)] == [
        ("params.chunkr.size", "params.chunker.size"),
        ("metrics.train/los", "metrics.train/loss"),
    ]


def test_a_nested_config_prefix_suggests_its_leaves() -> None:
    (warning,) = unknown_keys(parse_filter("params.chunker = 512"), KEYS)
    assert set(warning.suggestions) == {"params.chunker.size", "params.chunker.overlap"}


@pytest.mark.parametrize(
    "text", ["", "metrics.recall@10 > 0.5", "status = 'failed' and name contains 'x'"]
)
def test_known_keys_and_plain_fields_give_no_warning(text: str) -> None:
    assert unknown_keys(parse_filter(text), KEYS) == []


def test_a_key_like_nothing_known_has_no_suggestion() -> None:
    (warning,) = unknown_keys(parse_filter("params.zzzzzz = 1"), KEYS)
    assert warning.suggestions == () and warning.message == "no run has params.zzzzzz"


def test_filter_warnings_reads_the_keys_of_the_project_or_of_every_project(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path)
    try:
        a = store.create_run(project="a", config={"lr": 0.1})
        store.set_summary(a.id, {"recall@10": 0.5})
        store.create_run(project="b", config={"batch": 8})
        assert [w.key for w in filter_warnings(store, "a", "params.batch = 8")] == ["params.batch"]
        assert filter_warnings(store, None, "params.batch = 8 and params.lr > 0") == []
        assert filter_warnings(store, "a", "metrics.recall@10 > 0.1") == []
        assert filter_warnings(store, "missing", "params.lr > 0") == []
        assert filter_warnings(store, "a", "params.lr >") == []  # the search reports it
        assert filter_warnings(store, "a", None) == []
    finally:
        store.close()
