"""The SDK against a server: the same code path as against SQLite, chosen by a
URI (``uri=`` or ``$RAGTRACK_URI``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

import ragtrack
from ragtrack.entities import RunStatus
from ragtrack.exceptions import AuthenticationError, InvalidArgumentError
from ragtrack.storage import open_store

if TYPE_CHECKING:
    from live_server import LiveServer


def test_init_and_api_over_a_server(server: LiveServer, tmp_cwd: Path) -> None:
    run = ragtrack.init(uri=server.url, project="rag/search ü", config={"top_k": 5}, capture=False)
    losses = np.random.default_rng(0).normal(size=10_000)
    losses[7] = math.nan
    for step, loss in enumerate(losses.tolist()):
        run.log({"loss": loss, "recall@10": step / 10_000}, step=step)
    run.summary["best"] = 0.9
    run.finish()

    api = ragtrack.Api(uri=server.url)
    got = api.run(run.id)
    assert got.status is RunStatus.COMPLETED
    assert got.params == {"top_k": 5}
    history = got.history("loss")
    assert history.steps.tolist() == list(range(10_000))
    assert np.array_equal(history.values, losses, equal_nan=True)
    assert got.history("recall@10").values[-1] == 9_999 / 10_000
    assert got.summary["best"] == 0.9
    assert [r.id for r in api.runs("rag/search ü")] == [run.id]
    assert not (tmp_cwd / ".ragtrack").exists()  # nothing written locally


def test_ragtrack_uri_environment(
    server: LiveServer, tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGTRACK_URI", server.url + "/")
    with ragtrack.init(project="env", capture=False) as run:
        run.log({"x": 1.0})
    assert server.backend.get_run(run.id).status is RunStatus.COMPLETED
    assert [r.id for r in ragtrack.Api().runs("env")] == [run.id]
    with open_store() as store:
        assert [p.name for p in store.list_projects()] == ["env"]
    assert not (tmp_cwd / ".ragtrack").exists()


def test_token_from_the_environment(
    server: LiveServer, token_server_url: str, tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(uri=token_server_url) as store, pytest.raises(AuthenticationError):
        store.list_projects()
    monkeypatch.setenv("RAGTRACK_TOKEN", "s3cret")
    # The shared store of a location is per token: the new token is used at once.
    assert ragtrack.Api(uri=token_server_url).projects() == []


def test_nul_over_a_postgresql_server(
    postgres_server: LiveServer, tmp_cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL cannot store NUL: a config holding one is refused at init with
    the key named, and a NUL the job prints is stored replaced, with every point
    after it arriving (it used to stall the run behind a retried 500)."""
    postgres_server.empty()
    with pytest.raises(InvalidArgumentError) as info:
        ragtrack.init(
            uri=postgres_server.url, project="p", config={"model": {"name": "a\x00b"}},
            capture=False,
        )  # fmt: skip
    assert info.value.field == "config.model.name"
    assert postgres_server.backend.count_runs() == 0
    capture = {"console": True, "git": False, "environment": False, "packages": False,
               "hardware": False, "system_metrics": False}  # fmt: skip
    run = ragtrack.init(uri=postgres_server.url, project="p", capture=capture)
    for step in range(2_000):
        if step == 10:
            print("bad byte: \x00")
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.finish()
    capsys.readouterr()
    stored = postgres_server.backend
    assert len(stored.get_history(run.id, "loss")) == 2_000
    assert "bad byte: \ufffd\n" in stored.read_logs(run.id)
    assert stored.get_run(run.id).status is RunStatus.COMPLETED
