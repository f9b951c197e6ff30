"""``ragtrack sync --from DIR --to http://...`` copies runs' artifacts to a real
server, says what it copied, and copies nothing twice."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner
from live_server import serve

import ragtrack
from ragtrack.cli import cli
from ragtrack.storage.artifacts import LocalArtifactStore
from ragtrack.storage.sql import SqlStore

QUIET = {"system_metrics": False, "console": False, "git": False, "packages": False}


def test_sync_copies_artifacts_once_and_prints_them(tmp_path: Path, tmp_cwd: Path) -> None:
    offline = tmp_path / "offline"
    weights = os.urandom(2_500_000)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "weights.bin").write_bytes(weights)
    (tmp_path / "ckpt" / "config.json").write_bytes(b'{"dim": 768}')
    with ragtrack.init(project="p", name="trained", dir=offline, capture=QUIET) as run:
        run.log({"loss": 0.5})
        run.log_artifact(tmp_path / "ckpt")
    with ragtrack.init(project="p", name="plain", dir=offline, capture=QUIET) as plain:
        plain.log({"loss": 0.7})

    backend = SqlStore(f"sqlite:///{tmp_path / 'server.db'}")
    artifacts = LocalArtifactStore(tmp_path / "server-artifacts")
    with serve(backend, artifacts=artifacts) as url:
        first = CliRunner().invoke(cli, ["sync", "--from", str(offline), "--to", url])
        second = CliRunner().invoke(cli, ["sync", "--from", str(offline), "--to", url, "--json"])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        f"created    {run.id}  p/trained  (2 artifacts, 2.5 MB)",
        f"created    {plain.id}  p/plain",
        f"Copied 2 runs to {url}: 2 created, 0 updated, 0 unchanged; 2 metric points, "
        f"0 log characters and 2 artifacts (2.5 MB) sent.",
    ]
    assert second.exit_code == 0, second.output
    report = json.loads(second.output)
    assert (report["runs_unchanged"], report["artifacts_copied"], report["artifact_bytes"]) == (
        2,
        0,
        0,
    )
    with artifacts.open(run.id, "ckpt/weights.bin") as f:
        assert f.read() == weights
    assert [a.path for a in artifacts.list(run.id)] == ["ckpt/config.json", "ckpt/weights.bin"]
    backend.close()
