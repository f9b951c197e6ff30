"""Artifacts on any fsspec file system: ``s3://bucket/prefix``, ``gs://...``,
``memory://...`` (keys ``<prefix>/<run_id>/<path>``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, cast

from ragtrack.exceptions import ArtifactNotFoundError, InvalidArgumentError, StoreError
from ragtrack.storage.artifacts._base import ArtifactInfo, ArtifactStore, stream_copy
from ragtrack.storage.artifacts._paths import (
    RESERVED_PREFIX,
    validate_artifact_path,
    validate_artifact_prefix,
    validate_run_id,
)

#: Protocols whose writers upload to a staging area (multipart / resumable
#: upload) when opened with ``autocommit=False``: the object appears only on
#: ``commit()``. Others (memory, local, ftp, ...) write in place, so uploads go
#: to a temporary key and are moved over the target when complete.
STAGED_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl"})

#: Where uploads to file systems that write in place are staged (run ids never
#: start with a dot, so this cannot clash with a run).
_UPLOADS = f"{RESERVED_PREFIX}uploads"


def import_fsspec(url: str) -> Any:
    """``fsspec``, or a StoreError saying which ``pip install`` provides it."""
    try:
        import fsspec
    except ImportError as e:
        raise StoreError(
            f"storing artifacts at {url!r} needs fsspec: pip install 'ragtrack[s3]' for S3, "
            f"or pip install fsspec (plus the file system's package, e.g. gcsfs)"
        ) from e
    return fsspec


class FsspecArtifactStore(ArtifactStore):
    """Artifacts under any fsspec URL, with the semantics of the local store.

    ``storage_options`` go to the file system (credentials, endpoint URL, ...);
    by default fsspec's own configuration and the environment (AWS_* for S3)
    apply. fsspec and the file system's package are imported here, not before.

    Example:
        >>> import io
        >>> store = FsspecArtifactStore("memory://ragtrack-doc")
        >>> store.put("run1", "eval/report.json", io.BytesIO(b"{}")).size
        2
        >>> [a.path for a in store.list("run1", prefix="eval/")]
        ['eval/report.json']
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        fsspec = import_fsspec(url)
        self.url = url
        try:
            self._fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except (ImportError, ValueError) as e:
            raise StoreError(f"cannot use {url!r} for artifacts: {e}") from e
        self._root = str(root).rstrip("/")
        protocols = self._fs.protocol
        protocols = {protocols} if isinstance(protocols, str) else set(protocols)
        self._staged = bool(protocols & STAGED_PROTOCOLS)

    def __repr__(self) -> str:
        return f"FsspecArtifactStore({self.url!r})"

    def put(self, run_id: str, path: str, source: BinaryIO) -> ArtifactInfo:
        path = validate_artifact_path(path)
        key = self._key(run_id, path)
        self._check_free(run_id, path)
        what = f"artifact {path!r} of run {run_id}"
        # Our own file system calls raise StoreError; the source's errors pass through.
        if self._staged:
            size, sha256 = self._put_staged(key, source, what)
        else:
            size, sha256 = self._put_moved(key, source, what)
        with _store_errors(what):
            modified_at = _modified_at(self._fs.info(key))
        return ArtifactInfo(path, size, modified_at, sha256)

    def _put_staged(self, key: str, source: BinaryIO, what: str) -> tuple[int, str]:
        with _store_errors(what):
            out = self._fs.open(key, "wb", autocommit=False)
        try:
            size, sha256 = stream_copy(source, out.write, what)
            with _store_errors(what):
                out.close()
                out.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                out.discard()
            raise
        return size, sha256

    def _put_moved(self, key: str, source: BinaryIO, what: str) -> tuple[int, str]:
        temp = f"{self._root}/{_UPLOADS}/{secrets.token_hex(8)}"
        try:
            with _store_errors(what):
                out = self._fs.open(temp, "wb")
            with out:
                size, sha256 = stream_copy(source, out.write, what)
            with _store_errors(what):
                self._fs.mv(temp, key)
        except BaseException:
            with contextlib.suppress(Exception):
                self._fs.rm_file(temp)
            raise
        return size, sha256

    def open(self, run_id: str, path: str) -> BinaryIO:
        path = validate_artifact_path(path)
        key = self._key(run_id, path)
        if not self._fs.isfile(key):
            raise _not_found(run_id, path)
        try:
            return cast(BinaryIO, self._fs.open(key, "rb"))
        except FileNotFoundError:
            raise _not_found(run_id, path) from None
        except OSError as e:
            raise StoreError(f"cannot read artifact {path!r} of run {run_id}: {e}") from e

    def info(self, run_id: str, path: str) -> ArtifactInfo:
        path = validate_artifact_path(path)
        try:
            details = self._fs.info(self._key(run_id, path))
        except FileNotFoundError:
            raise _not_found(run_id, path) from None
        if details.get("type") != "file":
            raise _not_found(run_id, path)
        return ArtifactInfo(path, int(details.get("size") or 0), _modified_at(details))

    def list(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        prefix = validate_artifact_prefix(prefix)
        base = f"{self._root}/{validate_run_id(run_id)}/"
        start = base + prefix.rsplit("/", 1)[0] if "/" in prefix else base.rstrip("/")
        try:
            found: Mapping[str, Mapping[str, Any]] = self._fs.find(start, detail=True)
        except FileNotFoundError:
            return []
        out = []
        for name, details in found.items():
            name = self._fs._strip_protocol(name)
            rel = name[len(base) :]
            if not name.startswith(base) or not rel.startswith(prefix):
                continue
            if details.get("type") != "file":
                continue
            out.append(ArtifactInfo(rel, int(details.get("size") or 0), _modified_at(details)))
        return sorted(out, key=lambda a: a.path)

    def delete(self, run_id: str, path: str) -> None:
        path = validate_artifact_path(path)
        key = self._key(run_id, path)
        if not self._fs.isfile(key):
            raise _not_found(run_id, path)
        try:
            self._fs.rm_file(key)
        except FileNotFoundError:
            raise _not_found(run_id, path) from None
        except OSError as e:
            raise StoreError(f"cannot delete artifact {path!r} of run {run_id}: {e}") from e

    def delete_run(self, run_id: str) -> None:
        prefix = f"{self._root}/{validate_run_id(run_id)}"
        try:
            if self._fs.exists(prefix):
                self._fs.rm(prefix, recursive=True)
        except FileNotFoundError:
            pass  # deleted concurrently
        except OSError as e:
            raise StoreError(f"cannot delete the artifacts of run {run_id}: {e}") from e

    # -- helpers ----------------------------------------------------------------------------

    def _key(self, run_id: str, path: str) -> str:
        return f"{self._root}/{validate_run_id(run_id)}/{path}"

    def _check_free(self, run_id: str, path: str) -> None:
        """A path cannot be both a file and a directory of artifacts (object
        stores would allow it; local disks do not, and the stores must agree)."""
        segments = path.split("/")
        for i in range(1, len(segments)):
            if self._fs.isfile(self._key(run_id, "/".join(segments[:i]))):
                raise InvalidArgumentError(
                    f"cannot store {path!r}: {'/'.join(segments[:i])!r} is an artifact, "
                    f"not a directory",
                    field="path",
                )
        if self._fs.isdir(self._key(run_id, path)):
            raise InvalidArgumentError(
                f"cannot store {path!r}: it is a directory of artifacts", field="path"
            )


@contextlib.contextmanager
def _store_errors(what: str) -> Iterator[None]:
    try:
        yield
    except OSError as e:
        raise StoreError(f"cannot store {what}: {e}") from e


def _not_found(run_id: str, path: str) -> ArtifactNotFoundError:
    return ArtifactNotFoundError(f"run {run_id} has no artifact {path!r}", field="path")


_TIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "modified", "created")


def _modified_at(details: Mapping[str, Any]) -> float:
    """Modification time from a file system's ``info`` dict; each names it differently
    (local ``mtime``, S3 ``LastModified``, GCS ``updated``, memory ``created``)."""
    for key in _TIME_KEYS:
        value = details.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.timezone.utc)
            return value.timestamp()
    return 0.0
