"""The background writer: pivoting records, retries, and the final flush."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.exceptions import StoreError
from ragtrack.sdk import _writer
from ragtrack.sdk._writer import BackgroundWriter, records_to_batch
from ragtrack.sdk.capture import CaptureSettings
from ragtrack.sdk.run import Run
from ragtrack.storage import open_store
from ragtrack.storage.sql import SqlStore


def test_records_of_different_shapes_keep_arrival_order_per_key() -> None:
    records = [
        (0, 10.0, {"loss": 1.0}),
        (1, 11.0, {"loss": 0.9, "acc": 0.1}),
        (2, 12.0, {"loss": 0.8}),
        (0, 12.5, {"system/cpu": 50.0}),
        (3, 13.0, {"acc": 0.3, "loss": 0.7}),
    ]
    batch = records_to_batch(records)
    assert batch["loss"].steps.tolist() == [0, 1, 2, 3]
    assert batch["loss"].values.tolist() == [1.0, 0.9, 0.8, 0.7]
    assert batch["loss"].timestamps.tolist() == [10.0, 11.0, 12.0, 13.0]
    assert batch["acc"].values.tolist() == [0.1, 0.3]
    assert batch["acc"].steps.tolist() == [1, 3]
    assert batch["system/cpu"].values.tolist() == [50.0]


class FlakyStore(SqlStore):
    """Fails the first ``failures`` metric writes *after* committing them, like a
    connection that drops before the reply arrives."""

    def __init__(self, url: str, failures: int) -> None:
        super().__init__(url)
        self.failures = failures
        self.batch_ids: list[str | None] = []

    def log_metrics(
        self, run_id: str, batch: Mapping[str, MetricSeries], batch_id: str | None = None
    ) -> None:
        self.batch_ids.append(batch_id)
        super().log_metrics(run_id, batch, batch_id)
        if self.failures:
            self.failures -= 1
            raise StoreError("connection lost")


def test_failed_batch_is_retried_with_its_id_and_stored_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path / 'db'}", failures=2)
    run = store.create_run(project="p")
    writer = BackgroundWriter(store, run.id, interval=3600)
    for i in range(3):
        writer.append((i, 1.7e9 + i, {"x": float(i)}))
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        for _ in range(2):
            writer.flush()  # never raises into the caller: kept for the next flush
    assert [r.message for r in caplog.records] == [
        f"ragtrack: cannot store run {run.id} in {store.url} now (STORE_ERROR: connection "
        f"lost); its data is kept in memory and written as soon as possible"
    ]
    writer.flush()
    assert len(set(store.batch_ids)) == 1 and len(store.batch_ids) == 3
    writer.append((3, 1.7e9 + 3, {"x": 3.0}))
    writer.close(RunStatus.COMPLETED)
    assert store.get_history(run.id, "x").values.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert store.get_run(run.id).status is RunStatus.COMPLETED
    store.close()


def test_close_sends_last_batch_summary_and_status_together(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    store = open_store(dir=tmp_path)

    class Recording(type(store)):  # type: ignore[misc]
        def finish_run(self, run_id: str, **kwargs: Any) -> None:
            calls.append(kwargs)
            super().finish_run(run_id, **kwargs)

    store.__class__ = Recording
    run = store.create_run(project="p")
    writer = BackgroundWriter(store, run.id, interval=3600)
    writer.append((0, 1.7e9, {"acc": 0.5}))
    writer.set_summary({"acc": 0.9})
    writer.close(RunStatus.FAILED, "Traceback ...")
    (call,) = calls
    assert call["status"] is RunStatus.FAILED and call["summary"] == {"acc": 0.9}
    assert set(call["batch"]) == {"acc"} and call["batch_id"]
    stored = store.get_run(run.id)
    assert stored.summary == {"acc": 0.9}  # the explicit value set after the log wins
    assert stored.error == "Traceback ..."
    store.close()


class GatedStore(SqlStore):
    """A store whose metric writes wait at ``gate`` (a slow or stuck server),
    or fail while ``failing`` (a server down with a full spool disk)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = threading.Event()
        self.failing = False

    def log_metrics(
        self, run_id: str, batch: Mapping[str, MetricSeries], batch_id: str | None = None
    ) -> None:
        assert self.gate.wait(30)
        if self.failing:
            raise StoreError("cannot write the spool journal: disk full")
        super().log_metrics(run_id, batch, batch_id)


@pytest.fixture
def small_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    # Batches of the fewest records (1,024 of 10 values, 245 KB packed), and
    # room for about one: the bounds, in miniature.
    monkeypatch.setattr(_writer, "RECORDS_BUDGET", 0)
    monkeypatch.setattr(_writer, "BATCHES_BUDGET", 300_000)
    monkeypatch.setattr(_writer, "STALLED_WAIT", 0.3)


def log_in_thread(run: Run, steps: int) -> threading.Thread:
    def loop() -> None:
        for step in range(steps):
            run.log({f"m{i}": float(step) for i in range(10)}, step=step)

    thread = threading.Thread(target=loop)
    thread.start()
    return thread


def test_logging_waits_for_a_slow_store_and_loses_nothing(
    tmp_path: Path, small_budgets: None
) -> None:
    store = GatedStore(f"sqlite:///{tmp_path / 'db'}")
    run = Run(store, project="p", capture=CaptureSettings.resolve(False), flush_interval=0.05)
    thread = log_in_thread(run, 20_000)
    thread.join(1.0)
    assert thread.is_alive()  # held back: the writer's memory is full
    batch = 1024 * 10 * 24
    # The budget, plus the batch that crossed it and one the flusher packed meanwhile.
    assert run._writer._pending_bytes <= _writer.BATCHES_BUDGET + 2 * batch
    assert run._writer.queued() <= run._writer.max_queued + 1
    store.gate.set()  # the store catches up
    thread.join(30)
    assert not thread.is_alive()
    run.finish()
    history = store.get_history(run.id, "m3")
    assert history.steps.tolist() == list(range(20_000))
    assert store.get_run(run.id).status is RunStatus.COMPLETED
    store.close()


def test_a_store_that_refuses_everything_cannot_stall_the_job(
    tmp_path: Path, small_budgets: None, caplog: pytest.LogCaptureFixture
) -> None:
    store = GatedStore(f"sqlite:///{tmp_path / 'db'}")
    store.gate.set()
    store.failing = True
    run = Run(store, project="p", capture=CaptureSettings.resolve(False), flush_interval=0.05)
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        thread = log_in_thread(run, 20_000)
        thread.join(30)
        assert not thread.is_alive()  # the oldest waiting batches were dropped instead
        assert any("metric points were dropped" in r.message for r in caplog.records)
        run.finish(timeout=0)  # never raises
    assert store.get_run(run.id).status is RunStatus.COMPLETED  # the status still landed
    store.close()
