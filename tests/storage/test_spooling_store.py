"""SpoolingStore over an in-process SQL store whose writes fail on demand.

The fault injector (:class:`FlakyStore`) raises StoreUnavailableError while
``down``, can apply a write and then "lose" its answer, and can hold the replay
thread at a gate, so each test controls exactly when the store comes back.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ragtrack.cli import cli
from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.exceptions import InvalidArgumentError, RunNotFoundError, StoreUnavailableError
from ragtrack.sdk.capture import CaptureSettings
from ragtrack.sdk.run import Run
from ragtrack.storage import Store, _spool
from ragtrack.storage._spooling import SpoolingStore
from ragtrack.storage.sql import SqlStore
from ragtrack.testing.store_contract import StoreContract, series

WRITES = (
    "create_run",
    "update_run",
    "finish_run",
    "heartbeat",
    "set_tags",
    "log_params",
    "set_summary",
    "set_metadata",
    "log_metrics",
    "append_logs",
)


class FlakyStore(SqlStore):
    """A SQL store whose writes fail with StoreUnavailableError while ``down``.

    ``lose_answers = n`` applies the next n writes and then raises anyway (the
    server committed, the answer was lost). Writes made by the spool's replay
    thread wait at ``gate`` first. ``applied`` lists (op, run id, first step)
    of every write that reached the database, in order.
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.down = False
        self.lose_answers = 0
        self.gate = threading.Event()
        self.gate.set()
        self.applied: list[tuple[str, str, int | None]] = []


def _flaky(name: str) -> Callable[..., Any]:
    def method(self: FlakyStore, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "ragtrack-spool":
            assert self.gate.wait(10)
        if self.down:
            raise StoreUnavailableError(f"{name}: the server is down")
        result = getattr(SqlStore, name)(self, *args, **kwargs)
        run_id = args[0] if args else result.id
        batch = kwargs.get("batch") or (args[1] if name == "log_metrics" else None)
        first = int(next(iter(batch.values())).steps[0]) if batch else None
        self.applied.append((name, run_id, first))
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise StoreUnavailableError(f"{name}: the answer was lost")
        return result

    return method


for _name in WRITES:
    setattr(FlakyStore, _name, _flaky(_name))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'server.db'}"


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def inner(url: str) -> Iterator[FlakyStore]:
    s = FlakyStore(url)
    yield s
    s.close()


@pytest.fixture
def store(inner: FlakyStore, spool_dir: Path, url: str) -> Iterator[SpoolingStore]:
    s = SpoolingStore(inner, spool_dir, url)
    yield s
    inner.down = False
    inner.gate.set()
    s.close()


def batch(step: int, n: int = 10) -> dict[str, MetricSeries]:
    steps = list(range(step, step + n))
    return {"loss": series(steps, [s / 1000 for s in steps]), "acc": series(steps, [0.5] * n)}


def journals(spool_dir: Path) -> list[Path]:
    return _spool.journal_paths(spool_dir)


