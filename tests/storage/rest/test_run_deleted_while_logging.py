"""A run deleted by another process while its job still logs: real processes.

The job runs in a child process and logs through the SDK, to an embedded
SQLite store or to a real server on loopback (through the spool, as users do);
the test deletes its run (``ragtrack runs delete``) or its experiment from
outside. A deleted run is a permanent condition: the job warns once, naming
the run, keeps running, and ``finish()`` returns; the run does not come back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ragtrack.exceptions import RunNotFoundError
from ragtrack.storage import Store, open_store

if TYPE_CHECKING:
    from live_server import LiveServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]

JOB = """
import pathlib, sys, time
import ragtrack
stop = pathlib.Path(sys.argv[1])
run = ragtrack.init(project="p", experiment="e", flush_interval=0.1,
                    capture={"system_metrics": False, "git": False, "packages": False})
print("RUN", run.id, flush=True)
i = 0
while not stop.exists():
    run.log({"x": float(i)})
    run.summary["last"] = i
    if i % 20 == 0:
        print("step", i, flush=True)  # console capture: log chunks too
    i += 1
    time.sleep(0.005)
run.config.update({"after_delete": True})
run.finish()
print("FINISHED", i, flush=True)
"""


def start_job(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, Path]:
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(JOB))
    stop = tmp_path / "stop"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RAGTRACK_HEARTBEAT_INTERVAL": "0.1",
            "RAGTRACK_SYNC_TIMEOUT": "10",
            **env,
        },
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("RUN "):
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the job did not start: {line}{err}")
    return proc, line.split()[1], stop


def wait_for_points(store: Store, run_id: str, n: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if len(store.get_history(run_id, "x")) >= n:
                return
        except RunNotFoundError:
            pass  # a spooled create_run may not have arrived yet
        time.sleep(0.05)
    pytest.fail(f"fewer than {n} points of run {run_id} arrived in 20 s")


@pytest.fixture(params=["embedded", "server"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, str], str]:
    """The job's environment and the location the test deletes from."""
    monkeypatch.delenv("RAGTRACK_URI", raising=False)
    monkeypatch.delenv("RAGTRACK_DIR", raising=False)
    spool = str(tmp_path / "spool")
    if request.param == "embedded":
        location = str(tmp_path / "store")
        return {"RAGTRACK_DIR": location, "RAGTRACK_SPOOL_DIR": spool}, location
    server: LiveServer = request.getfixturevalue("server")
    return {"RAGTRACK_URI": server.url, "RAGTRACK_SPOOL_DIR": spool}, server.url


def delete_with_cli(location: str, run_id: str) -> None:
    where = ["--dir", location] if "://" not in location else []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if "://" in location:
        env["RAGTRACK_URI"] = location
    done = subprocess.run(
        [sys.executable, "-m", "ragtrack", *where, "runs", "delete", run_id, "--yes"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("deleted", ["run", "experiment"])
def test_a_deleted_run_warns_once_and_the_job_finishes_normally(
    backend: tuple[dict[str, str], str], tmp_path: Path, deleted: str
) -> None:
    env, location = backend
    proc, run_id, stop = start_job(tmp_path, env)
    store = open_store(uri=location) if "://" in location else open_store(dir=location)
    try:
        wait_for_points(store, run_id, 20)
        if deleted == "run":
            delete_with_cli(location, run_id)
        else:
            assert store.delete_experiment("p", "e") == 1
        time.sleep(1.0)  # ten flush intervals and heartbeats against the deleted run
        stop.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    try:
        assert proc.returncode == 0, err
        assert "FINISHED" in out
        assert "Traceback" not in err, err
        warnings = [line for line in err.splitlines() if run_id in line]
        assert len(warnings) == 1, err
        assert "deleted" in warnings[0]
        with pytest.raises(RunNotFoundError):  # no write brought it back
            store.get_run(run_id)
        assert not list((tmp_path / "spool").glob("*/*.spool.sqlite"))  # nothing left queued
    finally:
        store.close()
