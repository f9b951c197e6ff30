"""The spool journal (storage/_spool.py) and its replay (storage/_spool_replay.py): files,
locking, payloads, replay outcomes."""

from __future__ import annotations

import math
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragtrack.entities import RunStatus
from ragtrack.exceptions import (
    AlreadyExistsError,
    AuthenticationError,
    InvalidArgumentError,
    RagtrackError,
    RunNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from ragtrack.storage import _spool, _write_errors
from ragtrack.storage._spool_replay import deliver, encode, replay
from ragtrack.storage.sql import SqlStore
from ragtrack.testing.store_contract import series

URL = "http://tracking.example:8650"


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[_spool.Journal]:
    j = _spool.Journal.create(tmp_path, URL)
    yield j
    j.close()


def test_default_spool_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RAGTRACK_SPOOL_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _spool.default_spool_dir() == tmp_path / ".cache" / "ragtrack" / "spool"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _spool.default_spool_dir() == tmp_path / "xdg" / "ragtrack" / "spool"
    monkeypatch.setenv("RAGTRACK_SPOOL_DIR", str(tmp_path / "mine"))
    assert _spool.default_spool_dir() == tmp_path / "mine"


def test_a_journal_lives_in_a_folder_per_target_and_records_the_url(tmp_path: Path) -> None:
    a = _spool.Journal.create(tmp_path, "https://bob:secret@tracking.example/api")
    b = _spool.Journal.create(tmp_path, "http://other:1")
    try:
        assert a.path.parent == _spool.target_dir(tmp_path, "https://tracking.example/api")
        assert a.path.parent != b.path.parent
        assert a.url == "https://tracking.example/api"
        assert a.path.name.endswith(_spool.SUFFIX)
        assert stat.S_IMODE(a.path.stat().st_mode) == 0o600
        assert b"secret" not in a.path.read_bytes()
        assert _spool.journal_paths(tmp_path) == sorted([a.path, b.path], key=_mtime)
    finally:
        a.close()
        b.close()


def _mtime(p: Path) -> float:
    return p.stat().st_mtime


def test_ops_come_back_in_order_and_go_once_removed(journal: _spool.Journal) -> None:
    first = journal.append("r1", "set_tags", encode("set_tags", add=["a"], remove=[]))
    second = journal.append("r2", "log_params", encode("log_params", config={"lr": 1}))
    journal.append("r1", "set_tags", encode("set_tags", add=["b"], remove=[]))
    assert second > first
    assert journal.pending_count() == 3
    assert journal.pending_by_run() == {"r1": 2, "r2": 1}
    op = journal.first()
    assert op is not None and (op.seq, op.run_id, op.op) == (first, "r1", "set_tags")
    journal.remove(op.seq)
    op = journal.first()
    assert op is not None and op.seq == second


def test_a_held_journal_cannot_be_claimed_until_closed(tmp_path: Path) -> None:
    journal = _spool.Journal.create(tmp_path, URL)
    journal.append("r1", "set_tags", encode("set_tags", add=["a"], remove=[]))
    assert _spool.Journal.claim(journal.path) is None  # flock: even from this process
    journal.close()
    assert journal.path.exists()  # a write is waiting: the file stays
    claimed = _spool.Journal.claim(journal.path)
    assert claimed is not None
    assert claimed.url == URL and claimed.pending_count() == 1
    op = claimed.first()
    assert op is not None
    claimed.remove(op.seq)
    assert claimed.close() is True
    assert not journal.path.exists()
    assert not journal.path.parent.exists()  # the target's folder goes with its last journal


def test_rejected_ops_move_to_dead_and_keep_the_file(tmp_path: Path) -> None:
    journal = _spool.Journal.create(tmp_path, URL)
    journal.append("r1", "set_tags", encode("set_tags", add=["a"], remove=[]))
    op = journal.first()
    assert op is not None
    journal.bury(op, "RUN_NOT_FOUND: no run with id 'r1'")
    assert journal.pending_count() == 0 and journal.dead_count() == 1
    assert journal.close() is False
    with sqlite3.connect(journal.path) as conn:
        rows = conn.execute("SELECT run_id, op, error FROM dead").fetchall()
    conn.close()
    assert rows == [("r1", "set_tags", "RUN_NOT_FOUND: no run with id 'r1'")]


def test_claiming_a_missing_file_gives_none(tmp_path: Path) -> None:
    assert _spool.Journal.claim(tmp_path / "gone.spool.sqlite") is None
    assert _spool.journal_paths(tmp_path / "nowhere") == []


def test_every_op_replays_what_was_encoded() -> None:
    store = SqlStore("sqlite://")
    run_id = "spooled0001"
    ops: list[tuple[str, dict[str, Any]]] = [
        (
            "create_run",
            {
                "project": "p",
                "experiment": "e",
                "name": "n",
                "config": {"lr": 0.1, "nested": {"nan": math.nan}},
                "tags": ["t1"],
                "notes": "hi",
                "status": RunStatus.RUNNING,
                "created_at": 1.7e9,
                "metadata": {"git": {"commit": "abc"}},
            },
        ),
        ("log_params", {"config": {"batch": 32}}),
        ("set_tags", {"add": ["t2"], "remove": ["t1"]}),
        ("set_metadata", {"metadata": {"host": "h"}}),
        ("log_metrics", {"batch": {"loss": series([0, 1], [0.5, math.nan])}, "batch_id": "b1"}),
        ("append_logs", {"stream": "stdout", "text": "hello\n", "batch_id": "l1"}),
        ("set_summary", {"values": {"best": math.inf}}),
        ("update_run", {"status": None, "name": "renamed", "notes": None, "ended_at": None,
                        "error": None}),
        (
            "finish_run",
            {
                "status": RunStatus.FAILED,
                "error": "boom",
                "batch": {"loss": series([2], [0.25])},
                "batch_id": "b2",
                "summary": {"final": 1},
                "ended_at": 1.7e9 + 60,
            },
        ),
    ]  # fmt: skip
    for seq, (op, kwargs) in enumerate(ops):
        spooled = _spool.SpooledOp(seq, run_id, op, encode(op, **kwargs))
        replay(store, spooled)
        replay(store, spooled)  # every op may be applied twice
    run = store.get_run(run_id)
    assert (run.project, run.experiment, run.name, run.notes) == ("p", "e", "renamed", "hi")
    assert run.created_at == 1.7e9
    assert run.config["batch"] == 32 and math.isnan(run.config["nested"]["nan"])
    assert run.tags == ("t2",)
    assert store.get_metadata(run_id) == {"git": {"commit": "abc"}, "host": "h"}
    history = store.get_history(run_id, "loss")
    assert history.steps.tolist() == [0, 1, 2]
    assert store.read_logs(run_id) == "hello\n"
    assert run.explicit_summary == {"best": math.inf, "final": 1}
    assert (run.status, run.error, run.ended_at) == (RunStatus.FAILED, "boom", 1.7e9 + 60)
    store.close()


def test_values_that_cannot_be_stored_are_refused_when_spooled() -> None:
    with pytest.raises(InvalidArgumentError):
        encode("log_params", config={"f": object()})


def test_an_unknown_op_is_a_client_error() -> None:
    with pytest.raises(InvalidArgumentError) as e:
        replay(SqlStore("sqlite://"), _spool.SpooledOp(1, "r", "teleport", b"{}"))
    assert _write_errors.outcome_of(e.value) is _write_errors.Outcome.REJECTED


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (StoreUnavailableError("down"), _write_errors.Outcome.RETRY),
        (StoreError("locked"), _write_errors.Outcome.RETRY),
        (AuthenticationError("bad token"), _write_errors.Outcome.RETRY),
        # A 500 with an error body: the server refused this write, later ones may pass.
        (RagtrackError("internal"), _write_errors.Outcome.REJECTED),
        (RunNotFoundError("gone"), _write_errors.Outcome.GONE),
        (InvalidArgumentError("bad"), _write_errors.Outcome.REJECTED),
        (AlreadyExistsError("dup"), _write_errors.Outcome.REJECTED),
        (KeyError("bug"), _write_errors.Outcome.REJECTED),
    ],
)
def test_outcome_of_a_failed_replay(error: BaseException, outcome: _write_errors.Outcome) -> None:
    assert _write_errors.outcome_of(error) is outcome


