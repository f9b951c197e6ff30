"""Copying runs between stores (storage/_transfer.py), SQLite to SQLite.

The REST path is covered end to end in tests/e2e/test_server_restart.py.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

import pytest

from ragtrack.entities import ExperimentMetric, MetricGoal, MetricSeries, RunStatus
from ragtrack.exceptions import StoreUnavailableError
from ragtrack.storage import Store, _transfer, open_store
from ragtrack.storage._transfer import copy_runs
from ragtrack.storage.artifacts import ArtifactInfo, LocalArtifactStore
from ragtrack.storage.sql import SqlStore
from ragtrack.testing.store_contract import series


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Store]:
    s = open_store(dir=tmp_path / "source")
    yield s
    s.close()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Store]:
    s = SqlStore(f"sqlite:///{tmp_path / 'target.db'}")
    yield s
    s.close()


def fill(store: Store) -> dict[str, str]:
    """Runs of every kind; their ids by name."""
    store.create_experiment(
        "search",
        "chunking",
        description="chunk sizes",
        datasets=["msmarco"],
        metrics=[ExperimentMetric("recall@10", MetricGoal.MAX)],
    )
    ids = {}
    done = store.create_run(
        project="search",
        experiment="chunking",
        name="done",
        config={"chunk": {"size": 512}, "lr": math.nan},
        tags=["baseline", "b"],
        notes="first",
        created_at=1.7e9,
        metadata={"git": {"commit": "abc"}},
    )
    ids["done"] = done.id
    store.log_metrics(done.id, {"loss": series(list(range(50)), [1 / (i + 1) for i in range(50)])})
    store.log_metrics(
        done.id,
        {"odd": series([0, 1, 2], [math.nan, math.inf, -math.inf]), "loss": series([50], [0.01])},
    )
    store.append_logs(done.id, "stdout", "epoch 1\n")
    store.append_logs(done.id, "stderr", "warning\n")
    store.append_logs(done.id, "stdout", "epoch 2\n")
    store.set_summary(done.id, {"best": 0.9, "nan": math.nan})
    store.finish_run(done.id, status=RunStatus.COMPLETED)
    store.update_run(done.id, ended_at=1.7e9 + 100)

    failed = store.create_run(project="search", name="failed", created_at=1.7e9 + 10)
    ids["failed"] = failed.id
    store.finish_run(failed.id, status=RunStatus.FAILED, error="Traceback: boom")

    live = store.create_run(project="other", name="live")
    ids["live"] = live.id
    store.log_metrics(live.id, {"x": series([0, 1], [1.0, 2.0])})

    dead = store.create_run(project="other", name="dead", created_at=time.time() - 3600)
    store.heartbeat(dead.id, at=time.time() - 3600)  # its process died an hour ago
    ids["dead"] = dead.id
    return ids


def assert_same(source: Store, target: Store, run_id: str) -> None:
    a, b = source.get_run(run_id), target.get_run(run_id)
    fields = ("project", "experiment", "name", "status", "created_at", "ended_at", "error")
    for f in fields:
        assert getattr(a, f) == getattr(b, f), f
    assert a.tags == b.tags and a.notes == b.notes
    assert repr(dict(a.config)) == repr(dict(b.config))  # NaN == NaN
    assert repr(dict(a.explicit_summary)) == repr(dict(b.explicit_summary))
    assert {k: s.count for k, s in a.metrics.items()} == {k: s.count for k, s in b.metrics.items()}
    assert source.get_metadata(run_id) == target.get_metadata(run_id)
    for key in source.list_metric_keys(run_id):
        assert source.get_history(run_id, key) == target.get_history(run_id, key), key
    for stream in ("stdout", "stderr"):
        assert source.read_logs(run_id, stream) == target.read_logs(run_id, stream)


def test_a_first_copy_reproduces_every_run(source: Store, target: Store) -> None:
    ids = fill(source)
    seen: list[tuple[str, str]] = []
    report = copy_runs(source, target, on_run=lambda run, outcome: seen.append((run.name, outcome)))
    assert report.to_dict() == {
        "runs": 4,
        "runs_created": 4,
        "runs_updated": 0,
        "runs_unchanged": 0,
        "experiments_created": 1,
        "points_sent": 51 + 3 + 2,
        "log_chars_sent": len("epoch 1\nepoch 2\nwarning\n"),
        "artifacts_copied": 0,
        "artifact_bytes": 0,
    }
    assert seen == [("done", "created"), ("failed", "created"), ("dead", "created"),
                    ("live", "created")]  # fmt: skip
    for run_id in ids.values():
        assert_same(source, target, run_id)
    assert target.get_run(ids["dead"]).status == RunStatus.CRASHED
    assert target.get_run(ids["live"]).status == RunStatus.RUNNING
    experiment = target.get_experiment("search", "chunking")
    assert experiment.description == "chunk sizes" and experiment.datasets == ("msmarco",)
    assert experiment.metrics == (ExperimentMetric("recall@10", MetricGoal.MAX),)


def test_a_second_copy_sends_only_what_is_new(source: Store, target: Store) -> None:
    ids = fill(source)
    copy_runs(source, target)
    assert copy_runs(source, target).to_dict() == {
        "runs": 4,
        "runs_created": 0,
        "runs_updated": 0,
        "runs_unchanged": 4,
        "experiments_created": 0,
        "points_sent": 0,
        "log_chars_sent": 0,
        "artifacts_copied": 0,
        "artifact_bytes": 0,
    }
    live = ids["live"]
    source.log_metrics(live, {"x": series([2, 3, 4], [3.0, math.nan, 5.0]), "y": series([0], [1])})
    source.append_logs(live, "stdout", "more\n")
    source.set_tags(live, add=["late"])
    source.log_params(live, {"added": True})
    source.set_summary(live, {"final": 5})
    source.finish_run(live, status=RunStatus.STOPPED, error="stopped by SIGTERM")
    source.update_run(ids["done"], name="renamed", notes="second")
    report = copy_runs(source, target)
    assert (report.runs_created, report.runs_updated, report.runs_unchanged) == (0, 2, 2)
    assert (report.points_sent, report.log_chars_sent) == (4, 5)
    for run_id in ids.values():
        assert_same(source, target, run_id)
    assert target.get_history(live, "x").steps.tolist() == [0, 1, 2, 3, 4]


def test_project_and_filter_choose_the_runs(source: Store, target: Store) -> None:
    ids = fill(source)
    assert copy_runs(source, target, project="other").runs_created == 2
    assert sorted(r.name for r in target.search_runs()) == ["dead", "live"]
    report = copy_runs(source, target, filter="status = 'failed'")
    assert report.runs_created == 1
    assert target.get_run(ids["failed"]).error == "Traceback: boom"


class FailsAfter(SqlStore):
    """Goes down after ``budget`` metric batches, like a server that dies mid-copy."""

    budget = 3

    def log_metrics(
        self, run_id: str, batch: Mapping[str, MetricSeries], batch_id: str | None = None
    ) -> None:
        if self.budget <= 0:
            raise StoreUnavailableError("the server went away")
        self.budget -= 1
        super().log_metrics(run_id, batch, batch_id)


def test_an_interrupted_copy_resumes_without_duplicates(
    source: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_transfer, "BATCH_POINTS", 7)
    run = source.create_run(project="p", name="big")
    steps = list(range(100))
    source.log_metrics(run.id, {"loss": series(steps, [float(s) for s in steps])})
    source.finish_run(run.id, status=RunStatus.COMPLETED)
    flaky = FailsAfter(f"sqlite:///{tmp_path / 'flaky.db'}")
    with pytest.raises(StoreUnavailableError):
        copy_runs(source, flaky)
    assert len(flaky.get_history(run.id, "loss")) == 21
    assert flaky.get_run(run.id).status == RunStatus.RUNNING  # the status comes last
    flaky.budget = 100
    report = copy_runs(source, flaky)
    assert (report.runs_updated, report.points_sent) == (1, 79)
    assert flaky.get_history(run.id, "loss") == source.get_history(run.id, "loss")
    assert flaky.get_run(run.id).status == RunStatus.COMPLETED
    flaky.close()


def test_replaying_a_batch_of_an_earlier_copy_is_a_no_op(source: Store, target: Store) -> None:
    run = source.create_run(project="p")
    source.log_metrics(run.id, {"loss": series([0, 1, 2], [1.0, 2.0, 3.0])})
    copy_runs(source, target)
    part = source.get_history(run.id, "loss")
    # What a copy that raced this one would send for the same slice.
    target.log_metrics(run.id, {"loss": part}, batch_id=_transfer.batch_id("metrics", "loss", 0, 3))
    assert len(target.get_history(run.id, "loss")) == 3
    assert len(_transfer.batch_id("metrics", "k" * 300, 0, 10)) <= 64


def test_an_empty_source_copies_nothing(source: Store, target: Store) -> None:
    assert copy_runs(source, target).runs == 0


def read(store: LocalArtifactStore, run_id: str, path: str) -> bytes:
    with store.open(run_id, path) as f:
        return f.read()


class BreaksAfter(LocalArtifactStore):
    """An artifact store whose puts fail (server gone) once ``budget`` is spent."""

    budget = 1

    def put(self, run_id: str, path: str, source: BinaryIO) -> ArtifactInfo:
        if self.budget <= 0:
            raise StoreUnavailableError("the server went away")
        self.budget -= 1
        return super().put(run_id, path, source)


def test_artifacts_are_copied_once_and_an_interrupted_copy_resumes(
    source: Store, target: Store, tmp_path: Path
) -> None:
    ids = fill(source)
    files = {"ckpt/config.json": b"{}", "ckpt/weights.bin": os.urandom(3 << 20), "r.md": b"#"}
    origin = LocalArtifactStore(tmp_path / "source" / "artifacts")
    for path, data in files.items():
        origin.put(ids["done"], path, io.BytesIO(data))
    origin.put(ids["failed"], "trace.txt", io.BytesIO(b"boom"))
    copies = BreaksAfter(tmp_path / "target-artifacts")

    with pytest.raises(StoreUnavailableError):
        copy_runs(source, target, source_artifacts=origin, target_artifacts=copies)
    assert target.get_run(ids["done"]).status is not RunStatus.COMPLETED  # the status comes last
    assert [a.path for a in copies.list(ids["done"])] == ["ckpt/config.json"]

    copies.budget = 100
    report = copy_runs(source, target, source_artifacts=origin, target_artifacts=copies)
    assert (report.artifacts_copied, report.artifact_bytes) == (
        3,
        len(files["ckpt/weights.bin"]) + 5,
    )
    for run_id, expected in ((ids["done"], files), (ids["failed"], {"trace.txt": b"boom"})):
        assert {a.path: read(copies, run_id, a.path) for a in copies.list(run_id)} == expected
    assert target.get_run(ids["done"]).status is RunStatus.COMPLETED

    again = copy_runs(source, target, source_artifacts=origin, target_artifacts=copies)
    assert (again.artifacts_copied, again.runs_unchanged) == (0, 4)  # nothing twice
