"""The ArtifactStore contract: files a run logs (models, plots, reports), kept
apart from the metadata Store so that they can live on object storage.

Every implementation (local directory, any fsspec URL, the ragtrack server)
gives these guarantees and passes the same suite
(:mod:`ragtrack.testing.artifact_contract`):

* **Layout.** Artifacts are addressed by ``(run_id, path)``; ``path`` follows
  :func:`~ragtrack.storage.artifacts.validate_artifact_path`. Directories are
  implicit: ``model/a.bin`` makes ``model/`` exist, and a path cannot be both a
  file and a directory (InvalidArgumentError).
* **Streaming.** :meth:`ArtifactStore.put` reads its source in chunks of at most
  :data:`CHUNK_SIZE` bytes and never holds a whole file in memory;
  :meth:`ArtifactStore.open` returns a file object that streams.
* **Atomic writes.** A put either stores the whole file or leaves what was
  there before (nothing, or the previous version): readers never see a partial
  file, and a failed upload leaves no temporary file behind. Putting an
  existing path replaces it (last writer wins).
* **Digests.** ``put`` returns the sha256 it computed while streaming;
  ``info`` and ``list`` report ``sha256=None`` (no backend keeps a sidecar).
* **Errors.** A missing artifact raises ArtifactNotFoundError; a bad path or
  run id raises InvalidArgumentError naming the field; backend failures raise
  StoreError (StoreUnavailableError when retrying may help).
"""

from __future__ import annotations

import abc
import builtins
import hashlib
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ragtrack.exceptions import ArtifactNotFoundError, InvalidArgumentError, StoreError
from ragtrack.storage.artifacts._paths import (
    RESERVED_PREFIX,
    checked_listed_path,
    validate_artifact_path,
)

logger = logging.getLogger("ragtrack")

#: Bytes read from a source (and copied to a destination) at a time.
CHUNK_SIZE = 1 << 20


@dataclass(frozen=True)
class ArtifactInfo:
    """One stored file: its path in the run, size in bytes, modification time
    (Unix seconds) and, when just uploaded, its sha256 hex digest."""

    path: str
    size: int
    modified_at: float
    sha256: str | None = None