def test_deliver_stops_where_the_target_stops_answering(journal: _spool.Journal) -> None:
    store = SqlStore("sqlite://")
    run = store.create_run(project="p")
    for step in range(3):
        batch = {"x": series([step], [float(step)])}
        journal.append(
            run.id,
            "log_metrics",
            encode("log_metrics", batch=batch, batch_id=f"b{step}"),
        )
    journal.append("missing", "set_tags", encode("set_tags", add=["a"], remove=[]))
    journal.append(run.id, "teleport", b"{}")
    delivery = deliver(journal, store)
    # A run deleted from the target: its writes are dropped, not kept as rejected.
    assert (delivery.sent, delivery.rejected, delivery.dropped, delivery.remaining) == (3, 1, 1, 0)
    assert delivery.runs == {run.id, "missing"}
    assert delivery.rejections[0].startswith("INVALID_ARGUMENT")
    assert journal.dead_count() == 1
    assert store.get_history(run.id, "x").steps.tolist() == [0, 1, 2]

    class Down(SqlStore):
        def set_tags(self, *args: object, **kwargs: object) -> None:
            raise StoreUnavailableError("server down")

    journal.append(run.id, "set_tags", encode("set_tags", add=["a"], remove=[]))
    delivery = deliver(journal, Down("sqlite://"))
    assert (delivery.sent, delivery.remaining) == (0, 1)
    assert delivery.error == "STORE_UNAVAILABLE: server down"
    store.close()


def test_a_batch_replays_as_the_caller_logged_it() -> None:
    # Negative steps are refused in request bodies but accepted by run.log and
    # the SQL stores: the journal must not be stricter than the store behind it.
    store = SqlStore("sqlite://")
    run = store.create_run(project="p")
    batch = {"x": series([-5, 0, 2**62], [math.nan, -math.inf, 1.5])}
    payload = encode("log_metrics", batch=batch, batch_id="b1")
    replay(store, _spool.SpooledOp(1, run.id, "log_metrics", payload))
    assert store.get_history(run.id, "x") == batch["x"]
    store.close()
