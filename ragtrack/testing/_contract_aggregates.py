"""The Store contract for operations over many runs: :meth:`Store.list_run_keys`
and :meth:`Store.aggregate_runs`. Part of :class:`StoreContract`; kept apart
because the contract module is long enough without it.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from ragtrack.entities import MetricAggregate, MetricSeries, RunGroup, RunKeys, RunStatus
from ragtrack.exceptions import (
    ExperimentNotFoundError,
    InvalidArgumentError,
    InvalidFilterError,
    ProjectNotFoundError,
)
from ragtrack.storage import Store


def _series(values: list[float]) -> MetricSeries:
    return MetricSeries.from_lists(
        list(range(len(values))), values, [1.7e9 + i for i in range(len(values))]
    )


def _values(groups: list[RunGroup]) -> list[tuple[str, Any]]:
    """Each group's value with its type name (NaN as the string "nan", since
    NaN != NaN), so that 512 and 512.0 or True and 1 compare as different."""
    return [(type(g.value).__name__, "nan" if _is_nan(g.value) else g.value) for g in groups]


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _stats(group: RunGroup, metric: str) -> tuple[int, float | None, float | None, float | None]:
    a = group.metrics[metric]
    mean = None if a.mean is None else round(a.mean, 9)  # SQL sums in any order
    return a.count, mean, a.min, a.max


class RunAggregatesContract:
    """Keys and grouped metrics over the runs of a project."""

    # -- list_run_keys ---------------------------------------------------------------

    def test_run_keys_are_flattened_params_and_summary_keys(self, store: Store) -> None:
        a = store.create_run(
            project="p",
            config={"chunker": {"size": 512, "overlap": 0}, "lr": 0.1, "stops": [1, 2], "x": {}},
        )
        store.log_metrics(a.id, {"train/loss": _series([1.0, 0.5])})
        b = store.create_run(project="p", config={"chunker": {"size": 256}, "model": None})
        # Explicit summary values are metric keys too, numeric or not.
        store.set_summary(b.id, {"recall@10": 0.7, "best_ckpt": "ckpt-3"})
        store.log_metrics(b.id, {"train/loss": _series([2.0])})
        store.create_run(project="p")
        store.create_run(project="other", config={"elsewhere": 1})
        store.set_summary(store.create_run(project="other").id, {"other_metric": 1.0})
        assert store.list_run_keys("p") == RunKeys(
            params=("chunker.overlap", "chunker.size", "lr", "model", "stops", "x"),
            metrics=("best_ckpt", "recall@10", "train/loss"),
        )

    def test_run_keys_of_one_experiment(self, store: Store) -> None:
        a = store.create_run(project="p", experiment="a", config={"k": 1})
        store.set_summary(a.id, {"m_a": 1.0})
        b = store.create_run(project="p", experiment="b", config={"j": 1})
        store.log_metrics(b.id, {"m_b": _series([1.0])})
        store.create_run(project="p", config={"loose": 1})
        store.create_experiment("p", "empty")
        assert store.list_run_keys("p", "a") == RunKeys(("k",), ("m_a",))
        assert store.list_run_keys("p", "b") == RunKeys(("j",), ("m_b",))
        assert store.list_run_keys("p", "empty") == RunKeys((), ())
        assert store.list_run_keys("p").params == ("j", "k", "loose")

    def test_run_keys_follow_writes_and_deletes(self, store: Store) -> None:
        a = store.create_run(project="p", experiment="e", config={"only_a": 1, "shared": 1})
        store.log_metrics(a.id, {"m_a": _series([1.0])})
        b = store.create_run(project="p", config={"shared": 2, "leaf": 1})
        store.log_params(b.id, {"added": "x"})
        store.finish_run(b.id, status=RunStatus.COMPLETED, summary={"best": 1.0})
        assert store.list_run_keys("p") == RunKeys(
            ("added", "leaf", "only_a", "shared"), ("best", "m_a")
        )
        # The last run using a key goes, and the key goes with it.
        store.delete_run(a.id)
        assert store.list_run_keys("p") == RunKeys(("added", "leaf", "shared"), ("best",))
        assert store.list_run_keys("p", "e") == RunKeys((), ())
        # A param that becomes a dict of params is no longer a key itself.
        store.log_params(b.id, {"leaf": {"inner": 2}})
        assert store.list_run_keys("p").params == ("added", "leaf.inner", "shared")
        c = store.create_run(project="p", experiment="gone", config={"in_gone": 1})
        store.set_summary(c.id, {"m_gone": 2.0})
        assert store.list_run_keys("p", "gone") == RunKeys(("in_gone",), ("m_gone",))
        store.delete_experiment("p", "gone")
        assert store.list_run_keys("p") == RunKeys(("added", "leaf.inner", "shared"), ("best",))
        # Keys come back when a run uses them again.
        d = store.create_run(project="p", config={"only_a": 3})
        store.log_metrics(d.id, {"m_a": _series([2.0])})
        assert store.list_run_keys("p") == RunKeys(
            ("added", "leaf.inner", "only_a", "shared"), ("best", "m_a")
        )

    def test_run_keys_of_unknown_project_or_experiment(self, store: Store) -> None:
        store.create_project("empty")
        assert store.list_run_keys("empty") == RunKeys((), ())
        store.create_run(project="q", experiment="elsewhere")
        with pytest.raises(ProjectNotFoundError):
            store.list_run_keys("nope")
        with pytest.raises(ProjectNotFoundError):
            store.list_run_keys("nope", "elsewhere")
        with pytest.raises(ExperimentNotFoundError):
            store.list_run_keys("empty", "elsewhere")  # it belongs to another project

    # -- aggregate_runs ----------------------------------------------------------------

    def test_groups_keep_the_param_type_and_order_by_value(self, store: Store) -> None:
        sizes: list[Any] = [1024, 512, "auto", 512, 512.0, None, True, 1, -3]
        for size in sizes:
            store.create_run(project="p", config={"chunker": {"size": size}})
        store.create_run(project="p", config={"lr": 0.1})  # without the param
        store.create_run(project="other", config={"chunker": {"size": 64}})
        groups = store.aggregate_runs("p", "chunker.size", [])
        # Numbers (booleans as 0/1) ascending, then strings, then the runs
        # without the param (JSON null counts as missing, as in filters).
        assert _values(groups) == [
            ("int", -3),
            ("bool", True),
            ("int", 1),
            ("int", 512),
            ("float", 512.0),
            ("int", 1024),
            ("str", "auto"),
            ("NoneType", None),
        ]
        assert [g.run_count for g in groups] == [1, 1, 1, 2, 1, 1, 1, 2]
        assert all(g.metrics == {} for g in groups)

    def test_values_that_read_alike_stay_apart(self, store: Store) -> None:
        # Types a param's stored text alone cannot tell apart.
        values: list[Any] = ["nan", math.nan, "inf", math.inf, "[1, 2]", [1, 2], "{}", {}, "true"]
        for value in [*values, False]:
            store.create_run(project="p", config={"v": value})
        groups = store.aggregate_runs("p", "v", [])
        assert _values(groups) == [
            ("bool", False),
            ("float", math.inf),
            ("float", "nan"),
            ("str", "[1, 2]"),
            ("str", "inf"),
            ("str", "nan"),
            ("str", "true"),
            ("str", "{}"),
            ("list", [1, 2]),
            ("dict", {}),
        ]
        assert {g.run_count for g in groups} == {1}

    def test_metric_statistics_per_group(self, store: Store) -> None:
        runs: list[tuple[Any, dict[str, Any]]] = [
            ("bge", {"recall": 0.5, "latency": 10.0}),
            ("bge", {"recall": 0.75, "latency": math.nan}),
            ("bge", {"recall": math.inf, "latency": "n/a"}),
            ("bge", {"recall": True}),
            ("e5", {"recall": 0.25}),
            (None, {"recall": 1.0, "latency": 3}),
        ]
        for model, summary in runs:
            config = {} if model is None else {"embedding": {"model": model}}
            store.set_summary(store.create_run(project="p", config=config).id, summary)
        logged = store.create_run(project="p", config={"embedding": {"model": "e5"}})
        store.log_metrics(logged.id, {"recall": _series([0.1, 0.35]), "latency": _series([5.0])})
        nan_last = store.create_run(project="p", config={"embedding": {"model": "e5"}})
        store.log_metrics(nan_last.id, {"recall": _series([0.9, math.nan])})

        groups = store.aggregate_runs("p", "embedding.model", ["recall", "latency", "nope"])
        assert [(g.value, g.run_count) for g in groups] == [("bge", 4), ("e5", 3), (None, 1)]
        bge, e5, missing = groups
        # Only finite numbers count: not NaN (logged last or explicit), not
        # infinity, not a bool or a string.
        assert _stats(bge, "recall") == (2, 0.625, 0.5, 0.75)
        assert _stats(bge, "latency") == (1, 10.0, 10.0, 10.0)
        assert _stats(e5, "recall") == (2, 0.3, 0.25, 0.35)
        assert _stats(e5, "latency") == (1, 5.0, 5.0, 5.0)
        assert _stats(missing, "latency") == (1, 3.0, 3.0, 3.0)
        # Every group lists every metric asked for, in that order.
        assert list(bge.metrics) == ["recall", "latency", "nope"]
        assert bge.metrics["nope"] == MetricAggregate(count=0, mean=None, min=None, max=None)

    def test_filter_selects_the_runs_to_group(self, store: Store) -> None:
        for i, (top_k, recall) in enumerate([(5, 0.2), (5, 0.4), (10, 0.6), (10, 0.8)]):
            run = store.create_run(
                project="p", config={"top_k": top_k, "lr": 0.1 * i}, tags=["keep"] if i else []
            )
            store.set_summary(run.id, {"recall": recall})
        groups = store.aggregate_runs("p", "top_k", ["recall"], filter="tags = 'keep'")
        assert [(g.value, g.run_count, _stats(g, "recall")) for g in groups] == [
            (5, 1, (1, 0.4, 0.4, 0.4)),
            (10, 2, (2, 0.7, 0.6, 0.8)),
        ]
        groups = store.aggregate_runs("p", "top_k", ["recall"], "metrics.recall >= 0.4")
        assert [g.run_count for g in groups] == [1, 2]
        assert store.aggregate_runs("p", "top_k", ["recall"], "params.lr > 10") == []
        assert len(store.aggregate_runs("p", "top_k", ["recall"], "  ")) == 2

    def test_aggregate_arguments_are_checked(self, store: Store) -> None:
        store.create_run(project="p", config={"k": 1})
        with pytest.raises(InvalidFilterError) as bad_filter:
            store.aggregate_runs("p", "k", ["m"], filter="params.lr < ")
        assert bad_filter.value.position >= 10
        assert bad_filter.value.field == "filter"
        bad: list[tuple[Any, Any, str]] = [
            ("", ["m"], "group_by"),
            (" k", ["m"], "group_by"),
            ("k", "recall", "metrics"),
            ("k", [""], "metrics"),
            ("k", ["m", "a\nb"], "metrics"),
            ("k", [f"m{i}" for i in range(51)], "metrics"),
        ]
        for group_by, metrics, field in bad:
            with pytest.raises(InvalidArgumentError) as info:
                store.aggregate_runs("p", group_by, metrics)
            assert info.value.field == field, (group_by, metrics)
        # 50 metrics are fine; a repeated metric counts once.
        groups = store.aggregate_runs("p", "k", [f"m{i}" for i in range(50)] + ["m0"])
        assert len(groups[0].metrics) == 50
        with pytest.raises(ProjectNotFoundError):
            store.aggregate_runs("nope", "k", ["m"])
