"""A write the server refuses never stalls the rest of the run.

The server answers a bad write with a 4xx, or, for input it failed to catch
(a NUL in console output on PostgreSQL), a 500 carrying a ragtrack error body.
Either is the refusal of *that* write: the SDK reports it once and every later
point still arrives. Only "try again later" answers (503, 502/504, 429,
non-JSON 5xx, no connection) are retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from live_server import serve

import ragtrack
from ragtrack.entities import RunStatus
from ragtrack.storage import Store
from ragtrack.storage.sql import SqlStore

if TYPE_CHECKING:
    from live_server import LiveServer

STEPS = 2000
CAPTURE = {"console": True, "git": False, "packages": False, "system_metrics": False}


class NulRefusingStore(SqlStore):
    """Fails on NUL in console text the way PostgreSQL's driver does (an error
    the server does not expect, hence a 500 with an ``INTERNAL_ERROR`` body)."""

    def append_logs(self, run_id: str, stream: str, text: str, batch_id: str | None = None) -> None:
        if "\x00" in text:
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        super().append_logs(run_id, stream, text, batch_id)


@pytest.fixture
def failing_server(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    backend = NulRefusingStore(f"sqlite:///{tmp_path / 'server.db'}")
    with serve(backend) as url:
        yield url, backend
    backend.close()


def log_with_a_nul_line(url: str) -> str:
    """A training loop that prints one NUL in the middle; returns the run id."""
    run = ragtrack.init(uri=url, project="p", capture=CAPTURE, flush_interval=0.05)
    for step in range(STEPS):
        run.log({"loss": 1 / (step + 1)})
        if step == STEPS // 4:
            print("tokenizer says \x00 hello", flush=True)
        if step % 100 == 0:
            print(f"step {step}", flush=True)
            time.sleep(0.01)  # several flushes: the later writes come after the bad one
    run.finish(timeout=10)
    return run.id


def test_a_write_the_server_fails_is_reported_once_and_later_points_arrive(
    failing_server: tuple[str, Store],
    tmp_cwd: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, backend = failing_server
    with caplog.at_level(logging.WARNING, logger="ragtrack"):
        run_id = log_with_a_nul_line(url)
    run = backend.get_run(run_id)
    assert run.status is RunStatus.COMPLETED
    assert backend.get_history(run_id, "loss").steps.tolist() == list(range(STEPS))
    logs = backend.read_logs(run_id, "stdout")
    assert f"step {STEPS - 100}" in logs and "\x00" not in logs
    rejected = [r.message for r in caplog.records if "rejected" in r.message]
    assert len(rejected) == 1, caplog.text
    assert f"rejected console output of run {run_id} (INTERNAL_ERROR" in rejected[0]
    assert not list((tmp_cwd / "spool").glob("*/*.spool.sqlite"))  # nothing left queued


def test_a_nul_on_postgresql_does_not_stall_the_run(
    postgres_server: LiveServer, tmp_cwd: Path
) -> None:
    postgres_server.empty()
    run_id = log_with_a_nul_line(postgres_server.url)
    backend = postgres_server.backend
    assert backend.get_run(run_id).status is RunStatus.COMPLETED
    assert backend.get_history(run_id, "loss").steps.tolist() == list(range(STEPS))
    assert f"step {STEPS - 100}" in backend.read_logs(run_id, "stdout")
