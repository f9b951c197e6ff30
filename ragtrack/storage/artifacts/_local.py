"""Artifacts in a local directory: ``<root>/<run_id>/<path>``."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

from ragtrack.exceptions import ArtifactNotFoundError, InvalidArgumentError, StoreError
from ragtrack.storage.artifacts._base import ArtifactInfo, ArtifactStore, stream_copy
from ragtrack.storage.artifacts._paths import (
    RESERVED_PREFIX,
    validate_artifact_path,
    validate_artifact_prefix,
    validate_run_id,
)


class LocalArtifactStore(ArtifactStore):
    """Artifacts as plain files under ``root``, one directory per run.

    An upload streams into a temporary file next to its target and is renamed
    over it when complete (``os.replace``, atomic on POSIX and Windows), after
    an ``fsync`` so a crash cannot leave a renamed but empty file. Paths that
    resolve outside the run's directory through a symbolic link are refused.
    Nothing is created until the first upload.

    Example:
        >>> import io, tempfile
        >>> store = LocalArtifactStore(tempfile.mkdtemp())
        >>> store.put("run1", "model/config.json", io.BytesIO(b"{}")).sha256[:12]
        '44136fa355b3'
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.realpath(root))

    def __repr__(self) -> str:
        return f"LocalArtifactStore({str(self.root)!r})"

    def put(self, run_id: str, path: str, source: BinaryIO) -> ArtifactInfo:
        path = validate_artifact_path(path)
        run_dir, target = self._locate(run_id, path)
        self._check_free(run_dir, path)
        what = f"artifact {path!r} of run {run_id}"
        created = _first_missing(run_dir, target.parent)
        temp: Path | None = None
        try:
            # Our own file operations raise StoreError; the source's errors pass through.
            temp, fd = _open_temp(target.parent, what)
            with os.fdopen(fd, "wb") as out:
                size, sha256 = stream_copy(source, out.write, what)
                _sync(out, what)
            modified_at = _commit(temp, target, what)
            temp = None
        except BaseException:
            if temp is not None:
                temp.unlink(missing_ok=True)
            if created is not None:
                _prune(target.parent, created.parent)
            raise
        return ArtifactInfo(path, size, modified_at, sha256)

    def open(self, run_id: str, path: str) -> BinaryIO:
        path = validate_artifact_path(path)
        _, target = self._locate(run_id, path)
        if not target.is_file():  # also keeps us from opening a FIFO, which would block
            raise _not_found(run_id, path)
        try:
            return open(target, "rb")
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(run_id, path) from None
        except OSError as e:
            raise StoreError(f"cannot read artifact {path!r} of run {run_id}: {e}") from e

    def info(self, run_id: str, path: str) -> ArtifactInfo:
        path = validate_artifact_path(path)
        _, target = self._locate(run_id, path)
        try:
            st = os.stat(target)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            raise _not_found(run_id, path)
        return ArtifactInfo(path, st.st_size, st.st_mtime)

    def list(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        prefix = validate_artifact_prefix(prefix)
        run_id = validate_run_id(run_id)
        run_dir = self.root / run_id
        # Walk only the deepest directory the prefix spells out in full.
        start = run_dir / prefix.rsplit("/", 1)[0] if "/" in prefix else run_dir
        if not start.is_dir() or not _inside(run_dir, os.path.realpath(start)):
            return []
        found = []
        for dir_name, _, files in os.walk(start):
            for file_name in files:
                if file_name.startswith(RESERVED_PREFIX):
                    continue  # an upload in progress
                file = Path(dir_name, file_name)
                rel = file.relative_to(run_dir).as_posix()
                if not rel.startswith(prefix) or not _inside(run_dir, os.path.realpath(file)):
                    continue
                try:
                    st = os.stat(file)
                except OSError:
                    continue  # deleted while we walked, or a dangling link
                found.append(ArtifactInfo(rel, st.st_size, st.st_mtime))
        return sorted(found, key=lambda a: a.path)

    def delete(self, run_id: str, path: str) -> None:
        path = validate_artifact_path(path)
        _, target = self._locate(run_id, path)
        if not target.is_file():
            raise _not_found(run_id, path)
        try:
            target.unlink()
        except FileNotFoundError:
            raise _not_found(run_id, path) from None
        except OSError as e:
            raise StoreError(f"cannot delete artifact {path!r} of run {run_id}: {e}") from e
        _prune(target.parent, self.root)

    def delete_run(self, run_id: str) -> None:
        run_dir = self.root / validate_run_id(run_id)
        try:
            if run_dir.is_symlink():
                run_dir.unlink()
            elif run_dir.exists():
                shutil.rmtree(run_dir)
        except OSError as e:
            raise StoreError(f"cannot delete the artifacts of run {run_id}: {e}") from e

    # -- helpers ----------------------------------------------------------------------------

    def _locate(self, run_id: str, path: str) -> tuple[Path, Path]:
        """The run's directory and the file for ``path`` (already validated);
        refuses a target that a symbolic link sends outside the run's directory."""
        run_dir = self.root / validate_run_id(run_id)
        target = run_dir.joinpath(*path.split("/"))
        if not _inside(run_dir, os.path.realpath(target)):
            raise InvalidArgumentError(
                f"artifact path {path!r} of run {run_id} leads outside the run's artifact "
                f"directory through a symbolic link",
                field="path",
            )
        return run_dir, target

    def _check_free(self, run_dir: Path, path: str) -> None:
        """A path cannot be both a file and a directory of artifacts."""
        segments = path.split("/")
        for i in range(1, len(segments)):
            ancestor = run_dir.joinpath(*segments[:i])
            if ancestor.exists() and not ancestor.is_dir():
                raise InvalidArgumentError(
                    f"cannot store {path!r}: {'/'.join(segments[:i])!r} is an artifact, "
                    f"not a directory",
                    field="path",
                )
        if run_dir.joinpath(*segments).is_dir():
            raise InvalidArgumentError(
                f"cannot store {path!r}: it is a directory of artifacts", field="path"
            )


def _inside(run_dir: Path, real: str) -> bool:
    base = str(run_dir)
    return real == base or real.startswith(base + os.sep)


def _not_found(run_id: str, path: str) -> ArtifactNotFoundError:
    return ArtifactNotFoundError(f"run {run_id} has no artifact {path!r}", field="path")


def _first_missing(run_dir: Path, directory: Path) -> Path | None:
    """The outermost directory from ``run_dir`` down to ``directory`` that does
    not exist yet (what a failed upload must remove again), or ``None``."""
    missing = None
    for d in [directory, *directory.parents]:
        if d.exists():
            break
        missing = d
        if d == run_dir:
            break
    return missing


def _open_temp(directory: Path, what: str) -> tuple[Path, int]:
    """Create and open a fresh temp file in ``directory``, creating it first.

    Retried because a concurrent delete may prune the directory (now empty)
    between our makedirs and the open.
    """
    for attempt in range(3):
        temp = directory / f"{RESERVED_PREFIX}upload-{secrets.token_hex(8)}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            # 0o666 minus the umask, like any new file (mkstemp would make it 0o600).
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return temp, os.open(temp, flags, 0o666)
        except FileNotFoundError as e:
            if attempt == 2:
                raise StoreError(f"cannot store {what}: {e}") from e
        except OSError as e:
            raise StoreError(f"cannot store {what}: {e}") from e
    raise AssertionError("unreachable")


def _sync(out: BinaryIO, what: str) -> None:
    # Without the fsync a crash soon after the rename can leave an empty file.
    try:
        out.flush()
        os.fsync(out.fileno())
    except OSError as e:
        raise StoreError(f"cannot store {what}: {e}") from e


def _commit(temp: Path, target: Path, what: str) -> float:
    """Rename the finished temp file over the target; its modification time."""
    try:
        os.replace(temp, target)
        return os.stat(target).st_mtime
    except OSError as e:
        raise StoreError(f"cannot store {what}: {e}") from e


def _prune(directory: Path, stop: Path) -> None:
    """Remove ``directory`` and its parents while empty, up to (excluding) ``stop``."""
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return  # not empty (or already gone): keep it
        directory = directory.parent
