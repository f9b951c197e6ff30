"""RestArtifactStore against a stand-in for the server's artifact endpoints
(the REST API in docs/artifacts.md, served from a LocalArtifactStore by
``http.server``); the real server runs the same contract in its own tests."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from ragtrack.exceptions import (
    ArtifactNotFoundError,
    AuthenticationError,
    InvalidArgumentError,
    NotFoundError,
    RagtrackError,
    RunNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from ragtrack.storage.artifacts import ArtifactInfo, ArtifactStore, LocalArtifactStore
from ragtrack.storage.rest._artifacts import RestArtifactStore, response_error
from ragtrack.testing.artifact_contract import RUN, ArtifactStoreContract, RecordingReader, payload

_ROUTE = re.compile(r"/api/v1/runs/([^/]+)/artifacts(?:/(.+))?")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, backend: LocalArtifactStore, token: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.backend = backend
        self.token = token
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.fail_with: int | None = None
        self.corrupt_digest = False
        self.busy = threading.Semaphore(64)  # one taken per request being handled

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Until no request is being handled: a client sees a broken upload fail
        before the server has noticed and cleaned up."""
        deadline = time.monotonic() + timeout
        taken = 0
        try:
            while taken < 64:
                left = deadline - time.monotonic()
                assert self.busy.acquire(timeout=max(left, 0)), "the server stays busy"
                taken += 1
        finally:
            for _ in range(taken):
                self.busy.release()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Body(io.RawIOBase):
    """The request body, Content-Length or chunked, read as the store asks."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._in = handler.rfile
        self._chunked = "chunked" in handler.headers.get("Transfer-Encoding", "")
        self._left = 0 if self._chunked else int(handler.headers.get("Content-Length") or 0)
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._eof:
            return 0
        if self._chunked and self._left == 0:
            line = self._in.readline()
            if not line:
                raise ConnectionResetError("upload broke off")
            self._left = int(line.split(b";")[0], 16)
            if self._left == 0:
                while self._in.readline() not in (b"\r\n", b""):
                    pass
                self._eof = True
                return 0
        if self._left == 0:
            self._eof = True
            return 0
        data = self._in.read(min(len(buffer), self._left))
        if not data:
            raise ConnectionResetError("upload broke off")
        self._left -= len(data)
        if self._chunked and self._left == 0:
            self._in.readline()  # the CRLF after a chunk
        buffer[: len(data)] = data
        return len(data)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        with self.server.busy:
            self._serve(method)

    def _serve(self, method: str) -> None:
        server = self.server
        server.requests.append((method, self.path, dict(self.headers)))
        if method == "PUT":
            self.close_connection = True  # an error may leave the body unread
        try:
            if server.fail_with:
                self.close_connection = True
                self._send(server.fail_with, b"<html>bad gateway</html>", "text/html")
                return
            if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                raise AuthenticationError("missing or wrong token")
            url = urlsplit(self.path)
            match = _ROUTE.fullmatch(url.path)
            if match is None:
                raise NotFoundError(f"no route {url.path}")
            run_id, path = unquote(match[1]), match[2] and unquote(match[2])
            if run_id == "missing-run":
                raise RunNotFoundError(f"no run with id {run_id!r}")
            backend = server.backend
            if method == "PUT" and path:
                info = backend.put(run_id, path, cast(BinaryIO, io.BufferedReader(_Body(self))))
                sha256 = "0" * 64 if server.corrupt_digest else info.sha256
                self._json(201, {**_artifact(info), "sha256": sha256})
            elif method == "GET" and path:
                size = backend.info(run_id, path).size
                with backend.open(run_id, path) as f:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    while chunk := f.read(1 << 16):
                        self.wfile.write(chunk)
            elif method == "DELETE" and path:
                backend.delete(run_id, path)
                self._send(204, b"", "application/json")
            elif method == "GET":
                query = parse_qs(url.query)
                items = backend.list(run_id, query.get("prefix", [""])[0])
                start = int(query.get("cursor", ["0"])[0])
                limit = int(query.get("limit", ["100"])[0])
                page = items[start : start + limit]
                more = start + limit < len(items)
                self._json(
                    200,
                    {
                        "artifacts": [_artifact(a) for a in page],
                        "next_cursor": str(start + limit) if more else None,
                    },
                )
            else:
                raise NotFoundError("no such route")
        except RagtrackError as e:
            body = {"error": {"code": e.code, "message": e.message, "field": e.field}}
            self._json(e.http_status, body)
        except (ConnectionError, OSError):
            self.close_connection = True

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if self.close_connection:
            self.send_header("Connection", "close")
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _artifact(info: ArtifactInfo) -> dict[str, Any]:
    return {
        "path": info.path,
        "size": info.size,
        "modified_at": info.modified_at,
        "sha256": info.sha256,
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeServer]:
    fake = FakeServer(LocalArtifactStore(tmp_path / "server-artifacts"), token="s3cret")
    thread = threading.Thread(target=fake.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()
    thread.join()


@pytest.fixture
def client(server: FakeServer) -> Iterator[RestArtifactStore]:
    store = RestArtifactStore(server.url + "/", token="s3cret", read_timeout=10)
    yield store
    store.close()


class TestRestArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def artifact_store(self, client: RestArtifactStore) -> ArtifactStore:
        return client

    @pytest.fixture(autouse=True)
    def _backend(self, server: FakeServer) -> None:
        self._server = server
        self._root = server.backend.root

    def stored_names(self, store: ArtifactStore) -> list[str]:
        self._server.wait_idle()
        return sorted(
            str(Path(d, f).relative_to(self._root))
            for d, _, files in os.walk(self._root)
            for f in files
        )


def test_uploads_of_files_send_their_length(
    client: RestArtifactStore, server: FakeServer, tmp_path: Path
) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(payload(3 << 20))
    with open(source, "rb") as f:
        f.seek(100)
        info = client.put(RUN, "model/weights.bin", f)
    assert info.size == (3 << 20) - 100 and info.sha256 is not None
    method, _, headers = server.requests[-1]
    assert method == "PUT"
    assert headers["Content-Length"] == str((3 << 20) - 100)
    assert "Transfer-Encoding" not in headers
    assert headers["Authorization"] == "Bearer s3cret"


def test_uploads_of_streams_are_chunked(client: RestArtifactStore, server: FakeServer) -> None:
    source = RecordingReader(payload(2 << 20))  # not seekable
    assert client.put(RUN, "stream.bin", cast(BinaryIO, source)).size == 2 << 20
    _, _, headers = server.requests[-1]
    assert headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in headers


def test_paths_are_quoted(client: RestArtifactStore, server: FakeServer) -> None:
    client.put(RUN, "dir with space/100%?#.txt", io.BytesIO(b"x"))
    _, raw_path, _ = server.requests[-1]
    assert raw_path == f"/api/v1/runs/{RUN}/artifacts/dir%20with%20space/100%25%3F%23.txt"
    assert [a.path for a in client.list(RUN)] == ["dir with space/100%?#.txt"]


def test_listings_follow_the_cursor(
    client: RestArtifactStore, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragtrack.storage.rest import _artifacts

    monkeypatch.setattr(_artifacts, "PAGE_LIMIT", 2)
    for i in range(5):
        client.put(RUN, f"f{i}.txt", io.BytesIO(b"x"))
    assert [a.path for a in client.list(RUN)] == [f"f{i}.txt" for i in range(5)]
    lists = [p for m, p, _ in server.requests if m == "GET" and "?" in p]
    assert len(lists) == 3


def test_a_damaged_upload_is_reported(client: RestArtifactStore, server: FakeServer) -> None:
    server.corrupt_digest = True
    with pytest.raises(StoreError, match="arrived damaged"):
        client.put(RUN, "a.bin", io.BytesIO(b"data"))


def test_server_errors_come_back_as_their_exceptions(client: RestArtifactStore) -> None:
    with pytest.raises(RunNotFoundError, match="missing-run"):
        client.put("missing-run", "a.txt", io.BytesIO(b"x"))
    with pytest.raises(ArtifactNotFoundError) as e:
        client.open(RUN, "nope.txt")
    assert e.value.field == "path"
    with pytest.raises(ArtifactNotFoundError):
        client.delete(RUN, "nope.txt")


def test_a_wrong_token_is_an_authentication_error(server: FakeServer) -> None:
    store = RestArtifactStore(server.url, token="wrong")
    with pytest.raises(AuthenticationError):
        store.put(RUN, "a.txt", io.BytesIO(b"x"))
    with pytest.raises(AuthenticationError):
        store.list(RUN)


def test_5xx_answers_are_unavailable(client: RestArtifactStore, server: FakeServer) -> None:
    server.fail_with = 502
    with pytest.raises(StoreUnavailableError, match="HTTP 502"):
        client.put(RUN, "a.txt", io.BytesIO(b"x"))
    with pytest.raises(StoreUnavailableError):
        client.open(RUN, "a.txt")


def test_an_unreachable_server_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from ragtrack.storage.rest import _artifacts

    monkeypatch.setattr(_artifacts, "RETRY_DELAYS", (0.0,))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    store = RestArtifactStore(f"http://127.0.0.1:{port}")
    with pytest.raises(StoreUnavailableError, match="unavailable"):
        store.put(RUN, "a.txt", io.BytesIO(b"x"))
    with pytest.raises(StoreUnavailableError):
        store.open(RUN, "a.txt")


def test_closing_a_download_early(client: RestArtifactStore) -> None:
    client.put(RUN, "big.bin", io.BytesIO(payload(4 << 20)))
    with client.open(RUN, "big.bin") as f:
        assert len(f.read(1000)) == 1000
    # The connection was dropped, not drained; the client still works.
    with client.open(RUN, "big.bin") as f:
        assert len(f.read()) == 4 << 20


def _body(code: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": "m", "field": None}}).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, _body("RUN_NOT_FOUND"), RunNotFoundError),
        (404, _body("ARTIFACT_NOT_FOUND"), ArtifactNotFoundError),
        (400, _body("INVALID_ARGUMENT"), InvalidArgumentError),
        (400, b"not json", InvalidArgumentError),
        (401, b"", AuthenticationError),
        (404, b"<html>", NotFoundError),
        (418, b"", StoreError),
        (429, b"", StoreUnavailableError),
        (503, _body("STORE_ERROR"), StoreUnavailableError),
    ],
)
def test_response_errors(status: int, body: bytes, expected: type[RagtrackError]) -> None:
    error = response_error(status, body, "GET http://h/x")
    assert type(error) is expected
