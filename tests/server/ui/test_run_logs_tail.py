"""A run page tailing its log reads only what is new from the store."""

from __future__ import annotations

import warnings
from pathlib import Path

from ragtrack.server import create_app
from ragtrack.storage.sql import SqlStore

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient


class CountingStore(SqlStore):
    """A SQLite store that counts the log characters it hands out."""

    handed_out = 0

    def read_logs(self, run_id: str, stream: str | None = None, offset: int = 0) -> str:
        text = super().read_logs(run_id, stream, offset)
        self.handed_out += len(text)
        return text


def test_a_log_poll_reads_from_the_offset_the_page_holds(tmp_path: Path) -> None:
    store = CountingStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    try:
        run = store.create_run(project="p")
        store.append_logs(run.id, "stdout", "step\n" * 20_000)
        with TestClient(create_app(store)) as client:
            first = client.get(f"/runs/{run.id}/logs.json").json()
            assert first["offset"] == 100_000 and store.handed_out == 100_000
            store.append_logs(run.id, "stderr", "done ✓\n")
            tail = client.get(f"/runs/{run.id}/logs.json?offset={first['offset']}").json()
        assert tail["text"] == "done ✓\n" and tail["offset"] == tail["size"] == 100_007
        assert tail["start"] == 100_000 and not tail["truncated"]
        assert store.handed_out == 100_007  # the poll read 7 characters, not the whole log
    finally:
        store.close()


def test_an_offset_past_the_end_answers_the_true_size(tmp_path: Path) -> None:
    store = CountingStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    try:
        run = store.create_run(project="p")
        store.append_logs(run.id, "stdout", "hello world\n")
        with TestClient(create_app(store)) as client:
            # Every offset the API and the stores accept (2**63-1) is accepted here too.
            for offset in (300, 13, 2**63 - 1):
                past = client.get(f"/runs/{run.id}/logs.json?offset={offset}").json()
                assert past["text"] == "" and past["size"] == past["offset"] == 12, past
            too_far = client.get(f"/runs/{run.id}/logs.json?offset={2**63}")
            assert too_far.status_code == 400
            assert client.get(f"/api/v1/runs/{run.id}/logs?offset={2**63}").status_code == 400
            store.handed_out = 0
            at_end = client.get(f"/runs/{run.id}/logs.json?offset=12").json()
        assert at_end["text"] == "" and at_end["size"] == 12
        assert store.handed_out <= 1  # an idle poll does not read the whole log again
    finally:
        store.close()
