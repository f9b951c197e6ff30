"""A spool that cannot write (disk full) while the server is down: real processes.

How the disk fills: the job runs in a child process whose file-size limit
(``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored) stops its spool journal from
growing past 256 KB, so SQLite's writes fail inside the kernel exactly where
a full disk fails them — no root, no special file system, and the rest of the
machine unaffected. ("Space returns" is the job raising its own limit again
on SIGUSR1.) A tiny tmpfs would need mount privileges; injecting
``OSError(ENOSPC)`` would test our guess of where the failure surfaces instead
of SQLite's real behaviour.

The server is down when the job starts and comes back, on the same port,
either before or after the space does. Nothing logged may be lost, the job
must say so loudly, and ``finish()`` must return with the run completed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from live_server import serve

from ragtrack.entities import RunStatus
from ragtrack.storage.sql import SqlStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
LIMIT = 256 * 1024

JOB = """
import pathlib, resource, signal, sys, time
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
signal.signal(
    signal.SIGUSR1,
    lambda *_: resource.setrlimit(
        resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    ),
)
import ragtrack
stop = pathlib.Path(sys.argv[1])
run = ragtrack.init(project="p", flush_interval=0.05,
                    capture={"system_metrics": False, "git": False, "packages": False})
print("RUN", run.id, flush=True)
i = 0
while not stop.exists():
    run.log({"x": float(i), "y": float(-i)}, step=i)
    i += 1
    time.sleep(0.0005)
run.finish()
print("FINISHED", i, flush=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StderrWatcher:
    """Collects a child's stderr lines as they come, so the test can wait for one."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        self.lines: list[str] = []
        self._stream = proc.stderr
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            time.sleep(0.05)
        pytest.fail(f"no {text!r} on the job's stderr in {timeout} s:\n{''.join(self.lines)}")

    def text(self) -> str:
        self._thread.join(10)
        return "".join(self.lines)


@pytest.mark.parametrize("first", ["server", "space"], ids=["server-first", "space-first"])
def test_a_full_spool_loses_nothing_and_finish_returns(tmp_path: Path, first: str) -> None:
    port = free_port()
    spool = tmp_path / "spool"
    stop = tmp_path / "stop"
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(JOB))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(stop), str(LIMIT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RAGTRACK_URI": f"http://127.0.0.1:{port}",
            "RAGTRACK_SPOOL_DIR": str(spool),
            "RAGTRACK_SYNC_TIMEOUT": "30",
        },
    )
    backend = SqlStore(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        assert proc.stdout is not None
        watcher = StderrWatcher(proc)
        line = proc.stdout.readline()
        if not line.startswith("RUN "):
            proc.kill()
            pytest.fail(line + watcher.text())
        run_id = line.split()[1]
        # The server is down and the journal hits the limit: the job says so.
        watcher.wait_for("cannot write the spool journal")
        if first == "space":
            proc.send_signal(signal.SIGUSR1)
            time.sleep(0.5)  # held writes go to the journal while the server is still down
        with serve(backend, port=port):
            if first == "server":
                watcher.wait_for(f"run {run_id} is being stored")
                proc.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            stop.touch()
            proc.wait(60)
            out = proc.stdout.read()
        err = watcher.text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    try:
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        logged = int(out.split("FINISHED")[1])
        history = backend.get_history(run_id, "x")
        assert history.steps.tolist() == list(range(logged))  # every point, once, in order
        assert backend.get_history(run_id, "y").values[-1] == -(logged - 1)
        assert backend.get_run(run_id).status is RunStatus.COMPLETED
        # Loud, once per episode: the reason names the journal and the error.
        trouble = [line for line in err.splitlines() if "cannot write the spool journal" in line]
        assert len(trouble) == 1, err
        assert run_id in trouble[0] and str(spool) in trouble[0]
        assert not list(spool.glob("*/*.spool.sqlite"))  # delivered: nothing left behind
    finally:
        backend.close()
