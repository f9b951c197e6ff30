"""A training process keeps every point while its server is killed and restarted.

Real processes end to end: ``ragtrack server`` as a subprocess (over a SQLite
file, and over a throwaway PostgreSQL database migrated with ``ragtrack db
upgrade``), and a child process logging through ``RAGTRACK_URI``. The server
is SIGKILLed mid-run and restarted on the same port; the run's writes wait in
the child's spool meanwhile and ``finish()`` waits for them. Then ``ragtrack
sync --from DIR --to http://...`` copies an embedded store to the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import ragtrack
from ragtrack.entities import RunStatus
from ragtrack.storage import _spool
from ragtrack.storage.sql import SqlStore

pytestmark = pytest.mark.slow

ADMIN_URL = os.environ.get(
    "RAGTRACK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STEPS = 3000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``ragtrack server`` on a fixed port, which can be killed and started again."""

    def __init__(self, store_url: str, artifacts: Path) -> None:
        self.store_url = store_url
        self.artifacts = artifacts
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "ragtrack", "server", "--host", "127.0.0.1",
            "--port", str(self.port), "--store", self.store_url,
            "--artifacts", str(self.artifacts),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                err = self.process.stderr.read().decode(errors="replace")
                raise RuntimeError(f"ragtrack server exited with {self.process.returncode}:\n{err}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"ragtrack server at {self.url} did not start in 30 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _postgres_url() -> Iterator[str]:
    def unavailable(reason: str) -> None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"PostgreSQL not available ({reason}); set RAGTRACK_TEST_POSTGRES")

    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed: pip install 'ragtrack[postgres]'")
    name = f"ragtrack_e2e_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as e:
        admin.dispose()
        unavailable(str(e.orig).splitlines()[0])
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        subprocess.run(
            [sys.executable, "-m", "ragtrack", "db", "upgrade", "--uri", url],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server' / 'ragtrack.db'}"
    else:
        yield from _postgres_url()


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "server").mkdir(exist_ok=True)
    s = Server(store_url, tmp_path / "artifacts")
    s.start()
    yield s
    s.stop()


_TRAINING = textwrap.dedent(
    f"""
    import time
    import ragtrack

    run = ragtrack.init(project="e2e", name="restart", capture=False)
    print(run.id, flush=True)
    for step in range({STEPS}):
        run.log({{"loss": 1 / (step + 1), "acc": step / {STEPS}, "lr": 0.001 * (step % 100)}})
        time.sleep(0.002)
    run.finish()
    print("finished", flush=True)
    """
)


def test_a_run_loses_nothing_when_its_server_restarts(server: Server, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    env = {
        **os.environ,
        "RAGTRACK_URI": server.url,
        "RAGTRACK_SPOOL_DIR": str(spool),
        "RAGTRACK_SYNC_TIMEOUT": "60",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _TRAINING],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        assert run_id, child.stderr.read() if child.stderr else ""
        time.sleep(1.5)  # a few flushes get through
        server.stop(signal.SIGKILL)
        time.sleep(1.5)
        assert child.poll() is None, "the run should still be logging"
        assert _spool.journal_paths(spool), "a flush should have gone to the spool"
        server.start()
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    assert out.strip() == "finished"
    assert "could not be delivered" not in err
    assert _spool.journal_paths(spool) == []  # delivered and deleted

    store = SqlStore(server.store_url, upgrade=False)
    try:
        run = store.get_run(run_id)
        assert run.status == RunStatus.COMPLETED
        steps = np.arange(STEPS)
        expected = {
            "loss": 1 / (steps + 1),
            "acc": steps / STEPS,
            "lr": 0.001 * (steps % 100),
        }
        for key, values in expected.items():
            history = store.get_history(run_id, key)
            assert history.steps.tolist() == steps.tolist(), key  # each step exactly once
            np.testing.assert_array_equal(history.values, values)
            assert run.metrics[key].count == STEPS
    finally:
        store.close()


def test_sync_copies_an_embedded_store_to_the_server(server: Server, tmp_path: Path) -> None:
    local = tmp_path / "local"
    for i in range(3):
        with ragtrack.init(
            project="offline", name=f"r{i}", config={"i": i}, dir=local, capture=False
        ) as run:
            for step in range(100):
                run.log({"loss": step / 100, "nan": float("nan")})
    command = [sys.executable, "-m", "ragtrack", "sync", "--from", str(local), "--to", server.url]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "Copied 3 runs" in first.stdout and "3 created" in first.stdout
    with ragtrack.init(project="offline", name="r3", dir=local, capture=False) as run:
        run.log({"loss": 1.0})
    second = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert '"runs_created": 1' in second.stdout and '"runs_unchanged": 3' in second.stdout

    source = ragtrack.Api(dir=local)
    store = SqlStore(server.store_url, upgrade=False)
    try:
        for original in source.runs(project="offline"):
            copied = store.get_run(original.id)
            assert copied.name == original.name and copied.status == RunStatus.COMPLETED
            assert copied.metrics["loss"].count == original.history("loss").steps.size
    finally:
        store.close()
        source.close()
