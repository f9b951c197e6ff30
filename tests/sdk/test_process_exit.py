"""What happens to a run when its process ends badly: real child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import ragtrack

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

LOGGER = """
import os, signal, sys, time
# What a terminal gives a job: ctrl-c raises KeyboardInterrupt, even when this
# test suite was started with SIGINT ignored (`trap '' INT`, nohup, CI runners),
# which a child would otherwise inherit.
signal.signal(signal.SIGINT, signal.default_int_handler)
import ragtrack
run = ragtrack.init(project="p", dir=sys.argv[1], flush_interval=0.2,
                    capture={"system_metrics": False, "git": False, "packages": False})
print("RUN", run.id, flush=True)
{body}
"""


Start = Callable[..., tuple[subprocess.Popen[str], str]]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Start the job with ``body``; every job is killed and its pipes closed at
    teardown, so a failing test leaks no pipe (a ResourceWarning, an error here)
    into the tests after it."""
    started: list[subprocess.Popen[str]] = []

    def spawn(body: str, **env: str) -> tuple[subprocess.Popen[str], str]:
        script = tmp_path / "job.py"
        script.write_text(LOGGER.replace("{body}", textwrap.dedent(body)))
        proc = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "store")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "RAGTRACK_HEARTBEAT_INTERVAL": "0.2",
                **env,
            },
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert line.startswith("RUN "), line + proc.stderr.read()
        return proc, line.split()[1]

    yield spawn
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reads what is left, waits, closes both pipes


def wait_for_points(api: ragtrack.Api, run_id: str, key: str, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(api.run(run_id).history(key)) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} points of {key} arrived in {timeout}s")


def test_sigkill_loses_at_most_the_last_interval_and_reads_as_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: Start
) -> None:
    proc, run_id = start(
        """
        i = 0
        while True:
            run.log({"step_time": time.time()}, step=i)
            i += 1
            time.sleep(0.002)
        """,
    )
    monkeypatch.setenv("RAGTRACK_HEARTBEAT_TIMEOUT", "2")
    api = ragtrack.Api(dir=tmp_path / "store")
    wait_for_points(api, run_id, "step_time", 200)
    assert api.run(run_id).status is ragtrack.RunStatus.RUNNING
    proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    proc.wait(10)

    history = api.run(run_id).history("step_time")
    # Every point up to the last flush before the kill is there, in order, once.
    assert history.steps.tolist() == list(range(len(history)))
    assert killed_at - history.values[-1] < 0.2 + 0.5  # flush interval + scheduling slack

    time.sleep(2.5)
    crashed = ragtrack.Api(dir=tmp_path / "store").run(run_id)
    assert crashed.status is ragtrack.RunStatus.CRASHED
    assert [r.id for r in api.runs("p", filter="status = 'crashed'")] == [run_id]


@pytest.mark.parametrize(
    ("signum", "reason", "inherited"),
    [
        (signal.SIGTERM, "stopped by SIGTERM", signal.SIG_DFL),
        (signal.SIGINT, "KeyboardInterrupt", signal.SIG_DFL),
        (signal.SIGINT, "KeyboardInterrupt", signal.SIG_IGN),
    ],
    ids=["sigterm", "ctrl-c", "ctrl-c-started-with-sigint-ignored"],
)
def test_termination_signals_flush_and_mark_stopped(
    tmp_path: Path,
    signum: signal.Signals,
    reason: str,
    inherited: signal.Handlers,
    start: Start,
) -> None:
    previous = signal.signal(signal.SIGINT, inherited)  # what the job inherits
    try:
        proc, run_id = start(
            """
            for i in range(100):
                run.log({"x": float(i)})
            print("LOGGED", flush=True)
            time.sleep(60)
            """,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert proc.stdout.readline().strip() == "LOGGED"  # type: ignore[union-attr]
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=20)
    if signum == signal.SIGTERM:
        assert proc.returncode == -signal.SIGTERM  # dies the way SIGTERM kills
    else:
        assert "KeyboardInterrupt" in err
    stored = ragtrack.Api(dir=tmp_path / "store").run(run_id)
    assert stored.status is ragtrack.RunStatus.STOPPED
    assert stored.error is not None and reason in stored.error
    assert len(stored.history("x")) == 100


def test_uncaught_exception_marks_failed_with_traceback(tmp_path: Path, start: Start) -> None:
    proc, run_id = start(
        """
        run.log({"x": 1.0})
        raise RuntimeError("index build exploded")
        """,
    )
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "index build exploded" in err
    stored = ragtrack.Api(dir=tmp_path / "store").run(run_id)
    assert stored.status is ragtrack.RunStatus.FAILED
    assert stored.error is not None and "RuntimeError: index build exploded" in stored.error
    assert stored.history("x").values.tolist() == [1.0]


def test_normal_exit_without_finish_completes_and_flushes(tmp_path: Path, start: Start) -> None:
    proc, run_id = start(
        """
        for i in range(1000):
            run.log({"x": float(i)})
        """,
    )
    proc.communicate(timeout=20)
    assert proc.returncode == 0
    stored = ragtrack.Api(dir=tmp_path / "store").run(run_id)
    assert stored.status is ragtrack.RunStatus.COMPLETED
    assert len(stored.history("x")) == 1000


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads thread masks from /proc")
def test_ragtrack_threads_leave_ctrl_c_and_sigterm_to_the_main_thread(tmp_path: Path) -> None:
    """The kernel gives a process's signal to any thread that does not block it;
    one of ours taking Ctrl-C would leave the KeyboardInterrupt waiting until the
    main thread's blocking call (a sleep, a socket read) returned by itself."""
    run = ragtrack.init(project="p", dir=tmp_path, capture={"git": False, "packages": False})
    try:
        run.log({"x": 1.0})
        run.flush()
        ours = [t for t in threading.enumerate() if t.name.startswith("ragtrack-")]
        assert {t.name for t in ours} >= {"ragtrack-flusher", "ragtrack-system-metrics"}
        for thread in ours:
            status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
            blocked = int(
                next(s for s in status.splitlines() if s.startswith("SigBlk:")).split()[1], 16
            )
            for signum in (signal.SIGINT, signal.SIGTERM):
                assert blocked & (1 << (signum - 1)), f"{thread.name} may take {signum.name}"
    finally:
        run.finish()
