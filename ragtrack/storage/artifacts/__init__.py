"""Artifact storage: the files runs log, kept apart from the metadata store.

:class:`ArtifactStore` is the contract (``_base.py``); the backends are a local
directory (:class:`LocalArtifactStore`), any fsspec URL
(:class:`FsspecArtifactStore`: S3, GCS, memory, ...) and a ragtrack server
(``ragtrack.storage.rest.RestArtifactStore``). :func:`open_artifact_store`
picks one for a location; :func:`artifact_store_for` finds the one that
belongs to a metadata store. See docs/artifacts.md.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage.artifacts._base import (
    CHUNK_SIZE,
    ArtifactInfo,
    ArtifactStore,
    stream_copy,
    upload_plan,
)
from ragtrack.storage.artifacts._fsspec import FsspecArtifactStore
from ragtrack.storage.artifacts._local import LocalArtifactStore
from ragtrack.storage.artifacts._paths import (
    MAX_PATH_LENGTH,
    artifact_path_problem,
    validate_artifact_path,
    validate_artifact_prefix,
    validate_run_id,
)

if TYPE_CHECKING:
    from ragtrack.storage._base import Store
    from ragtrack.storage._registry import StoreLocation

#: Directory of an embedded store (or next to a SQLite file) that holds artifacts.
ARTIFACTS_DIR = "artifacts"


def open_artifact_store(location: str | os.PathLike[str]) -> ArtifactStore:
    """The artifact store at a local directory (a path or ``file://`` URL) or
    any other fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``memory://...``).

    Example:
        >>> import tempfile
        >>> open_artifact_store(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        LocalArtifactStore('...')
        >>> open_artifact_store("memory://ragtrack-doc")
        FsspecArtifactStore('memory://ragtrack-doc')
    """
    text = os.fspath(location)
    if not text:
        raise InvalidArgumentError("an artifact location cannot be empty", field="location")
    if text.startswith("file://"):
        return LocalArtifactStore(text.removeprefix("file://"))
    if "://" not in text:
        return LocalArtifactStore(text)
    return FsspecArtifactStore(text)


def artifact_store_for(location: StoreLocation | str) -> ArtifactStore:
    """The artifact store belonging to a metadata store (a StoreLocation or its URL).

    * a ragtrack server (``http(s)://``): its artifact endpoints, with the
      bearer token in ``$RAGTRACK_TOKEN``;
    * otherwise ``$RAGTRACK_ARTIFACTS`` (a directory or fsspec URL) when set;
    * an embedded store directory: ``<dir>/artifacts``;
    * a SQLite file: ``artifacts/`` next to it;
    * PostgreSQL (or in-memory SQLite) without ``$RAGTRACK_ARTIFACTS``:
      InvalidArgumentError saying to set it.

    Example:
        >>> from ragtrack.storage._registry import resolve_location
        >>> artifact_store_for(resolve_location("/tmp/store"))  # doctest: +SKIP
        LocalArtifactStore('/tmp/store/artifacts')
    """
    from ragtrack.storage._registry import StoreLocation, resolve_location

    if isinstance(location, str):
        if location.lower().startswith(("http://", "https://")):
            location = StoreLocation(location)
        else:
            location = resolve_location(uri=location)
    url = location.url
    if url.lower().startswith(("http://", "https://")):
        from ragtrack.storage.rest._artifacts import RestArtifactStore

        return RestArtifactStore(url, os.environ.get("RAGTRACK_TOKEN") or None)
    configured = os.environ.get("RAGTRACK_ARTIFACTS")
    if configured:
        return open_artifact_store(configured)
    if location.directory is not None:
        return LocalArtifactStore(location.directory / ARTIFACTS_DIR)
    if location.file is not None:
        return LocalArtifactStore(location.file.parent / ARTIFACTS_DIR)
    raise InvalidArgumentError(
        f"the store {location.display} has no place for artifacts: set RAGTRACK_ARTIFACTS to a "
        f"directory or an fsspec URL such as s3://bucket/ragtrack-artifacts",
        field="RAGTRACK_ARTIFACTS",
    )


def artifact_store_of(store: Store) -> ArtifactStore:
    """The artifact store that goes with an open metadata store, found from the
    store's ``url`` (as :func:`artifact_store_for` does); what ``Run.log_artifact``
    and ``ApiRun.artifacts`` use. One object per location and settings is kept
    for the process, so its connections are reused.

    Example:
        >>> import tempfile
        >>> from ragtrack.storage import open_store
        >>> artifact_store_of(open_store(tempfile.mkdtemp()))  # doctest: +ELLIPSIS
        LocalArtifactStore('.../artifacts')
    """
    url = getattr(store, "url", None)
    configured = os.environ.get("RAGTRACK_ARTIFACTS") or None
    if not isinstance(url, str):
        if configured:
            return open_artifact_store(configured)
        raise InvalidArgumentError(
            f"cannot tell where {store!r} keeps artifacts (it has no url): set "
            f"RAGTRACK_ARTIFACTS to a directory or an fsspec URL",
            field="RAGTRACK_ARTIFACTS",
        )
    return _artifact_store_at(url, configured, os.environ.get("RAGTRACK_TOKEN") or None)


def delete_run_artifacts(store: Store, run_id: str) -> None:
    """Delete a run's artifacts next to the metadata store, before the run itself.

    Nothing to do for a ragtrack server (deleting the run there deletes its
    artifacts) or a store with no artifact location configured.
    """
    url = getattr(store, "url", None)
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return
    try:
        artifacts = artifact_store_of(store)
    except InvalidArgumentError:
        return  # no artifact location: the run cannot have any
    artifacts.delete_run(run_id)


@functools.lru_cache(maxsize=8)
def _artifact_store_at(url: str, configured: str | None, token: str | None) -> ArtifactStore:
    # The environment is part of the key: the same store with other settings is another place.
    return artifact_store_for(url)


__all__ = [
    "ARTIFACTS_DIR",
    "CHUNK_SIZE",
    "MAX_PATH_LENGTH",
    "ArtifactInfo",
    "ArtifactStore",
    "FsspecArtifactStore",
    "LocalArtifactStore",
    "artifact_path_problem",
    "artifact_store_for",
    "artifact_store_of",
    "delete_run_artifacts",
    "open_artifact_store",
    "stream_copy",
    "upload_plan",
    "validate_artifact_path",
    "validate_artifact_prefix",
    "validate_run_id",
]
