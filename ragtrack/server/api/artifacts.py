"""``/api/v1/runs/{run_id}/artifacts``: streamed uploads and downloads of run files.

Neither direction holds a file in memory: an upload's body is handed to
``ArtifactStore.put`` (which runs in a worker thread) as a file object that
pulls the request's chunks from the event loop as ``put`` reads, and a download
streams ``ArtifactStore.open`` in chunks.

An upload holds its thread while the client sends, so uploads run in threads
of their own (:class:`UploadSlots`, ``--max-uploads`` at once), never in the
pool that every other request needs, and a body that stops arriving for
``--body-timeout`` seconds is answered 408 and dropped, nothing of it stored:
before, 40 stalled uploads took every worker thread and the server stopped
answering anyone.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, BinaryIO, cast
from urllib.parse import quote

import anyio.from_thread
import anyio.to_thread
from fastapi import Query
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from ragtrack.exceptions import InvalidArgumentError, StoreUnavailableError
from ragtrack.server._requests import timed_chunks
from ragtrack.server.api._common import ArtifactsDep, StoreDep, router, wire
from ragtrack.server.api.pagination import Page
from ragtrack.server.api.schemas import ArtifactOut, ArtifactPage
from ragtrack.storage.artifacts import validate_artifact_path
from ragtrack.storage.artifacts._base import CHUNK_SIZE
from ragtrack.storage.rest import _wire

artifacts_router = router("artifacts")

_PATH = "/runs/{run_id}/artifacts/{path:path}"
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@artifacts_router.put(
    _PATH, status_code=201, response_model=ArtifactOut, openapi_extra=_UPLOAD_BODY
)
async def put_artifact(
    run_id: str, path: str, request: Request, store: StoreDep, artifacts: ArtifactsDep
) -> Response:
    """Store the raw request body as the run's artifact ``path`` (replacing any
    previous one); answers with its size and sha256."""
    path = validate_artifact_path(path)
    await anyio.to_thread.run_sync(store.get_run, run_id)  # 404 before reading the body
    slots: UploadSlots = request.app.state.upload_slots
    body = _RequestBody(timed_chunks(request, f"the upload of {path!r}"))
    source = cast(BinaryIO, io.BufferedReader(body, CHUNK_SIZE))
    try:
        async with slots.slot(request.app.state.settings.body_timeout):
            info = await anyio.to_thread.run_sync(
                artifacts.put, run_id, path, source, limiter=slots.threads
            )
    except ClientDisconnect:
        raise InvalidArgumentError(
            f"the upload of {path!r} broke off before the body was complete", field="body"
        ) from None
    return wire(_wire.artifact_to_json(info), 201)


@artifacts_router.get(
    _PATH,
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
def get_artifact(run_id: str, path: str, artifacts: ArtifactsDep) -> Response:
    """Download an artifact (streamed, with Content-Length), always as an
    attachment of type ``application/octet-stream``: a file a run logged (an
    HTML report, an SVG) never runs in the server's origin."""
    info = artifacts.info(run_id, path)
    source = artifacts.open(run_id, path)
    return StreamingResponse(
        _chunks(source),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(info.size),
            "Content-Disposition": _attachment(info.path),
            # Never run as a page of this server, should a browser render it anyway.
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff",
        },
        background=BackgroundTask(source.close),  # also when the client went away
    )


@artifacts_router.delete(_PATH, status_code=204, response_class=Response)
def delete_artifact(run_id: str, path: str, artifacts: ArtifactsDep) -> Response:
    """Delete one artifact."""
    artifacts.delete(run_id, path)
    return Response(status_code=204)


@artifacts_router.get("/runs/{run_id}/artifacts", response_model=ArtifactPage)
def list_artifacts(
    run_id: str,
    store: StoreDep,
    artifacts: ArtifactsDep,
    page: Page,
    prefix: Annotated[
        str, Query(description="Only paths starting with this ('model/' lists a directory).")
    ] = "",
) -> Response:
    """The run's artifacts by path."""
    store.get_run(run_id)  # an unknown run is a 404, not an empty list
    items, next_cursor = page.slice(artifacts.list(run_id, prefix))
    return wire(
        {"artifacts": [_wire.artifact_to_json(a) for a in items], "next_cursor": next_cursor}
    )


class UploadSlots:
    """How many uploads the server stores at once, and their threads (apart
    from the pool that serves every other request)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = anyio.Semaphore(size)
        self.threads = anyio.CapacityLimiter(size)

    @contextlib.asynccontextmanager
    async def slot(self, timeout: float) -> AsyncIterator[None]:
        """Hold one slot; 503 (safe to retry) when none frees up within ``timeout``."""
        acquired = False
        with anyio.move_on_after(timeout):
            await self._free.acquire()
            acquired = True
        if not acquired:
            raise StoreUnavailableError(
                f"the server is storing {self.size} uploads already (ragtrack server "
                f"--max-uploads); retry later"
            )
        try:
            yield
        finally:
            self._free.release()


class _RequestBody(io.RawIOBase):
    """A blocking, readable file over a request body, read from a worker thread:
    each read waits on the event loop for the next chunk, so the upload goes
    only as fast as the artifact store writes (and fails as the chunks do:
    RequestTimeoutError when the client stops sending)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            self._pending = memoryview(anyio.from_thread.run(self._next))
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    async def _next(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            self._done = True
            return b""


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    with source:
        while chunk := source.read(CHUNK_SIZE):
            yield chunk


def _attachment(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
