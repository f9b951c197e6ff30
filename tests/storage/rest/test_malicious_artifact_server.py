"""A hostile server cannot make a download write outside its destination.

The fake server on loopback speaks the artifact API well enough for a client
to download a directory, but lists paths meant to escape (``..`` segments,
absolute paths, backslashes, paths outside the directory asked for). The
client holds every path it is sent to the rules uploads are held to, before it
writes anything.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from live_server import serve_handler

from ragtrack.exceptions import StoreError
from ragtrack.storage.rest._artifacts import RestArtifactStore

RUN = "3f2a9c1b0d4e5f60"


@pytest.fixture
def hostile_server() -> Iterator[tuple[str, list[str]]]:
    """A server listing whatever ``listing`` holds under any prefix; every
    file it serves says PWNED. Yields its URL and the (mutable) listing."""
    listing: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path == f"/api/v1/runs/{RUN}/artifacts":
                items = [{"path": p, "size": 6, "modified_at": 1.7e9} for p in listing]
                self._send(200, "application/json", json.dumps({"artifacts": items}).encode())
            elif url.path == f"/api/v1/runs/{RUN}/artifacts/ckpt":  # a directory, not a file
                body = {"error": {"code": "ARTIFACT_NOT_FOUND", "message": "no", "field": "path"}}
                self._send(404, "application/json", json.dumps(body).encode())
            else:
                self._send(200, "application/octet-stream", b"PWNED\n")

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serve_handler(Handler) as url:
        yield url, listing


@pytest.mark.parametrize(
    "evil",
    [
        "ckpt/../../escaped.txt",
        "ckpt/../../../../../../tmp/escaped.txt",
        "/tmp/escaped.txt",
        "ckpt/..\\..\\escaped.txt",
        "other/escaped.txt",
        "ckpt//escaped.txt",
        "ckpt/a\x00.txt",
    ],
)
def test_unsafe_listed_paths_are_refused_and_nothing_is_written(
    hostile_server: tuple[str, list[str]], tmp_path: Path, evil: str
) -> None:
    url, listing = hostile_server
    listing[:] = ["ckpt/fine.bin", evil]  # a good file first: it must not be written either
    dest = tmp_path / "downloads" / "here"
    dest.mkdir(parents=True)
    store = RestArtifactStore(url)
    with pytest.raises(StoreError, match="unsafe artifact path"):
        store.download(RUN, "ckpt", dest)
    with pytest.raises(StoreError, match="unsafe artifact path"):
        store.list(RUN, "ckpt/")
    store.close()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []
    assert not Path("/tmp/escaped.txt").exists()


def test_a_safe_listing_downloads_inside_the_destination(
    hostile_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, listing = hostile_server
    listing[:] = ["ckpt/a.bin", "ckpt/sub/b.bin"]
    store = RestArtifactStore(url)
    target = store.download(RUN, "ckpt", tmp_path)
    store.close()
    assert target == tmp_path / "ckpt"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.bin")) == [
        "ckpt/a.bin",
        "ckpt/sub/b.bin",
    ]
