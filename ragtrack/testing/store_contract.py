"""The Store contract test suite. Every backend runs it.

Subclass :class:`StoreContract` in a test module and provide a ``store``
fixture returning a fresh, empty store (the tests of operations over many runs
come from :class:`~ragtrack.testing._contract_aggregates.RunAggregatesContract`,
those of bad input from :class:`~ragtrack.testing._contract_input.InputRulesContract`,
of param values from :class:`~ragtrack.testing._contract_params.ParamValuesContract`
and of search columns from :class:`~ragtrack.testing._contract_columns.RunColumnsContract`)::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore(tmp_path)
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from typing import Any

import numpy as np
import pytest

from ragtrack.entities import ExperimentMetric, MetricGoal, MetricSeries, RunStatus
from ragtrack.exceptions import (
    AlreadyExistsError,
    AmbiguousIdError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    InvalidFilterError,
    ProjectNotFoundError,
    RunNotFoundError,
)
from ragtrack.storage import Store
from ragtrack.testing._contract_aggregates import RunAggregatesContract
from ragtrack.testing._contract_columns import RunColumnsContract
from ragtrack.testing._contract_input import InputRulesContract
from ragtrack.testing._contract_params import ParamValuesContract


def series(steps: list[int], values: list[float], t0: float = 1.7e9) -> MetricSeries:
    return MetricSeries.from_lists(steps, values, [t0 + i for i in range(len(steps))])


class StoreContract(
    RunAggregatesContract, InputRulesContract, ParamValuesContract, RunColumnsContract
):
    """Behaviour every Store must show; see ``ragtrack/storage/_base.py``."""

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError("subclasses provide a fresh store")

    # -- runs -----------------------------------------------------------------------

    def test_create_and_get_run(self, store: Store) -> None:
        run = store.create_run(
            project="p",
            experiment="e",
            name="first",
            config={"lr": 0.1},
            tags=["b", "a"],
            notes="n",
        )
        got = store.get_run(run.id)
        assert got == run
        assert (got.project, got.experiment, got.name, got.notes) == ("p", "e", "first", "n")
        assert got.status is RunStatus.RUNNING
        assert got.tags == ("a", "b")
        assert got.config == {"lr": 0.1}
        assert got.started_at is not None and got.ended_at is None

    def test_generated_names_and_ids_are_unique(self, store: Store) -> None:
        runs = [store.create_run(project="p") for _ in range(20)]
        assert len({r.id for r in runs}) == 20
        assert all(r.name for r in runs)

    def test_client_chosen_id_is_kept_and_not_duplicated(self, store: Store) -> None:
        store.create_run(project="p", run_id="my-run-1")
        assert store.get_run("my-run-1").id == "my-run-1"
        with pytest.raises(AlreadyExistsError, match="exists") as info:
            store.create_run(project="p", run_id="my-run-1")
        assert info.value.field == "run_id"
        assert store.count_runs("p") == 1

    @pytest.mark.parametrize("bad", ["", " x", "a\nb", "x" * 251])
    def test_bad_project_name_is_rejected(self, store: Store, bad: str) -> None:
        with pytest.raises(InvalidArgumentError, match="project"):
            store.create_run(project=bad)
        assert store.list_projects() == []

    def test_unknown_run_raises_not_found(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError):
            store.get_run("nope")
        with pytest.raises(RunNotFoundError):
            store.update_run("nope", status=RunStatus.COMPLETED)
        with pytest.raises(RunNotFoundError):
            store.log_metrics("nope", {"x": series([0], [1.0])})
        with pytest.raises(RunNotFoundError):
            store.log_params("nope", {"a": 1})
        with pytest.raises(RunNotFoundError):
            store.get_history("nope", "x")
        with pytest.raises(RunNotFoundError):
            store.delete_run("nope")
        with pytest.raises(RunNotFoundError):
            store.heartbeat("nope")
        with pytest.raises(RunNotFoundError):
            store.set_summary("nope", {"a": 1})
        with pytest.raises(RunNotFoundError):
            store.append_logs("nope", "stdout", "x")
        for batch in (None, {"x": series([0], [1.0])}):
            with pytest.raises(RunNotFoundError):
                store.finish_run(
                    "nope", status=RunStatus.COMPLETED, batch=batch, summary={"best": 1.0}
                )

    def test_resolve_run_id_by_prefix(self, store: Store) -> None:
        a = store.create_run(project="p", run_id="abcd1111")
        store.create_run(project="p", run_id="abcd2222")
        assert store.resolve_run_id("abcd1") == a.id
        assert store.resolve_run_id("abcd1111") == a.id
        with pytest.raises(AmbiguousIdError):
            store.resolve_run_id("abcd")
        with pytest.raises(RunNotFoundError):
            store.resolve_run_id("ffff")
        with pytest.raises(RunNotFoundError):
            store.resolve_run_id("ab%")
        short = store.create_run(project="p", run_id="ab")
        assert store.resolve_run_id("ab") == short.id
        with pytest.raises(InvalidArgumentError, match="4 or more"):
            store.resolve_run_id("abc")

    def test_queued_run_starts_when_set_running(self, store: Store) -> None:
        run = store.create_run(project="p", status=RunStatus.QUEUED, metadata={"host": "a"})
        assert run.started_at is None and store.get_run(run.id).status is RunStatus.QUEUED
        store.update_run(run.id, status=RunStatus.RUNNING)
        started = store.get_run(run.id)
        assert started.status is RunStatus.RUNNING and started.started_at is not None
        assert store.get_metadata(run.id) == {"host": "a"}

    def test_update_run_status_stamps_end(self, store: Store) -> None:
        run = store.create_run(project="p")
        store.update_run(run.id, status=RunStatus.FAILED, error="Traceback ...", notes="oops")
        got = store.get_run(run.id)
        assert got.status is RunStatus.FAILED
        assert got.error == "Traceback ..."
        assert got.notes == "oops"
        assert got.ended_at is not None and got.ended_at >= got.created_at
        assert got.duration is not None and got.duration >= 0

    def test_stale_heartbeat_reads_as_crashed(self, store: Store) -> None:
        run = store.create_run(project="p")
        store.heartbeat(run.id, at=time.time() - 10_000)
        assert store.get_run(run.id).status is RunStatus.CRASHED
        assert [r.id for r in store.search_runs("p", "status = 'crashed'")] == [run.id]
        store.heartbeat(run.id)
        assert store.get_run(run.id).status is RunStatus.RUNNING
        store.update_run(run.id, status=RunStatus.COMPLETED)
        store.heartbeat(run.id, at=time.time() - 10_000)
        assert store.get_run(run.id).status is RunStatus.COMPLETED

    def test_heartbeats_are_stamped_by_the_stores_clock(self, store: Store) -> None:
        before = time.time()
        ahead = before + 3600  # a client whose clock is an hour ahead
        run = store.create_run(project="p", status=RunStatus.RUNNING, created_at=ahead)
        beat = store.get_run(run.id).heartbeat_at
        assert beat is not None and before - 1 <= beat <= time.time() + 1
        store.heartbeat(run.id, at=ahead)  # never in the future
        beat = store.get_run(run.id).heartbeat_at
        assert beat is not None and beat <= time.time() + 1
        store.heartbeat(run.id)
        beat = store.get_run(run.id).heartbeat_at
        assert beat is not None and before - 1 <= beat <= time.time() + 1

    def test_a_live_heartbeat_from_a_clock_behind_is_stamped_now(self, store: Store) -> None:
        # Older SDKs send ``at=`` their own clock on every beat; one a little
        # behind must not have its run age towards "crashed" while it beats.
        run = store.create_run(project="p")
        before = time.time()
        store.heartbeat(run.id, at=before - 5)
        beat = store.get_run(run.id).heartbeat_at
        assert beat is not None and before - 1 <= beat <= time.time() + 1
        # An ``at`` older than the store's staleness limit is a recorded past
        # (a dead run copied between stores) and is kept as given.
        store.heartbeat(run.id, at=before - 10_000)
        assert store.get_run(run.id).heartbeat_at == pytest.approx(before - 10_000)
        assert store.get_run(run.id).status is RunStatus.CRASHED

    def test_a_live_run_started_by_a_clock_ahead_never_lasts_less_than_zero(
        self, store: Store
    ) -> None:
        # started_at is the client's clock, the heartbeat the store's.
        run = store.create_run(project="p", created_at=time.time() + 3600)
        assert store.get_run(run.id).duration == 0
        assert store.search_runs("p", "duration < 0") == []
        assert [r.id for r in store.search_runs("p", "duration = 0")] == [run.id]

    def test_tags(self, store: Store) -> None:
        run = store.create_run(project="p", tags=["a"])
        store.set_tags(run.id, add=["b", "a", "ünï"], remove=["a"])
        assert store.get_run(run.id).tags == ("b", "ünï")
        with pytest.raises(InvalidArgumentError, match="list of strings"):
            store.set_tags(run.id, add="abc")

    def test_delete_run_removes_everything(self, store: Store) -> None:
        run = store.create_run(project="p", config={"a": 1}, tags=["t"])
        store.log_metrics(run.id, {"x": series([0, 1], [1.0, 2.0])})
        store.append_logs(run.id, "stdout", "hi")
        keep = store.create_run(project="p")
        store.delete_run(run.id)
        with pytest.raises(RunNotFoundError):
            store.get_run(run.id)
        assert [r.id for r in store.search_runs("p")] == [keep.id]
        assert store.search_runs("p", "params.a = 1") == []

    # -- projects ---------------------------------------------------------------------

    def test_projects_and_experiments(self, store: Store) -> None:
        store.create_run(project="b", experiment="x")
        store.create_run(project="b", experiment="x")
        store.create_run(project="b", experiment="y")
        store.create_run(project="a")
        assert [(p.name, p.run_count) for p in store.list_projects()] == [("a", 1), ("b", 3)]
        assert [(e.name, e.run_count) for e in store.list_experiments("b")] == [("x", 2), ("y", 1)]
        with pytest.raises(ProjectNotFoundError):
            store.list_experiments("zzz")

    def test_create_and_get_project(self, store: Store) -> None:
        created = store.create_project("empty")
        assert (created.name, created.run_count) == ("empty", 0)
        assert store.get_project("empty") == created
        assert store.list_experiments("empty") == []
        store.create_run(project="busy")
        store.create_run(project="busy")
        assert store.get_project("busy").run_count == 2
        assert [p.name for p in store.list_projects()] == ["busy", "empty"]
        with pytest.raises(ProjectNotFoundError):
            store.get_project("nope")

    def test_duplicate_or_bad_project_is_rejected(self, store: Store) -> None:
        store.create_project("p")
        store.create_run(project="by-run")
        for name in ["p", "by-run"]:
            with pytest.raises(AlreadyExistsError, match=name):
                store.create_project(name)
        with pytest.raises(InvalidArgumentError, match="project") as info:
            store.create_project(" x")
        _assert_names_field(info.value, "name")
        with pytest.raises(InvalidArgumentError, match="project") as info:
            store.create_experiment("x\ty", "e")
        _assert_names_field(info.value, "project")
        assert [p.name for p in store.list_projects()] == ["by-run", "p"]

    # -- experiments -----------------------------------------------------------------

    def test_experiment_definition_round_trips(self, store: Store) -> None:
        hyper = {
            "lr": math.nan,
            "clip": math.inf,
            "floor": -math.inf,
            "grid": {"top_k": [5, 10, 20], "chunker": {"kind": "fixed", "size": 512}},
            "имя": "Ёлка ✓",
            "none": None,
        }
        created = store.create_experiment(
            "rag",
            "эксперимент ✓",
            description="compare chunkers 🙂",
            datasets=["s3://bucket/данные.jsonl", "msmarco-dev"],
            models=["bge-small-en", "hf://mistral"],
            hyperparameters=hyper,
            metrics=[
                ExperimentMetric("recall@10"),
                ExperimentMetric("latency_ms", MetricGoal.MIN),
            ],
            command="python train.py --lr 1e-3  # ü",
        )
        for got in (
            created,
            store.get_experiment("rag", "эксперимент ✓"),
            *store.list_experiments("rag"),
        ):
            assert (got.project, got.name, got.run_count) == ("rag", "эксперимент ✓", 0)
            assert got.description == "compare chunkers 🙂"
            assert got.datasets == ("s3://bucket/данные.jsonl", "msmarco-dev")
            assert got.models == ("bge-small-en", "hf://mistral")
            assert got.metrics == (
                ExperimentMetric("recall@10", MetricGoal.MAX),
                ExperimentMetric("latency_ms", MetricGoal.MIN),
            )
            assert got.command == "python train.py --lr 1e-3  # ü"
            assert got.created_at > 0
            stored = dict(got.hyperparameters)
            assert math.isnan(stored.pop("lr"))
            assert stored == {k: v for k, v in hyper.items() if k != "lr"}
        assert store.get_project("rag").run_count == 0  # created on first use

    def test_experiment_defaults_to_an_empty_definition(self, store: Store) -> None:
        created = store.create_experiment("p", "bare")
        store.create_run(project="p", experiment="implicit")
        for got in store.list_experiments("p"):
            assert (got.description, got.datasets, got.models) == ("", (), ())
            assert (dict(got.hyperparameters), got.metrics, got.command) == ({}, (), None)
        assert store.get_experiment("p", "bare") == created

    def test_duplicate_experiment_is_rejected(self, store: Store) -> None:
        store.create_experiment("p", "defined", datasets=["d"])
        store.create_run(project="p", experiment="implicit")
        for name in ["defined", "implicit"]:
            with pytest.raises(AlreadyExistsError, match=name) as info:
                store.create_experiment("p", name, models=["m"])
            assert info.value.field == "name"
        assert store.get_experiment("p", "defined").datasets == ("d",)
        assert store.get_experiment("p", "implicit").models == ()
        other = store.create_experiment("q", "defined")  # names are per project
        assert other.project == "q"

    @pytest.mark.parametrize(
        ("field", "kwargs"),
        [
            ("name", {"name": ""}),
            ("name", {"name": "a\nb"}),
            ("name", {"name": "x" * 251}),
            ("datasets", {"datasets": "msmarco"}),
            ("datasets", {"datasets": ["ok", ""]}),
            ("models", {"models": [1]}),
            ("hyperparameters", {"hyperparameters": {"x": object()}}),
            (
                "metrics",
                {"metrics": [ExperimentMetric("a"), ExperimentMetric("a", MetricGoal.MIN)]},
            ),
            ("metrics", {"metrics": [ExperimentMetric("")]}),
        ],
    )
    def test_bad_experiment_definition_names_the_field(
        self, store: Store, field: str, kwargs: dict[str, Any]
    ) -> None:
        args = {"name": "e", **kwargs}
        with pytest.raises(InvalidArgumentError) as info:
            store.create_experiment("p", **args)
        _assert_names_field(info.value, field)
        assert not isinstance(info.value, AlreadyExistsError)
        assert store.list_projects() == []
        before = store.create_experiment("p", "e")
        if field != "name":
            with pytest.raises(InvalidArgumentError) as info:
                store.update_experiment("p", "e", **kwargs)
            _assert_names_field(info.value, field)
            assert store.get_experiment("p", "e") == before

    def test_unknown_experiment_or_project_raises_not_found(self, store: Store) -> None:
        store.create_run(project="p", experiment="e")
        for project, name, error in [
            ("p", "nope", ExperimentNotFoundError),
            ("nope", "e", ProjectNotFoundError),
        ]:
            with pytest.raises(error):
                store.get_experiment(project, name)
            with pytest.raises(error):
                store.update_experiment(project, name, description="x")
            with pytest.raises(error):
                store.delete_experiment(project, name)
        assert store.get_experiment("p", "e").run_count == 1

    def test_update_experiment_replaces_each_given_field(self, store: Store) -> None:
        created = store.create_experiment(
            "p",
            "e",
            description="d0",
            datasets=["d0"],
            models=["m0"],
            hyperparameters={"lr": 0.1, "grid": {"k": [1, 2]}},
            metrics=[ExperimentMetric("acc")],
            command="run v0",
        )
        changes: list[dict[str, Any]] = [
            {"description": "d1 ✓"},
            {"datasets": ["d1", "d2"]},
            {"models": []},
            {"hyperparameters": {"grid": {"k": [3]}}},  # replaced, not merged
            {"metrics": [ExperimentMetric("loss", MetricGoal.MIN)]},
            {"command": "run v1"},
        ]
        expected = created
        last_update = created.created_at
        for change in changes:
            updated = store.update_experiment("p", "e", **change)
            assert updated.updated_at is not None and updated.updated_at >= last_update
            last_update = updated.updated_at
            fields: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in change.items()
            }
            expected = dataclasses.replace(expected, **fields, updated_at=updated.updated_at)
            assert updated == expected
            assert store.get_experiment("p", "e") == expected
        assert store.update_experiment("p", "e", clear_command=True).command is None
        assert store.get_experiment("p", "e").command is None
        untouched = store.update_experiment("p", "e")
        assert untouched.datasets == ("d1", "d2") and dict(untouched.hyperparameters) == {
            "grid": {"k": [3]}
        }
        assert untouched.created_at == created.created_at

    def test_run_created_experiment_can_be_defined_by_update(self, store: Store) -> None:
        run = store.create_run(project="p", experiment="e")
        updated = store.update_experiment(
            "p", "e", hyperparameters={"lr": math.inf}, metrics=[ExperimentMetric("mrr")]
        )
        assert updated.run_count == 1
        assert dict(updated.hyperparameters) == {"lr": math.inf}
        assert store.get_run(run.id).experiment == "e"

    def test_rename_experiment_moves_its_runs(self, store: Store) -> None:
        store.create_experiment("p", "old", datasets=["d"])
        run = store.create_run(project="p", experiment="old")
        store.create_experiment("p", "taken")
        with pytest.raises(AlreadyExistsError, match="taken") as info:
            store.update_experiment("p", "old", new_name="taken", description="lost")
        assert info.value.field == "name"
        assert store.get_experiment("p", "old").description == ""
        with pytest.raises(InvalidArgumentError):
            store.update_experiment("p", "old", new_name=" bad")
        assert store.update_experiment("p", "old", new_name="old").name == "old"
        renamed = store.update_experiment("p", "old", new_name="новое")
        assert (renamed.name, renamed.run_count, renamed.datasets) == ("новое", 1, ("d",))
        assert store.get_run(run.id).experiment == "новое"
        with pytest.raises(ExperimentNotFoundError):
            store.get_experiment("p", "old")
        assert [e.name for e in store.list_experiments("p")] == ["taken", "новое"]
        store.create_experiment("p", "old")  # the old name is free again

    def test_delete_experiment_deletes_its_runs_and_only_those(self, store: Store) -> None:
        store.create_experiment("p", "doomed", datasets=["d"])
        doomed = [
            store.create_run(
                project="p", experiment="doomed", run_id=f"doomed-{i}", config={"x": 1}, tags=["t"]
            )
            for i in range(2)
        ]
        for run in doomed:
            store.log_metrics(run.id, {"m": series([0, 1], [1.0, 2.0])}, batch_id="metrics-1")
            store.append_logs(run.id, "stdout", "old\n", batch_id="logs-1")
            store.set_summary(run.id, {"best": 2.0})
        kept = store.create_run(project="p", experiment="kept", config={"x": 1})
        store.log_metrics(kept.id, {"m": series([0], [5.0])})
        loose = store.create_run(project="p")
        assert store.get_experiment("p", "doomed").run_count == 2

        assert store.delete_experiment("p", "doomed") == 2

        for run in doomed:
            with pytest.raises(RunNotFoundError):
                store.get_run(run.id)
            with pytest.raises(RunNotFoundError):
                store.get_history(run.id, "m")
        with pytest.raises(ExperimentNotFoundError):
            store.get_experiment("p", "doomed")
        assert [e.name for e in store.list_experiments("p")] == ["kept"]
        assert {r.id for r in store.search_runs("p")} == {kept.id, loose.id}
        assert [r.id for r in store.search_runs("p", "params.x = 1")] == [kept.id]
        assert store.get_history(kept.id, "m").values.tolist() == [5.0]
        assert store.get_project("p").run_count == 2
        # Nothing of the deleted runs is left behind: the same ids start afresh.
        again = store.create_run(project="p", experiment="doomed", run_id="doomed-0")
        store.log_metrics(again.id, {"m": series([7], [7.0])}, batch_id="metrics-1")
        store.append_logs(again.id, "stdout", "new\n", batch_id="logs-1")
        assert store.get_history(again.id, "m").steps.tolist() == [7]
        assert store.read_logs(again.id) == "new\n"
        fresh = store.get_run(again.id)
        assert (fresh.config, fresh.tags, fresh.summary) == ({}, (), {"m": 7.0})
        assert store.get_experiment("p", "doomed").datasets == ()

    def test_delete_empty_experiment_returns_zero(self, store: Store) -> None:
        store.create_experiment("p", "e")
        assert store.delete_experiment("p", "e") == 0
        assert store.list_experiments("p") == []
        assert store.get_project("p").run_count == 0

    # -- params, summary, metadata ---------------------------------------------------------

    def test_log_params_deep_merges(self, store: Store) -> None:
        run = store.create_run(project="p", config={"retriever": {"top_k": 5, "k2": 1}, "lr": 0.1})
        store.log_params(run.id, {"retriever": {"top_k": 10}, "seed": 7})
        assert store.get_run(run.id).config == {
            "retriever": {"top_k": 10, "k2": 1},
            "lr": 0.1,
            "seed": 7,
        }
        assert [r.id for r in store.search_runs("p", "params.retriever.top_k = 10")] == [run.id]

    def test_params_accept_numpy_and_reject_objects(self, store: Store) -> None:
        run = store.create_run(project="p", config={"n": np.int64(3), "arr": np.arange(2)})
        assert store.get_run(run.id).config == {"n": 3, "arr": [0, 1]}
        with pytest.raises(InvalidArgumentError, match="obj"):
            store.log_params(run.id, {"obj": object()})
        assert store.get_run(run.id).config == {"n": 3, "arr": [0, 1]}

    def test_explicit_summary_overrides_until_logged_again(self, store: Store) -> None:
        run = store.create_run(project="p")
        store.log_metrics(run.id, {"acc": series([0, 1], [0.5, 0.7])})
        store.set_summary(run.id, {"acc": 0.9, "best_model": "ckpt-3"})
        got = store.get_run(run.id)
        assert got.summary == {"acc": 0.9, "best_model": "ckpt-3"}
        assert got.metrics["acc"].last == 0.7
        assert [r.id for r in store.search_runs("p", "metrics.acc > 0.8")] == [run.id]
        store.log_metrics(run.id, {"acc": series([2], [0.6])})
        assert store.get_run(run.id).summary["acc"] == 0.6

    def test_metadata_merges(self, store: Store) -> None:
        run = store.create_run(project="p")
        store.set_metadata(run.id, {"git": {"commit": "abc"}, "os": "linux"})
        store.set_metadata(run.id, {"os": "mac", "hardware": {"cpus": 2}})
        assert store.get_metadata(run.id) == {
            "git": {"commit": "abc"},
            "os": "mac",
            "hardware": {"cpus": 2},
        }

    # -- metrics ------------------------------------------------------------------------

    def test_history_round_trip_with_nan_and_inf(self, store: Store) -> None:
        run = store.create_run(project="p")
        values = [1.0, math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324]
        s = series(list(range(7)), values)
        store.log_metrics(run.id, {"loss": s})
        got = store.get_history(run.id, "loss")
        assert got.steps.tolist() == list(range(7))
        assert np.array_equal(got.values, np.array(values), equal_nan=True)
        assert np.allclose(got.timestamps, s.timestamps, rtol=0, atol=1e-6)
        summary = store.get_run(run.id).metrics["loss"]
        assert (summary.count, summary.min, summary.max) == (7, -math.inf, math.inf)
        assert summary.last == 5e-324 and summary.last_step == 6

    def test_all_nan_series_summary(self, store: Store) -> None:
        run = store.create_run(project="p")
        store.log_metrics(run.id, {"x": series([0, 1], [math.nan, math.nan])})
        summary = store.get_run(run.id).metrics["x"]
        assert summary.count == 2
        assert math.isnan(summary.min) and math.isnan(summary.max) and math.isnan(summary.last)

    def test_many_small_batches_and_large_batches_concatenate(self, store: Store) -> None:
        run = store.create_run(project="p")
        expected = []
        step = 0
        for size in [1, 3, 1000, 40_000, 7, 1, 20_000]:
            vals = np.random.default_rng(size).normal(size=size)
            steps = np.arange(step, step + size)
            store.log_metrics(
                run.id, {"m": MetricSeries(steps, vals, 1.7e9 + steps.astype(np.float64))}
            )
            expected.append(vals)
            step += size
        got = store.get_history(run.id, "m")
        want = np.concatenate(expected)
        assert got.steps.tolist() == list(range(step))
        assert np.array_equal(got.values, want)
        s = store.get_run(run.id).metrics["m"]
        assert (s.count, s.min, s.max, s.last) == (step, want.min(), want.max(), want[-1])

    def test_irregular_steps_and_out_of_order_steps(self, store: Store) -> None:
        run = store.create_run(project="p")
        store.log_metrics(run.id, {"m": series([10, 3, 2**40, -5], [1.0, 2.0, 3.0, 4.0])})
        store.log_metrics(run.id, {"m": series([3], [5.0])})
        got = store.get_history(run.id, "m")
        assert got.steps.tolist() == [-5, 3, 3, 10, 2**40]
        assert got.values.tolist() == [4.0, 2.0, 5.0, 1.0, 3.0]
        assert store.get_run(run.id).metrics["m"].last == 5.0

    def test_batch_ids_make_writes_idempotent(self, store: Store) -> None:
        run = store.create_run(project="p")
        batch = {"a": series([0, 1], [1.0, 2.0]), "b": series([0], [3.0])}
        for _ in range(3):
            store.log_metrics(run.id, batch, batch_id="batch-1")
        store.log_metrics(run.id, {"a": series([2], [4.0])}, batch_id="batch-2")
        assert store.get_history(run.id, "a").values.tolist() == [1.0, 2.0, 4.0]
        assert store.get_run(run.id).metrics["a"].count == 3

    def test_bad_key_rejects_whole_batch(self, store: Store) -> None:
        run = store.create_run(project="p")
        with pytest.raises(InvalidArgumentError, match="control character"):
            store.log_metrics(run.id, {"good": series([0], [1.0]), "b\ad": series([0], [1.0])})
        assert store.list_metric_keys(run.id) == []

    def test_unicode_and_punctuated_keys(self, store: Store) -> None:
        run = store.create_run(project="p")
        keys = ["recall@10", "eval/ndcg@5", "loss.train", "точность", "精度 top-1", "a:b+c%"]
        store.log_metrics(run.id, {k: series([0], [float(i)]) for i, k in enumerate(keys)})
        assert store.list_metric_keys(run.id) == sorted(keys)
        for i, k in enumerate(keys):
            assert store.get_history(run.id, k).values.tolist() == [float(i)]

    def test_unknown_key_gives_empty_history(self, store: Store) -> None:
        run = store.create_run(project="p")
        assert len(store.get_history(run.id, "missing")) == 0

    def test_concurrent_writers_on_different_runs(self, store: Store) -> None:
        runs = [store.create_run(project="p") for _ in range(4)]
        errors: list[BaseException] = []

        def work(run_id: str) -> None:
            try:
                for i in range(20):
                    store.log_metrics(run_id, {"x": series([i], [float(i)])})
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(r.id,)) for r in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        for r in runs:
            assert store.get_history(r.id, "x").values.tolist() == [float(i) for i in range(20)]

    # -- search ------------------------------------------------------------------------

    def test_search_filters_orders_and_pages(self, store: Store) -> None:
        ids = []
        for i in range(6):
            run = store.create_run(
                project="p", config={"lr": 10.0**-i, "model": "bert" if i % 2 else "t5"}
            )
            store.log_metrics(run.id, {"recall@10": series([0, 1], [0.1 * i, 0.1 * i + 0.05])})
            ids.append(run.id)
        store.create_run(project="other", config={"lr": 1e-9})
        found = store.search_runs(
            "p", "params.lr < 0.01 and metrics.recall@10 > 0.3", order_by="-metrics.recall@10"
        )
        assert [r.id for r in found] == [ids[5], ids[4], ids[3]]
        assert store.count_runs("p", "params.lr < 0.01 and metrics.recall@10 > 0.3") == 3
        page = store.search_runs("p", order_by="metrics.recall@10", limit=2, offset=1)
        assert [r.id for r in page] == [ids[1], ids[2]]
        assert [r.id for r in store.search_runs("p", "params.model = 'bert'", "params.lr")] == [
            ids[5],
            ids[3],
            ids[1],
        ]
        assert store.count_runs() == 7

    def test_contains_folds_case_in_every_alphabet(self, store: Store) -> None:
        a = store.create_run(project="p", name="Ёлка-Über", config={"model": "ModèLE-É"})
        store.create_run(project="p", name="other", config={"model": "bert"})
        assert [r.id for r in store.search_runs("p", 'name contains "ёлка-über"')] == [a.id]
        assert [r.id for r in store.search_runs("p", 'params.model contains "modèle-é"')] == [a.id]

    def test_default_order_is_newest_first(self, store: Store) -> None:
        a = store.create_run(project="p", created_at=1000.0)
        b = store.create_run(project="p", created_at=2000.0)
        assert [r.id for r in store.search_runs("p")] == [b.id, a.id]

    def test_bad_filter_names_position(self, store: Store) -> None:
        with pytest.raises(InvalidFilterError) as info:
            store.search_runs("p", "params.lr < ")
        assert info.value.position >= 10

    @pytest.mark.parametrize("limit", [-1, 1.5, "10", True, 2**64])
    def test_bad_limit_and_offset_are_rejected(self, store: Store, limit: object) -> None:
        with pytest.raises(InvalidArgumentError, match="limit"):
            store.search_runs("p", limit=limit)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="offset"):
            store.search_runs("p", offset=limit)  # type: ignore[arg-type]

    # -- logs -------------------------------------------------------------------------

    def test_logs_keep_order_and_streams(self, store: Store) -> None:
        run = store.create_run(project="p")
        store.append_logs(run.id, "stdout", "hello\n")
        store.append_logs(run.id, "stderr", "warn ✓\n")
        store.append_logs(run.id, "stdout", "bye\n")
        assert store.read_logs(run.id) == "hello\nwarn ✓\nbye\n"
        assert store.read_logs(run.id, "stdout") == "hello\nbye\n"
        with pytest.raises(InvalidArgumentError, match="stream"):
            store.append_logs(run.id, "stdin", "x")

    def test_logs_read_from_an_offset(self, store: Store) -> None:
        run = store.create_run(project="p")
        store.append_logs(run.id, "stdout", "hello\n")
        store.append_logs(run.id, "stderr", "warn ✓\n")
        store.append_logs(run.id, "stdout", "bye\n")
        text = "hello\nwarn ✓\nbye\n"
        for offset in range(len(text) + 2):  # inside, at and past each chunk's end
            assert store.read_logs(run.id, offset=offset) == text[offset:], offset
        stdout = "hello\nbye\n"
        for offset in (0, 3, 6, 9, 10, 11):
            assert store.read_logs(run.id, "stdout", offset=offset) == stdout[offset:], offset
        # A tail reader keeps its offset and reads each character once.
        seen = store.read_logs(run.id)
        store.append_logs(run.id, "stderr", "ünï\n")
        assert store.read_logs(run.id, offset=len(seen)) == "ünï\n"
        for bad in (-1, 1.5, True, "3"):
            with pytest.raises(InvalidArgumentError, match="offset"):
                store.read_logs(run.id, offset=bad)  # type: ignore[arg-type]
        with pytest.raises(RunNotFoundError):
            store.read_logs("nope", offset=3)

    def test_log_batch_ids_make_appends_idempotent(self, store: Store) -> None:
        run = store.create_run(project="p")
        for _ in range(3):
            store.append_logs(run.id, "stdout", "once\n", batch_id="log-1")
        store.append_logs(run.id, "stderr", "twice\n", batch_id="log-2")
        store.append_logs(run.id, "stderr", "twice\n", batch_id="log-2")
        store.append_logs(run.id, "stdout", "no id\n")
        store.append_logs(run.id, "stdout", "no id\n")
        assert store.read_logs(run.id) == "once\ntwice\nno id\nno id\n"
        other = store.create_run(project="p")  # batch ids are per run
        store.append_logs(other.id, "stdout", "once\n", batch_id="log-1")
        assert store.read_logs(other.id) == "once\n"
        with pytest.raises(RunNotFoundError):
            store.append_logs("nope", "stdout", "x", batch_id="log-3")

    def test_concurrent_writers_on_one_run_and_key(self, store: Store) -> None:
        # Several writers appending to one series must not lose or clash points
        # (the tail chunk is rewritten on append).
        run = store.create_run(project="p")
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                for i in range(15):
                    store.log_metrics(run.id, {"x": series([worker * 100 + i], [float(worker)])})
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        history = store.get_history(run.id, "x")
        assert sorted(history.steps.tolist()) == sorted(
            w * 100 + i for w in range(4) for i in range(15)
        )
        assert store.get_run(run.id).metrics["x"].count == 60


def _assert_names_field(error: InvalidArgumentError, field: str) -> None:
    """The error names ``field`` or a path inside it (``hyperparameters.lr``)."""
    assert error.field == field or (error.field or "").startswith(f"{field}."), error.field
