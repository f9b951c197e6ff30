"""``log_artifact`` with the server down: the files wait in the spool like points.

The server is a real one on loopback, started on a fixed port only after the
job logged its artifacts. The job gets its artifacts' infos at once; copies
wait next to its journal and are uploaded, after the run's creation and
exactly once, by the job itself or — when it ended first — by `ragtrack sync`.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner
from live_server import serve

import ragtrack
from ragtrack.cli import cli
from ragtrack.entities import RunStatus
from ragtrack.storage.artifacts import LocalArtifactStore
from ragtrack.storage.sql import SqlStore

ROOT = Path(__file__).resolve().parents[3]
QUIET = {"system_metrics": False, "console": False, "git": False, "packages": False}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_outputs(root: Path) -> dict[str, bytes]:
    """A checkpoint directory and a report; their contents by artifact path."""
    files = {
        "ckpt/config.json": b'{"dim": 768}',
        "ckpt/weights.bin": os.urandom(3 << 20),  # several upload chunks
        "report.md": b"# recall@10 = 0.61",
    }
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return files


def stored(artifacts: LocalArtifactStore, run_id: str) -> dict[str, bytes]:
    out = {}
    for info in artifacts.list(run_id):
        with artifacts.open(run_id, info.path) as f:
            out[info.path] = f.read()
    return out


def leftovers(spool: Path) -> list[Path]:
    return [p for p in spool.rglob("*") if p.is_file()] if spool.exists() else []


def copies(spool: Path) -> list[Path]:
    """Artifact copies waiting in the spool (the journal of a live process stays open)."""
    return [p for p in leftovers(spool) if p.parent.name.endswith(".files")]


def test_artifacts_logged_while_down_are_uploaded_when_the_server_answers(
    tmp_path: Path, tmp_cwd: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    files = make_outputs(tmp_path / "out")
    run = ragtrack.init(uri=url, project="p", capture=QUIET)  # its creation is spooled too
    infos = run.log_artifact(tmp_path / "out" / "ckpt")
    infos += run.log_artifact(tmp_path / "out" / "report.md")
    assert {i.path: i.sha256 for i in infos} == {
        p: hashlib.sha256(d).hexdigest() for p, d in files.items()
    }
    # The job moves on and overwrites its outputs: the spool kept copies.
    (tmp_path / "out" / "ckpt" / "weights.bin").write_bytes(b"overwritten")
    (tmp_path / "out" / "report.md").unlink()

    backend = SqlStore(f"sqlite:///{tmp_path / 'server.db'}")
    artifacts = LocalArtifactStore(tmp_path / "server-artifacts")
    with serve(backend, artifacts=artifacts, port=port):
        run.finish(timeout=30)  # waits for the spool, artifacts included
    assert backend.get_run(run.id).status is RunStatus.COMPLETED
    assert stored(artifacts, run.id) == files
    assert copies(tmp_cwd / "spool") == []  # gone once uploaded
    backend.close()


JOB = """
import pathlib, sys
import ragtrack
run = ragtrack.init(project="p", capture=False)
infos = run.log_artifact(sys.argv[1])
run.finish(timeout=0)  # the server is down: leave it to `ragtrack sync`
print("RUN", run.id, len(infos), flush=True)
"""


def test_sync_uploads_the_artifacts_a_finished_job_left_in_the_spool(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spool = tmp_path / "spool"
    files = make_outputs(tmp_path / "out")
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(JOB))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "out" / "ckpt")],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RAGTRACK_URI": url,
            "RAGTRACK_SPOOL_DIR": str(spool),
        },
    )
    assert done.returncode == 0, done.stderr
    _, run_id, count = done.stdout.split()
    assert count == "2"
    assert len(leftovers(spool)) >= 3  # the journal and two copies

    backend = SqlStore(f"sqlite:///{tmp_path / 'server.db'}")
    artifacts = LocalArtifactStore(tmp_path / "server-artifacts")
    with serve(backend, artifacts=artifacts, port=port):
        first = CliRunner().invoke(cli, ["sync", "--spool-dir", str(spool)])
        second = CliRunner().invoke(cli, ["sync", "--spool-dir", str(spool)])
    assert first.exit_code == 0, first.output
    assert f"{url}: sent 4 writes of 1 run" in first.output  # create, 2 artifacts, finish
    assert second.output.startswith("Nothing to sync")
    assert backend.get_run(run_id).status is RunStatus.COMPLETED
    expected = {p: d for p, d in files.items() if p.startswith("ckpt/")}
    assert stored(artifacts, run_id) == expected
    assert leftovers(spool) == []
    backend.close()


def test_copies_of_a_deleted_run_are_removed(tmp_path: Path, tmp_cwd: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    make_outputs(tmp_path / "out")
    backend = SqlStore(f"sqlite:///{tmp_path / 'server.db'}")
    artifacts = LocalArtifactStore(tmp_path / "server-artifacts")
    with serve(backend, artifacts=artifacts, port=port):
        run = ragtrack.init(uri=url, project="p", capture=QUIET)
    run.log_artifact(tmp_path / "out" / "report.md")  # the server is down now: spooled
    backend.delete_run(run.id)
    with serve(backend, artifacts=artifacts, port=port):
        run.finish(timeout=30)
    assert copies(tmp_cwd / "spool") == []
    assert artifacts.list(run.id) == []
    backend.close()
