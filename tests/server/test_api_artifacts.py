"""Artifacts over HTTP: streamed uploads and downloads, listing, path checks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

API = "/api/v1"


def test_upload_download_list_delete(api: Any) -> None:
    run = api.run()
    base = f"{API}/runs/{run['id']}/artifacts"
    data = os.urandom(3 * 2**20 + 17)  # several chunks
    info = api.ok("PUT", f"{base}/model/weights.bin", content=data)
    assert info["path"] == "model/weights.bin" and info["size"] == len(data)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    api.ok("PUT", f"{base}/plots/recall%40k%20%E2%80%94%20%C3%BC.png", content=b"png")
    api.ok("PUT", f"{base}/empty.txt", content=b"")

    response = api.call("GET", f"{base}/model/weights.bin")
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith('attachment; filename="weights.bin"')
    unicode = api.call("GET", f"{base}/plots/recall@k — ü.png")
    assert unicode.content == b"png"
    assert (
        "filename*=UTF-8''recall%40k%20%E2%80%94%20%C3%BC.png"
        in (unicode.headers["content-disposition"])
    )
    assert api.call("GET", f"{base}/empty.txt").content == b""

    listed = api.ok("GET", base)
    assert [a["path"] for a in listed["artifacts"]] == [
        "empty.txt",
        "model/weights.bin",
        "plots/recall@k — ü.png",
    ]
    assert listed["next_cursor"] is None
    assert set(listed["artifacts"][0]) == {"path", "size", "modified_at", "sha256"}
    assert [a["path"] for a in api.ok("GET", base, params={"prefix": "model/"})["artifacts"]] == [
        "model/weights.bin"
    ]
    page = api.ok("GET", base, params={"limit": 2})
    assert len(page["artifacts"]) == 2
    rest = api.ok("GET", base, params={"limit": 2, "cursor": page["next_cursor"]})
    assert [a["path"] for a in rest["artifacts"]] == ["plots/recall@k — ü.png"]

    # Replacing is last-writer-wins.
    api.ok("PUT", f"{base}/empty.txt", content=b"now full")
    assert api.call("GET", f"{base}/empty.txt").content == b"now full"

    assert api.ok("DELETE", f"{base}/model/weights.bin") is None
    api.error(
        "GET", f"{base}/model/weights.bin", status=404, code="ARTIFACT_NOT_FOUND", field="path"
    )
    api.error("DELETE", f"{base}/model/weights.bin", status=404, code="ARTIFACT_NOT_FOUND")


def test_upload_is_streamed_from_a_chunked_body(api: Any) -> None:
    run = api.run()
    chunks = [os.urandom(100_000) for _ in range(20)]

    def body() -> Iterator[bytes]:
        yield from chunks

    info = api.ok("PUT", f"{API}/runs/{run['id']}/artifacts/stream.bin", content=body())
    assert info["size"] == 2_000_000
    assert info["sha256"] == hashlib.sha256(b"".join(chunks)).hexdigest()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # no store is involved
@pytest.mark.parametrize(
    "path",
    [
        "%2e%2e/secret",
        "a/%2e%2e/%2e%2e/secret",
        "%2e%2e%2fsecret",
        "a/%2e/b",
        "a//b",
        "a/b/",
        "a%5Cb",
        "%2Fetc%2Fpasswd",
        "a%00b",
        ".ragtrack-upload-x",
        "x" * 1025,
    ],
)
def test_bad_artifact_paths_are_400(api: Any, path: str, tmp_path: Any) -> None:
    run = api.run()
    base = f"{API}/runs/{run['id']}/artifacts"
    for method, kwargs in (("PUT", {"content": b"x"}), ("GET", {}), ("DELETE", {})):
        api.error(method, f"{base}/{path}", status=400, code="INVALID_ARGUMENT", **kwargs)
    # Nothing was written outside the artifact root.
    assert not (tmp_path / "secret").exists()


def test_artifact_errors(api: Any) -> None:
    run = api.run()
    base = f"{API}/runs/{run['id']}/artifacts"
    api.ok("PUT", f"{base}/a.txt", content=b"x")
    api.error(
        "PUT",
        f"{base}/a.txt/b.txt",
        content=b"x",
        status=400,
        code="INVALID_ARGUMENT",
        field="path",
    )
    api.error(
        "GET", base, params={"prefix": "../"}, status=400, code="INVALID_ARGUMENT", field="prefix"
    )
    api.error("GET", f"{API}/runs/nope/artifacts/a.txt", status=404, code="ARTIFACT_NOT_FOUND")


def test_server_without_artifact_store(store: Any) -> None:
    from fastapi.testclient import TestClient

    from ragtrack.server import create_app

    with TestClient(create_app(store)) as client:
        run = client.post(f"{API}/runs", json={"project": "p"}).json()
        response = client.put(f"{API}/runs/{run['id']}/artifacts/a.txt", content=b"x")
        assert response.status_code == 404
        assert "--artifacts" in response.json()["error"]["message"]
        assert client.delete(f"{API}/runs/{run['id']}").status_code == 204


def test_uploads_beyond_the_limit_wait_then_get_503() -> None:
    import anyio
    import anyio.from_thread

    from ragtrack.exceptions import StoreUnavailableError
    from ragtrack.server.api.artifacts import UploadSlots

    async def main() -> None:
        slots = UploadSlots(1)
        async with slots.slot(timeout=5):
            with pytest.raises(StoreUnavailableError, match="--max-uploads"):
                async with slots.slot(timeout=0.05):
                    pass
        async with slots.slot(timeout=0.05):  # freed again
            pass

    # In a thread of its own: the browser tests keep an event loop running in this one.
    with anyio.from_thread.start_blocking_portal() as portal:
        portal.call(main)
