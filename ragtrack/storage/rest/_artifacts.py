"""``RestArtifactStore``: the server's artifact endpoints as an ArtifactStore
(``/api/v1/runs/{run_id}/artifacts``).

Listings and deletes are JSON calls through the REST store's transport
(``_http.HttpTransport``: retries of reads, error bodies turned back into
exceptions). Uploads and downloads stream raw bytes over a pool of their own
and map errors the same way.

Example:
    >>> store = RestArtifactStore("http://127.0.0.1:8650")  # doctest: +SKIP
    >>> with open("weights.bin", "rb") as f:  # doctest: +SKIP
    ...     store.put("3f2a9c1b0d4e5f60", "model/weights.bin", f)
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import os
import stat
import time
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import urllib3

from ragtrack._version import __version__
from ragtrack.exceptions import (
    ArtifactNotFoundError,
    AuthenticationError,
    InvalidArgumentError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RagtrackError,
    StoreError,
    StoreUnavailableError,
)
from ragtrack.storage.artifacts._base import CHUNK_SIZE, ArtifactInfo, ArtifactStore
from ragtrack.storage.artifacts._paths import (
    checked_listed_path,
    validate_artifact_path,
    validate_artifact_prefix,
    validate_run_id,
)
from ragtrack.storage.rest import _wire
from ragtrack.storage.rest._http import (
    CONNECT_TIMEOUT,
    RETRY_DELAYS,
    HttpTransport,
    error_payload,
    is_unavailable,
    quote,
    rebuild_error,
)

#: The largest page the server hands out.
PAGE_LIMIT = 1000
_API = "/api/v1"


class RestArtifactStore(ArtifactStore):
    """Artifacts kept by a ragtrack server at ``url`` (``http(s)://host:port[/prefix]``).

    Uploads stream the source in :data:`CHUNK_SIZE` pieces, with a
    ``Content-Length`` when the source is a regular file or seekable and
    chunked transfer otherwise, and compare the sha256 the server reports with
    the one computed while sending. Downloads stream too. ``token`` is sent as
    a bearer token (callers pass ``$RAGTRACK_TOKEN``). Error bodies become the
    exception the server raised; an unreachable server or an HTTP 5xx/429
    answer is a StoreUnavailableError. Uploads are not retried: a source
    cannot be replayed.

    Args:
        url: the server.
        token: its bearer token, if it needs one.
        read_timeout: seconds to wait for each answer or piece of a download
            (default ``$RAGTRACK_HTTP_TIMEOUT`` or 60).
    """

    def __init__(
        self, url: str, token: str | None = None, *, read_timeout: float | None = None
    ) -> None:
        self._http = HttpTransport(url, token, read_timeout=read_timeout)
        self.url = self._http.base_url
        self._headers = {"User-Agent": f"ragtrack/{__version__}"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=8,
            retries=False,
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=self._http.read_timeout),
        )

    def __repr__(self) -> str:
        return f"RestArtifactStore({self.url!r})"

    def put(self, run_id: str, path: str, source: BinaryIO) -> ArtifactInfo:
        path = validate_artifact_path(path)
        body = _UploadBody(source)
        headers = {"Content-Type": "application/octet-stream", "Accept": "application/json"}
        length = _remaining_length(source)
        if length is not None:
            headers["Content-Length"] = str(length)
        try:
            response = self._stream(
                "PUT",
                _artifact_path(run_id, path),
                body=iter(body),
                headers=headers,
                chunked=length is None,
            )
        except StoreUnavailableError:
            if body.error is not None:
                # The source failed, not the server (urllib3 wraps it as a connection error).
                raise body.error from None
            raise
        info = _artifact_from_json(_json(response.data, self.url))
        sent = body.digest.hexdigest()
        if info.sha256 is not None and info.sha256 != sent:
            raise StoreError(
                f"artifact {path!r} of run {run_id} arrived damaged at {self.url}: the server "
                f"stored sha256 {info.sha256}, the client sent {sent}"
            )
        return info

    def open(self, run_id: str, path: str) -> BinaryIO:
        path = validate_artifact_path(path)
        response = self._stream("GET", _artifact_path(run_id, path), preload_content=False)
        return cast(BinaryIO, io.BufferedReader(_ResponseStream(response, self.url), CHUNK_SIZE))

    def info(self, run_id: str, path: str) -> ArtifactInfo:
        path = validate_artifact_path(path)
        # There is no info endpoint: the exact path sorts first among those it prefixes.
        page, _ = self._page(run_id, path, limit=1, cursor=None)
        if not page or page[0].path != path:
            raise ArtifactNotFoundError(f"run {run_id} has no artifact {path!r}", field="path")
        return page[0]

    def list(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        prefix = validate_artifact_prefix(prefix)
        out: list[ArtifactInfo] = []
        cursor: str | None = None
        while True:
            page, cursor = self._page(run_id, prefix, limit=PAGE_LIMIT, cursor=cursor)
            out.extend(page)
            if cursor is None:
                return out

    def delete(self, run_id: str, path: str) -> None:
        self._http.request("DELETE", _artifact_path(run_id, validate_artifact_path(path)))

    def delete_run(self, run_id: str) -> None:
        """Delete the run's artifacts one by one (deleting the run on the server,
        ``DELETE /api/v1/runs/{id}``, removes them with it in one call)."""
        for artifact in self.list(run_id):
            with contextlib.suppress(ArtifactNotFoundError):  # deleted concurrently
                self.delete(run_id, artifact.path)

    def close(self) -> None:
        self._pool.clear()
        self._http.release()

    # -- HTTP -------------------------------------------------------------------------------

    def _page(
        self, run_id: str, prefix: str, *, limit: int, cursor: str | None
    ) -> tuple[builtins.list[ArtifactInfo], str | None]:
        query: dict[str, str | int | None] = {"prefix": prefix, "limit": limit, "cursor": cursor}
        data = self._http.request("GET", _artifacts_path(run_id), query=query)
        try:
            page = [_artifact_from_json(a) for a in data["artifacts"]]
            next_cursor = data.get("next_cursor")
        except (KeyError, TypeError, AttributeError) as e:
            raise StoreError(f"unexpected artifact listing from {self.url}: {data!r}") from e
        for artifact in page:  # a hostile server must not steer downloads out of their folder
            checked_listed_path(artifact.path, prefix, self.url)
        return page, next_cursor

    def _stream(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
        preload_content: bool = True,
    ) -> urllib3.BaseHTTPResponse:
        # A download may be retried (a kept-alive connection the server just
        # closed fails at once); an upload not: its source cannot be replayed.
        delays = RETRY_DELAYS if method == "GET" else ()
        for attempt in range(len(delays) + 1):
            try:
                response = self._pool.request(
                    method,
                    self.url + path,
                    body=body,
                    headers={**self._headers, **(headers or {})},
                    chunked=chunked,
                    preload_content=preload_content,
                    redirect=False,
                )
                break
            except (urllib3.exceptions.HTTPError, OSError) as e:
                if attempt < len(delays) and not isinstance(e, urllib3.exceptions.ReadTimeoutError):
                    time.sleep(delays[attempt])
                    continue
                reason = getattr(e, "reason", None) or e
                raise StoreUnavailableError(
                    f"the ragtrack server at {self.url} is unavailable ({method} {path}: {reason})"
                ) from e
        if response.status >= 400:
            data = response.data if preload_content else _read_and_release(response)
            raise response_error(response.status, data, f"{method} {self.url}{path}")
        return response


def response_error(status: int, body: bytes, request: str) -> RagtrackError:
    """The exception for an error answer to ``request`` (``"GET http://..."``):
    the one its error body names, else one chosen by status; answers that mean
    "try again later" (:func:`~ragtrack.storage.rest._http.is_unavailable`) are
    StoreUnavailableError.

    Example:
        >>> body = b'{"error": {"code": "ARTIFACT_NOT_FOUND", "message": "gone", "field": "path"}}'
        >>> type(response_error(404, body, "GET http://h/a")).__name__
        'ArtifactNotFoundError'
        >>> type(response_error(502, b"<html>", "GET http://h/a")).__name__
        'StoreUnavailableError'
    """
    payload = error_payload(body)
    if is_unavailable(status, payload):
        detail = f": {payload[1]}" if payload else ""
        return StoreUnavailableError(f"{request} answered HTTP {status}{detail}")
    if payload is not None:
        return rebuild_error(*payload)
    cls = _STATUS_CLASSES.get(status, StoreError)
    return cls(
        f"{request} answered HTTP {status} without a ragtrack error body; is it a ragtrack server?"
    )


_STATUS_CLASSES: dict[int, type[RagtrackError]] = {
    400: InvalidArgumentError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: PayloadTooLargeError,
}


class _ResponseStream(io.RawIOBase):
    """A streamed download; transport failures become StoreUnavailableError.

    Closing it early closes the connection (draining the rest could take
    long); a response read to the end returns its connection to the pool.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse, url: str) -> None:
        self._response = response
        self._url = url
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            n = self._response.readinto(buffer)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise StoreUnavailableError(
                f"a download from the ragtrack server at {self._url} broke off: {e}"
            ) from e
        if n == 0:
            self._done = True
        return n

    def close(self) -> None:
        if not self.closed:
            if self._done:
                self._response.release_conn()
            else:
                self._response.close()
        super().close()


