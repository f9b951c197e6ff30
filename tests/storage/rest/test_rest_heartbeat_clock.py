"""Liveness through a server is judged by the server's clock, whatever the
client's clock says: SDKs released before heartbeats were stamped by the store
still send ``at=`` their own clock on every beat, and ``ragtrack sync`` sends the
recorded heartbeat of a copied run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import serve

from ragtrack.entities import RunStatus
from ragtrack.storage import open_store
from ragtrack.storage._transfer import copy_runs
from ragtrack.storage.rest import RestStore
from ragtrack.storage.sql import SqlStore

STALE_AFTER = 3.0


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'server.db'}", stale_after=STALE_AFTER)
    yield store
    store.close()


@pytest.fixture
def client(backend: SqlStore) -> Iterator[RestStore]:
    with serve(backend) as url:
        store = RestStore(url)
        yield store
        store.close()


def test_an_old_client_whose_clock_is_behind_reads_running(client: RestStore) -> None:
    run = client.create_run(project="p")
    # An old SDK 2.5 s behind the server beats with its own clock; a second later
    # its last beat is 3.5 s old by that clock, past the server's 3 s limit.
    client.heartbeat(run.id, at=time.time() - 2.5)
    time.sleep(1.0)
    got = client.get_run(run.id)
    assert got.status is RunStatus.RUNNING
    assert [r.id for r in client.search_runs("p", "status = 'running'")] == [run.id]


def test_a_dead_run_copied_to_a_server_still_reads_crashed(
    client: RestStore, tmp_path: Path
) -> None:
    source = open_store(dir=tmp_path / "local")
    dead = source.create_run(project="p", created_at=time.time() - 3600)
    source.heartbeat(dead.id, at=time.time() - 3600)  # its process died an hour ago
    assert source.get_run(dead.id).status is RunStatus.CRASHED
    copy_runs(source, client)
    got = client.get_run(dead.id)
    assert got.status is RunStatus.CRASHED
    assert got.heartbeat_at is not None and got.heartbeat_at < time.time() - 3000