class ArtifactStore(abc.ABC):
    """Abstract store of the files logged by runs.

    Example:
        >>> import io, tempfile
        >>> from ragtrack.storage.artifacts import LocalArtifactStore
        >>> store = LocalArtifactStore(tempfile.mkdtemp())
        >>> store.put("run1", "notes/readme.txt", io.BytesIO(b"hello")).size
        5
        >>> with store.open("run1", "notes/readme.txt") as f:
        ...     f.read()
        b'hello'
        >>> [a.path for a in store.list("run1")]
        ['notes/readme.txt']
    """

    @abc.abstractmethod
    def put(self, run_id: str, path: str, source: BinaryIO) -> ArtifactInfo:
        """Store everything ``source`` yields from its current position as
        ``path`` of the run, atomically; returns the info with its sha256."""

    @abc.abstractmethod
    def open(self, run_id: str, path: str) -> BinaryIO:
        """A binary file object streaming the artifact; the caller closes it.

        Raises ArtifactNotFoundError when there is no such file.
        """

    @abc.abstractmethod
    def info(self, run_id: str, path: str) -> ArtifactInfo:
        """Size and modification time of one artifact; ArtifactNotFoundError."""

    @abc.abstractmethod
    def list(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        """The run's artifacts whose path starts with ``prefix`` (a plain string
        prefix: ``"model/"`` lists a directory, ``"model"`` also matches
        ``"model.bin"``), sorted by path. An unknown run has none."""

    @abc.abstractmethod
    def delete(self, run_id: str, path: str) -> None:
        """Remove one artifact; ArtifactNotFoundError if it does not exist."""

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Remove every artifact of the run (nothing to do is not an error)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections; the store may not be used afterwards."""

    # -- derived operations ---------------------------------------------------------------

    def upload(
        self, run_id: str, local_path: str | os.PathLike[str], name: str | None = None
    ) -> builtins.list[ArtifactInfo]:
        """Store a local file as ``name``, or a directory's files (recursively)
        under ``name/``; ``name`` defaults to the file or directory's base name.

        Every artifact path is checked before the first upload, so a bad file
        name fails the call without storing anything. Inside a directory,
        symbolic links to files *in that directory* are stored as the files
        they point to; links that lead outside it are skipped with a warning
        (a link to ``~/.ssh/id_rsa`` in an output folder must not be uploaded),
        and links to directories and special files (FIFOs, sockets) are skipped.
        ``local_path`` itself may be a link: the caller named it.

        Example:
            >>> import tempfile, pathlib
            >>> from ragtrack.storage.artifacts import LocalArtifactStore
            >>> src = pathlib.Path(tempfile.mkdtemp(), "report.md")
            >>> _ = src.write_text("# results")
            >>> [a.path for a in LocalArtifactStore(tempfile.mkdtemp()).upload("r1", src)]
            ['report.md']
        """
        out = []
        for path, file in upload_plan(local_path, name):
            with open(file, "rb") as f:
                out.append(self.put(run_id, path, f))
        return out

    def download(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        """Copy an artifact to the local disk in chunks and return where it went.

        ``dest`` is the file to write, or an existing directory to write
        ``<dest>/<base name of path>`` into. When ``path`` names a directory of
        artifacts, the whole tree is copied there. Each file is written to a
        temporary name first, so an interrupted download leaves no partial file.

        Example:
            >>> import io, tempfile
            >>> from ragtrack.storage.artifacts import LocalArtifactStore
            >>> store = LocalArtifactStore(tempfile.mkdtemp())
            >>> _ = store.put("r1", "a/b.txt", io.BytesIO(b"x"))
            >>> store.download("r1", "a/b.txt", tempfile.mkdtemp()).read_bytes()
            b'x'
        """
        path = validate_artifact_path(path)
        target = Path(dest)
        if target.is_dir():
            target = target / path.rsplit("/", 1)[-1]
        try:
            source = self.open(run_id, path)
        except ArtifactNotFoundError:
            tree = self.list(run_id, f"{path}/")
            if not tree:
                raise
            # Every listed path is checked before the first file is written.
            relative = [
                checked_listed_path(item.path, f"{path}/", repr(self))[len(path) + 1 :]
                for item in tree
            ]
            for item, rel in zip(tree, relative, strict=True):
                self._download_file(run_id, item.path, target / rel)
            return target
        with source:
            _copy_to_file(source, target)
        return target

    def _download_file(self, run_id: str, path: str, target: Path) -> None:
        with self.open(run_id, path) as source:
            _copy_to_file(source, target)


def upload_plan(
    local_path: str | os.PathLike[str], name: str | None = None
) -> list[tuple[str, Path]]:
    """(artifact path, local file) of everything :meth:`ArtifactStore.upload`
    stores for ``local_path`` under ``name``, every path checked.

    Example:
        >>> import tempfile, pathlib
        >>> src = pathlib.Path(tempfile.mkdtemp(), "report.md")
        >>> _ = src.write_text("# results")
        >>> [path for path, _ in upload_plan(src, "eval/report.md")]
        ['eval/report.md']
    """
    source = Path(local_path)
    if name is None:
        name = Path(os.path.realpath(source)).name
    name = validate_artifact_path(name)
    if source.is_file():
        return [(name, source)]
    if source.is_dir():
        files = _walk_files(source)
        return [(validate_artifact_path(f"{name}/{rel}"), file) for rel, file in files]
    raise InvalidArgumentError(
        f"cannot log {os.fspath(local_path)!r} as an artifact: no such file or directory",
        field="local_path",
    )


def stream_copy(source: BinaryIO, write: Callable[[bytes], object], what: str) -> tuple[int, str]:
    """Copy ``source`` to ``write`` in :data:`CHUNK_SIZE` reads; returns the
    number of bytes and their sha256 (what every backend's ``put`` needs).

    Errors of ``source`` pass through as raised (they are the caller's); an
    OSError of ``write`` becomes a StoreError about ``what``.
    """
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = source.read(CHUNK_SIZE)
        if not chunk:
            break
        if isinstance(chunk, str):
            raise InvalidArgumentError(
                "an artifact source must be opened in binary mode ('rb')", field="source"
            )
        digest.update(chunk)
        try:
            write(chunk)
        except OSError as e:
            raise StoreError(f"cannot store {what}: {e}") from e
        size += len(chunk)
    return size, digest.hexdigest()


def _walk_files(directory: Path) -> list[tuple[str, Path]]:
    """(relative ``/`` path, file) of every regular file under ``directory``,
    sorted; symbolic links that lead outside it are left out, with a warning."""
    found = []
    outside = []
    root_real = os.path.realpath(directory)
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for file_name in files:
            file = Path(root, file_name)
            if not file.is_file():  # FIFOs, sockets, dangling links
                continue
            relative = file.relative_to(directory).as_posix()
            if (
                file.is_symlink()
                and os.path.commonpath([root_real, os.path.realpath(file)]) != root_real
            ):
                outside.append(relative)
                continue
            found.append((relative, file))
    if outside:
        logger.warning(
            "ragtrack: not uploading %d symbolic link%s in %s that lead%s outside it: %s",
            len(outside),
            "s" if len(outside) != 1 else "",
            directory,
            "" if len(outside) != 1 else "s",
            ", ".join(sorted(outside)[:10]) + (", ..." if len(outside) > 10 else ""),
        )
    return sorted(found)


def _copy_to_file(source: BinaryIO, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f"{RESERVED_PREFIX}download-{secrets.token_hex(6)}"
    try:
        with open(temp, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK_SIZE)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
