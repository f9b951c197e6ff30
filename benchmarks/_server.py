"""A real `ragtrack server` process on loopback over a PostgreSQL database, for
the server workloads.

The database server is the local one at 127.0.0.1:5432 (user postgres, trust
auth) unless ``RAGTRACK_BENCH_PG`` names another (a SQLAlchemy URL of any
database on that server; workloads create their own databases beside it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator

import sqlalchemy as sa
from _timing import Skipped

ADMIN_URL = os.environ.get("RAGTRACK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def database_url(name: str) -> str:
    return sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def admin_engine() -> sa.Engine:
    try:
        engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as e:
        raise Skipped(
            f"no PostgreSQL at {sa.make_url(ADMIN_URL).render_as_string(hide_password=True)} "
            f"({type(e).__name__}); start one or set RAGTRACK_BENCH_PG"
        ) from e
    return engine


def database_exists(name: str) -> bool:
    engine = admin_engine()
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
    finally:
        engine.dispose()
    return found is not None


def recreate_database(name: str) -> str:
    """Drop and create database ``name``, migrate it to the head schema; its URL."""
    engine = admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    url = database_url(name)
    subprocess.run(
        [sys.executable, "-m", "ragtrack", "db", "upgrade", "--uri", url],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(store_url: str, workers: int = 1) -> Iterator[str]:
    """Start `ragtrack server` on a free loopback port; yields its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ragtrack-bench-artifacts-") as artifacts:
        command = [
            sys.executable,
            "-m",
            "ragtrack",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--store",
            store_url,
            "--artifacts",
            artifacts,
            "--workers",
            str(workers),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if process.stderr is not None:
                process.stderr.close()


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"ragtrack server exited with {process.returncode}:\n{err}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"ragtrack server at {url} did not become healthy in {timeout:.0f} s")