class TestSpoolingStoreContract(StoreContract):
    """With a healthy store underneath, the wrapper is just that store."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        s = SpoolingStore(SqlStore("sqlite://"), tmp_path / "spool", "sqlite://")
        yield s
        s.close()
        assert journals(tmp_path / "spool") == []


def test_a_healthy_store_leaves_no_journal(store: SpoolingStore, spool_dir: Path) -> None:
    run = store.create_run(project="p", config={"lr": 0.1})
    store.log_metrics(run.id, batch(0))
    assert store.wait_for_pending(5) == 0
    assert not spool_dir.exists()


def test_writes_made_while_down_arrive_once_in_order(
    store: SpoolingStore, inner: FlakyStore, spool_dir: Path
) -> None:
    inner.down = True
    run = store.create_run(project="p", name="offline", config={"lr": 0.1}, tags=["x"])
    assert (run.name, run.status, dict(run.config), run.tags) == (
        "offline",
        RunStatus.RUNNING,
        {"lr": 0.1},
        ("x",),
    )
    for i in range(20):
        store.log_metrics(run.id, batch(i * 10))
    store.log_params(run.id, {"batch": 32})
    store.append_logs(run.id, "stdout", "epoch 1\n")
    store.set_summary(run.id, {"best": 0.9})
    finished_at = time.time()
    store.finish_run(run.id, status=RunStatus.COMPLETED, batch=batch(200), summary={"last": 1})
    assert len(journals(spool_dir)) == 1
    assert store.wait_for_pending(0.3) > 0  # still down: nothing can drain
    time.sleep(0.5)
    inner.down = False
    assert store.wait_for_pending(15) == 0
    got = inner.get_run(run.id)
    assert got.status == RunStatus.COMPLETED
    assert got.ended_at is not None and got.ended_at <= finished_at + 0.1  # when it ended
    assert got.config == {"lr": 0.1, "batch": 32}
    assert got.explicit_summary == {"best": 0.9, "last": 1}
    for key in ("loss", "acc"):
        assert inner.get_history(run.id, key).steps.tolist() == list(range(210))
    assert inner.read_logs(run.id) == "epoch 1\n"
    firsts = [first for op, rid, first in inner.applied if op == "log_metrics" and rid == run.id]
    assert firsts == list(range(0, 200, 10))  # in the order they were logged
    store.close()
    assert journals(spool_dir) == []


def test_lost_answers_never_duplicate_points(store: SpoolingStore, inner: FlakyStore) -> None:
    run = store.create_run(project="p")
    inner.lose_answers = 3  # applied, then "unavailable": the spool sends them again
    for i in range(10):
        store.log_metrics(run.id, batch(i * 10))
    store.append_logs(run.id, "stderr", "warn\n")
    assert store.wait_for_pending(15) == 0
    assert inner.get_history(run.id, "loss").steps.tolist() == list(range(100))
    assert inner.read_logs(run.id) == "warn\n"


def test_create_run_whose_answer_was_lost_is_created_once(
    store: SpoolingStore, inner: FlakyStore
) -> None:
    inner.lose_answers = 1
    run = store.create_run(project="p", name="once")
    assert store.wait_for_pending(10) == 0
    assert [r.id for r in inner.search_runs("p")] == [run.id]
    assert inner.get_run(run.id).name == "once"


def test_writes_flap_while_a_thread_logs(store: SpoolingStore, inner: FlakyStore) -> None:
    run = store.create_run(project="p")

    def log() -> None:
        for i in range(200):
            store.log_metrics(run.id, batch(i * 5, n=5))
            time.sleep(0.002)

    writer = threading.Thread(target=log)
    writer.start()
    while writer.is_alive():  # down and up while the run logs
        inner.down = not inner.down
        time.sleep(0.03)
    inner.down = False
    writer.join()
    assert store.wait_for_pending(20) == 0
    assert inner.get_history(run.id, "loss").steps.tolist() == list(range(1000))
    firsts = [first for op, rid, first in inner.applied if op == "log_metrics"]
    assert firsts == list(range(0, 1000, 5))


def test_a_run_with_spooled_writes_queues_behind_them(
    store: SpoolingStore, inner: FlakyStore
) -> None:
    inner.down = True
    run = store.create_run(project="p")
    store.log_metrics(run.id, batch(0))
    inner.gate.clear()  # hold the replay
    inner.down = False
    other = store.create_run(project="p")  # another run is not held up
    store.log_metrics(other.id, batch(0))
    store.log_metrics(run.id, batch(10))  # must not overtake the spooled batch
    assert [a for a in inner.applied if a[1] == run.id] == []
    assert inner.get_history(other.id, "loss").steps.tolist() == list(range(10))
    inner.gate.set()
    assert store.wait_for_pending(10) == 0
    assert [a for a in inner.applied if a[1] == run.id] == [
        ("create_run", run.id, None),
        ("log_metrics", run.id, 0),
        ("log_metrics", run.id, 10),
    ]
    store.log_metrics(run.id, batch(20))  # drained: straight through again
    assert inner.applied[-1] == ("log_metrics", run.id, 20)


def test_a_run_created_while_down_reads_as_the_store_will_record_it(
    store: SpoolingStore, inner: FlakyStore
) -> None:
    inner.down = True
    created_at = time.time() - 3600  # a run recorded as started an hour ago
    run = store.create_run(project="p", created_at=created_at)
    assert run.created_at == created_at
    # The store stamps a running run's first heartbeat with its own clock.
    assert run.heartbeat_at is not None and run.heartbeat_at >= time.time() - 5
    inner.down = False
    assert store.wait_for_pending(10) == 0
    stored = inner.get_run(run.id).heartbeat_at
    assert stored is not None and abs(stored - run.heartbeat_at) < 5


def test_heartbeats_are_dropped_while_down(
    store: SpoolingStore, inner: FlakyStore, spool_dir: Path
) -> None:
    run = store.create_run(project="p")
    inner.down = True
    store.heartbeat(run.id)
    assert store.wait_for_pending(0) == 0
    assert not spool_dir.exists()
    store.set_tags(run.id, add=["late"])
    store.heartbeat(run.id)  # queued writes: a heartbeat now would say nothing
    assert store.wait_for_pending(0) == 1


def test_a_rejected_replay_goes_to_dead_and_does_not_block(
    store: SpoolingStore, inner: FlakyStore, spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inner.down = True
    run = store.create_run(project="p")
    store.log_metrics(run.id, batch(0))
    store.append_logs(run.id, "stdin", "refused")  # 400 on replay
    store.log_metrics(run.id, batch(10))
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        inner.down = False
        assert store.wait_for_pending(10) == 0
    # The writes of the same run behind the rejected one all arrived.
    assert inner.get_history(run.id, "loss").steps.tolist() == list(range(20))
    assert f"rejected a delayed console output of run {run.id} (INVALID_ARGUMENT" in caplog.text
    store.close()
    [path] = journals(spool_dir)  # kept: it holds the rejected write
    journal = _spool.Journal.claim(path)
    assert journal is not None
    assert (journal.pending_count(), journal.dead_count()) == (0, 1)
    journal.close()


def test_writes_of_a_run_deleted_meanwhile_are_dropped_with_one_warning(
    store: SpoolingStore, inner: FlakyStore, spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inner.down = True
    gone = store.create_run(project="p")
    kept = store.create_run(project="p")
    inner.down = False
    assert store.wait_for_pending(10) == 0
    inner.down = True
    for step in (0, 10, 20):
        store.log_metrics(gone.id, batch(step))
    store.log_metrics(kept.id, batch(0))
    inner.delete_run(gone.id)
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        inner.down = False
        assert store.wait_for_pending(10) == 0
        with pytest.raises(RunNotFoundError):  # later writes fail at once, not queued
            store.log_metrics(gone.id, batch(30))
    assert [r.message for r in caplog.records if gone.id in r.message] == [
        f"ragtrack: run {gone.id} no longer exists in {store.url}: it was deleted while this "
        f"process was logging to it; its further writes are dropped"
    ]
    assert inner.get_history(kept.id, "loss").steps.tolist() == list(range(10))
    store.close()
    assert journals(spool_dir) == []  # nothing kept for a deleted run


def test_close_while_down_keeps_the_journal_and_sync_delivers_it(
    store: SpoolingStore,
    inner: FlakyStore,
    spool_dir: Path,
    url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inner.down = True
    run = store.create_run(project="p", name="kept")
    for i in range(5):
        store.log_metrics(run.id, batch(i * 10))
    store.finish_run(run.id, status=RunStatus.COMPLETED)
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        store.close()
    [path] = journals(spool_dir)
    assert caplog.messages == [
        f"ragtrack: 7 writes to {url} could not be delivered; they are kept in {path}; "
        f"run `ragtrack sync` when the server is reachable"
    ]
    assert inner.search_runs("p") == []

    result = CliRunner().invoke(cli, ["sync", "--spool-dir", str(spool_dir)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{url}: sent 7 writes of 1 run\n"
    assert journals(spool_dir) == []
    check = SqlStore(url)
    assert check.get_run(run.id).status == RunStatus.COMPLETED
    assert check.get_history(run.id, "loss").steps.tolist() == list(range(50))
    check.close()
    result = CliRunner().invoke(cli, ["sync", "--spool-dir", str(spool_dir)])
    assert result.output == f"Nothing to sync: no spooled writes in {spool_dir}.\n"


def test_sync_keeps_what_cannot_be_delivered(
    store: SpoolingStore, inner: FlakyStore, spool_dir: Path, tmp_path: Path
) -> None:
    inner.down = True
    run = store.create_run(project="p")
    store.close()
    [path] = journals(spool_dir)
    journal = _spool.Journal.claim(path)
    assert journal is not None
    journal._conn.execute("UPDATE meta SET value = 'http://127.0.0.1:9' WHERE key = 'url'")
    journal.close()
    result = CliRunner().invoke(cli, ["sync", "--spool-dir", str(spool_dir), "--json"])
    assert result.exit_code == 1
    assert '"status": "unreachable"' in result.output and '"remaining": 1' in result.output
    assert journals(spool_dir) == [path]
    result = CliRunner().invoke(cli, ["sync", "--spool-dir", str(spool_dir)])
    assert result.exit_code == 1
    assert f"http://127.0.0.1:9: sent 0 writes of 0 runs; 1 remain in {path}" in result.output
    assert "Error: 1 writes could not be delivered" in result.output
    assert run.id


# -- across processes ------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import sys, time
    from ragtrack.entities import MetricSeries
    from ragtrack.exceptions import StoreUnavailableError
    from ragtrack.storage._spooling import SpoolingStore
    from ragtrack.storage.sql import SqlStore

    class Down(SqlStore):
        def create_run(self, **kwargs):
            raise StoreUnavailableError("down")

        def log_metrics(self, *args, **kwargs):
            raise StoreUnavailableError("down")

    url, spool = sys.argv[1], sys.argv[2]
    store = SpoolingStore(Down(url), spool, url)
    run = store.create_run(project="crash", run_id="crashed-child")
    for i in range(100):
        store.log_metrics(run.id, {"x": MetricSeries.from_lists([i], [i * 1.5], [1e9 + i])})
    print("ready", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.slow
def test_the_journal_survives_a_killed_process(url: str, spool_dir: Path) -> None:
    SqlStore(url).close()  # the "server" database exists
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, str(spool_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        result = CliRunner().invoke(cli, ["sync", "--spool-dir", str(spool_dir)])
        assert result.exit_code == 0
        assert "in use by a running process, skipped" in result.output
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        assert child.stdout is not None
        child.stdout.close()
    result = CliRunner().invoke(cli, ["sync", "--spool-dir", str(spool_dir)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{url}: sent 101 writes of 1 run\n"
    store = SqlStore(url)
    history = store.get_history("crashed-child", "x")
    assert history.steps.tolist() == list(range(100))
    assert history.values.tolist() == [i * 1.5 for i in range(100)]
    store.close()


# -- the SDK waits for the spool -------------------------------------------------------


def _run(store: Store) -> Run:
    return Run(store, project="sdk", capture=CaptureSettings.resolve(False), flush_interval=0.05)


def test_finish_waits_until_the_spool_is_drained(
    store: SpoolingStore, inner: FlakyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAGTRACK_SYNC_TIMEOUT", raising=False)
    inner.down = True
    run = _run(store)
    for step in range(500):
        run.log({"loss": 1 / (step + 1), "acc": step / 500})
    time.sleep(0.2)  # a few flushes go to the spool
    threading.Timer(1.0, lambda: setattr(inner, "down", False)).start()
    started = time.monotonic()
    run.finish()
    assert time.monotonic() - started >= 0.5
    assert store.wait_for_pending(0) == 0
    got = inner.get_run(run.id)  # everything is there the moment finish returns
    assert got.status == RunStatus.COMPLETED
    assert inner.get_history(run.id, "loss").steps.tolist() == list(range(500))
    assert inner.get_history(run.id, "acc").steps.tolist() == list(range(500))


def test_finish_gives_up_after_the_timeout(
    store: SpoolingStore,
    inner: FlakyStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("RAGTRACK_SYNC_TIMEOUT", "0.3")
    inner.down = True
    run = _run(store)
    run.log({"loss": 1.0})
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        run.finish()
    assert 0.25 <= time.monotonic() - started < 5
    assert "writes are not stored yet after 0.3 s" in caplog.text
    run2 = _run(store)
    started = time.monotonic()
    run2.finish(timeout=0)  # 0: do not wait
    assert time.monotonic() - started < 0.25
    assert store.wait_for_pending(0) > 0


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_an_invalid_sync_timeout_is_refused(
    store: SpoolingStore, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RAGTRACK_SYNC_TIMEOUT", value)
    with pytest.raises(InvalidArgumentError, match="RAGTRACK_SYNC_TIMEOUT must be a number"):
        _run(store)
    monkeypatch.delenv("RAGTRACK_SYNC_TIMEOUT")
    run = _run(store)
    with pytest.raises(InvalidArgumentError, match="timeout must be"):
        run.finish(timeout=-1)
    run.finish()


def test_an_embedded_store_has_nothing_pending(tmp_path: Path) -> None:
    from ragtrack.storage import open_store

    with open_store(dir=tmp_path) as s:
        assert s.wait_for_pending(30) == 0