def _artifacts_path(run_id: str) -> str:
    return f"{_API}/runs/{quote(validate_run_id(run_id))}/artifacts"


def _artifact_path(run_id: str, path: str) -> str:
    return f"{_artifacts_path(run_id)}/{'/'.join(quote(s) for s in path.split('/'))}"


class _UploadBody:
    """The chunks of an upload, hashed as they go; remembers an error of the source."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.digest = hashlib.sha256()
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._source.read(CHUNK_SIZE)
            except BaseException as e:
                self.error = e
                raise
            if not chunk:
                return
            if isinstance(chunk, str):
                self.error = InvalidArgumentError(
                    "an artifact source must be opened in binary mode ('rb')", field="source"
                )
                raise self.error
            self.digest.update(chunk)
            yield chunk


def _remaining_length(source: BinaryIO) -> int | None:
    """Bytes left in ``source`` when that is knowable without reading it."""
    try:
        st = os.fstat(source.fileno())
    except (AttributeError, OSError, ValueError):
        pass  # no file descriptor (io.UnsupportedOperation is both errors)
    else:
        if not stat.S_ISREG(st.st_mode):
            return None  # a pipe or socket: send chunked
        return max(st.st_size - source.tell(), 0)
    try:
        if source.seekable():
            position = source.tell()
            end = source.seek(0, os.SEEK_END)
            source.seek(position)
            return max(end - position, 0)
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _read_and_release(response: urllib3.BaseHTTPResponse) -> bytes:
    try:
        return response.read()
    except (urllib3.exceptions.HTTPError, OSError):
        return b""
    finally:
        response.release_conn()


def _json(body: bytes, url: str) -> Any:
    try:
        return _wire.loads(body)
    except InvalidArgumentError as e:
        raise StoreError(f"the ragtrack server at {url} sent a body that is not JSON") from e


def _artifact_from_json(data: Any) -> ArtifactInfo:
    try:
        return _wire.artifact_from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise StoreError(f"unexpected artifact description from the server: {data!r}") from e
