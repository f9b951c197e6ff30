"""A real ragtrack server in a background thread, for tests (see conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ragtrack.storage import Store
from ragtrack.storage.artifacts import ArtifactStore
from ragtrack.storage.sql import SqlStore
from ragtrack.storage.sql._schema import metadata


@contextmanager
def serve(
    store: Store,
    *,
    token: str | None = None,
    port: int = 0,
    artifacts: ArtifactStore | None = None,
) -> Iterator[str]:
    """Serve ``store`` (and ``artifacts``, if given) on 127.0.0.1 (on ``port``,
    default any free one) until the block ends; yields the server URL."""
    pytest.importorskip("fastapi", reason="the server needs pip install 'ragtrack[server]'")
    import uvicorn

    from ragtrack.server.app import create_app
    from ragtrack.server.settings import ServerSettings

    app = create_app(store, artifacts, ServerSettings(auth_token=token))
    # ws="none": the websockets import warns, and warnings are errors here.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class LiveServer:
    """A running server and the SqlStore behind it."""

    url: str
    backend: SqlStore

    def empty(self) -> None:
        """Delete everything, so a test starts from an empty store."""
        engine = self.backend._engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                tables = ", ".join(t.name for t in metadata.sorted_tables)
                conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            else:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())


@contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A plain ``http.server`` on 127.0.0.1 answering with ``handler`` (fake
    servers: scripted answers, hostile listings); yields its URL."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that timed out and hung up: nothing to report

    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
