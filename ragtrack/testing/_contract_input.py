"""The Store contract for input at the boundary (see ``ragtrack/storage/_input.py``):
NUL and control characters, times and numbers out of range, and all-or-nothing
updates. Part of :class:`~ragtrack.testing.store_contract.StoreContract`; kept
apart because the contract module is long enough without it.

Every backend gives the same answer: PostgreSQL cannot store NUL at all, so
SQLite and the REST API refuse (or, for captured text, replace) it too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage import Store

NUL = "a\x00b"
#: What a NUL in captured text (console output, errors, metadata) reads back as.
REPLACED = "a\ufffdb"

#: Times no store accepts: a millisecond epoch, far future and past, NaN, a bool.
BAD_TIMES: list[Any] = [1733300000000, 1e300, -1e300, -1.0, math.nan, math.inf, False, True]


def _series(t0: float = 1.7e9) -> MetricSeries:
    return MetricSeries.from_lists([0, 1], [1.0, 2.0], [t0, t0 + 1])


def _refused(call: Callable[[], object], field: str) -> InvalidArgumentError:
    """``call`` raises InvalidArgumentError naming ``field`` (a server may say
    ``body.field``: the request body's field of that name)."""
    with pytest.raises(InvalidArgumentError) as info:
        call()
    got = info.value.field or ""
    assert got.removeprefix("body.") == field, (got, info.value.message)
    return info.value


class InputRulesContract:
    """Bad input is refused with an error naming the field, and nothing of it is stored."""

    # -- NUL and control characters --------------------------------------------------

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"notes": NUL}, "notes"),
            ({"config": {"model": NUL}}, "config.model"),
            ({"config": {"retriever": {NUL: 1}}}, "config.retriever"),
            ({"config": {"stops": ["x", NUL]}}, "config.stops"),
            ({"name": NUL}, "name"),
            ({"tags": ["ok", NUL]}, "tags"),
            ({"experiment": NUL}, "experiment"),
            ({"run_id": NUL}, "run_id"),
        ],
    )
    def test_nul_in_a_new_run_is_refused(
        self, store: Store, kwargs: dict[str, Any], field: str
    ) -> None:
        error = _refused(lambda: store.create_run(project="p", **kwargs), field)
        assert "NUL" in error.message or "control character" in error.message
        assert store.count_runs() == 0
        assert store.create_run(project="p").project == "p"  # a good write still goes

    def test_nul_in_a_run_update_is_refused_and_changes_nothing(self, store: Store) -> None:
        run = store.create_run(project="p", config={"lr": 0.1}, notes="first")
        _refused(lambda: store.update_run(run.id, notes=NUL), "notes")
        _refused(lambda: store.update_run(run.id, name=NUL), "name")
        _refused(lambda: store.log_params(run.id, {"model": {"name": NUL}}), "config.model.name")
        _refused(lambda: store.set_summary(run.id, {"best": NUL}), "best")
        _refused(lambda: store.set_summary(run.id, {"best": {"x": [NUL]}}), "best.x")
        _refused(lambda: store.set_tags(run.id, add=[NUL]), "tags")
        got = store.get_run(run.id)
        assert (got.notes, got.config, got.explicit_summary, got.tags) == (
            "first",
            {"lr": 0.1},
            {},
            (),
        )

    def test_nul_in_an_experiment_is_refused(self, store: Store) -> None:
        _refused(lambda: store.create_experiment("p", "e", description=NUL), "description")
        _refused(lambda: store.create_experiment("p", "e", command=NUL), "command")
        _refused(lambda: store.create_experiment("p", "e", datasets=[NUL]), "datasets")
        _refused(
            lambda: store.create_experiment("p", "e", hyperparameters={"lr": [NUL]}),
            "hyperparameters.lr",
        )
        _refused(lambda: store.create_experiment("p", NUL), "name")
        store.create_experiment("p", "e", description="kept")
        _refused(lambda: store.update_experiment("p", "e", description=NUL), "description")
        assert store.get_experiment("p", "e").description == "kept"

    def test_control_characters_in_ids_and_names_of_lookups_are_refused(self, store: Store) -> None:
        run = store.create_run(project="p", experiment="e")
        for bad in (NUL, "a\nb", "a\x7f"):
            _refused(partial(store.get_run, bad), "run_id")
            _refused(partial(store.resolve_run_id, bad), "run_id")
            _refused(partial(store.update_run, bad, notes="x"), "run_id")
            _refused(partial(store.delete_run, bad), "run_id")
            _refused(partial(store.log_metrics, bad, {"x": _series()}), "run_id")
            _refused(partial(store.read_logs, bad), "run_id")
            _refused(partial(store.get_metadata, bad), "run_id")
            _refused(partial(store.get_history, run.id, bad), "key")
            _refused(partial(store.get_project, bad), "project")
            _refused(partial(store.list_experiments, bad), "project")
            _refused(partial(store.get_experiment, "p", bad), "experiment")
            _refused(partial(store.search_runs, bad), "project")
            _refused(partial(store.count_runs, bad), "project")
            _refused(partial(store.list_run_keys, "p", bad), "experiment")
        _refused(lambda: store.search_runs("p", f"params.x = '{NUL}'"), "filter")
        assert store.get_run(run.id).id == run.id

    def test_any_valid_run_id_is_reachable(self, store: Store) -> None:
        # Ids that read like routes of the REST API are ids like any other.
        for run_id in ("count", "run-ids"):
            store.create_run(project="p", run_id=run_id, name=f"named-{run_id}")
            assert store.get_run(run_id).name == f"named-{run_id}"
        assert store.count_runs("p") == 2

    def test_nul_in_a_batch_id_is_refused(self, store: Store) -> None:
        run = store.create_run(project="p")
        _refused(lambda: store.log_metrics(run.id, {"x": _series()}, batch_id=NUL), "batch_id")
        _refused(lambda: store.append_logs(run.id, "stdout", "hi", batch_id=NUL), "batch_id")
        assert len(store.get_history(run.id, "x")) == 0
        assert store.read_logs(run.id) == ""

    def test_nul_in_captured_text_is_kept_as_a_replacement_character(self, store: Store) -> None:
        # Refusing console output or a traceback would lose what the job printed.
        run = store.create_run(project="p", metadata={"git": {"diff": NUL}})
        store.append_logs(run.id, "stdout", f"step 1 {NUL}\n")
        store.append_logs(run.id, "stdout", "step 2\n")
        store.set_metadata(run.id, {NUL: NUL})
        store.update_run(run.id, status=RunStatus.FAILED, error=f"Traceback {NUL}")
        assert store.read_logs(run.id) == f"step 1 {REPLACED}\nstep 2\n"
        assert store.get_metadata(run.id) == {"git": {"diff": REPLACED}, REPLACED: REPLACED}
        assert store.get_run(run.id).error == f"Traceback {REPLACED}"
        other = store.create_run(project="p")
        store.finish_run(other.id, status=RunStatus.FAILED, error=NUL)
        assert store.get_run(other.id).error == REPLACED

    # -- times and numbers -----------------------------------------------------------------

    @pytest.mark.parametrize("bad", BAD_TIMES, ids=repr)
    def test_times_out_of_range_are_refused(self, store: Store, bad: Any) -> None:
        _refused(lambda: store.create_run(project="p", created_at=bad), "created_at")
        assert store.count_runs() == 0
        run = store.create_run(project="p", created_at=1733300000)
        _refused(lambda: store.update_run(run.id, ended_at=bad), "ended_at")
        _refused(lambda: store.heartbeat(run.id, at=bad), "at")
        got = store.get_run(run.id)
        assert got.created_at == 1733300000.0 and got.ended_at is None

    @pytest.mark.parametrize("bad", [1e300, -1e300, 1733300000000.0, math.nan])
    def test_metric_timestamps_out_of_range_are_refused(self, store: Store, bad: float) -> None:
        run = store.create_run(project="p")
        batch = {"ok": _series(), "x": MetricSeries.from_lists([0], [1.0], [bad])}
        error = _refused(lambda: store.log_metrics(run.id, batch), "x")
        assert "timestamps" in error.message
        assert len(store.get_history(run.id, "ok")) == 0  # the whole batch was refused
        store.log_metrics(run.id, {"x": _series()})
        assert store.get_history(run.id, "x").timestamps.tolist() == [1.7e9, 1.7e9 + 1]

    def test_extreme_times_in_range_round_trip(self, store: Store) -> None:
        run = store.create_run(project="p", created_at=0)
        last = 253402300799.0  # 9999-12-31T23:59:59Z
        store.log_metrics(run.id, {"x": MetricSeries.from_lists([0, 1], [1.0, 2.0], [0.0, last])})
        store.update_run(run.id, ended_at=last)
        got = store.get_run(run.id)
        assert (got.created_at, got.ended_at) == (0.0, last)
        assert store.get_history(run.id, "x").timestamps.tolist() == [0.0, last]

    def test_summary_number_too_large_for_a_float_is_refused(self, store: Store) -> None:
        run = store.create_run(project="p")
        error = _refused(lambda: store.set_summary(run.id, {"big": 10**400}), "big")
        assert "too large" in error.message
        store.set_summary(run.id, {"big": 10**300, "text": str(10**400)})
        assert store.get_run(run.id).explicit_summary == {"big": 10**300, "text": str(10**400)}

    # -- all or nothing ------------------------------------------------------------------------

    def test_edit_run_is_all_or_nothing(self, store: Store) -> None:
        run = store.create_run(project="p", name="first", tags=["old"], notes="n")
        _refused(
            lambda: store.edit_run(run.id, name="a\nb", add_tags=["new"], remove_tags=["old"]),
            "name",
        )
        _refused(lambda: store.edit_run(run.id, notes="changed", add_tags=["ok", NUL]), "tags")
        _refused(
            lambda: store.edit_run(run.id, notes="changed", ended_at=1e300, add_tags=["new"]),
            "ended_at",
        )
        got = store.get_run(run.id)
        assert (got.name, got.notes, got.tags, got.ended_at) == ("first", "n", ("old",), None)
        store.edit_run(
            run.id, status=RunStatus.COMPLETED, name="second", add_tags=["new"], remove_tags=["old"]
        )
        got = store.get_run(run.id)
        assert (got.status, got.name, got.tags) == (RunStatus.COMPLETED, "second", ("new",))
        assert got.ended_at is not None
