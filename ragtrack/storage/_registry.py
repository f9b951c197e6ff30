"""Choosing a store from a directory or URI, as the SDK, CLI and server all do."""

from __future__ import annotations

import atexit
import collections
import os
import threading
from pathlib import Path

from ragtrack.exceptions import InvalidArgumentError, StoreError, StoreNotFoundError
from ragtrack.storage._base import DEFAULT_STALE_AFTER, Store

#: File name of the SQLite database inside an embedded store directory.
DB_FILE = "ragtrack.db"


def default_dir() -> Path:
    """``$RAGTRACK_DIR`` or ``./.ragtrack``."""
    return Path(os.environ.get("RAGTRACK_DIR") or ".ragtrack")


def stale_after_from_env() -> float:
    raw = os.environ.get("RAGTRACK_HEARTBEAT_TIMEOUT")
    if not raw:
        return DEFAULT_STALE_AFTER
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise InvalidArgumentError(
            f"RAGTRACK_HEARTBEAT_TIMEOUT must be a positive number of seconds, got {raw!r}"
        )
    return value


def open_store(
    dir: str | os.PathLike[str] | None = None,
    uri: str | None = None,
    *,
    create: bool = True,
    shared: bool = False,
) -> Store:
    """Open the store named by ``uri`` or the embedded store in ``dir``.

    With neither, ``$RAGTRACK_URI`` then ``$RAGTRACK_DIR`` then ``./.ragtrack``
    decide. An embedded store is created on first use unless ``create`` is
    false (readers pass that, so a typo in a path does not leave an empty store
    behind); then a missing one raises StoreNotFoundError.

    With ``shared``, every caller in this process that names the same location
    gets one store object (engine, connection pool, statement cache), and its
    ``close()`` leaves it open for the others. ``ragtrack.init`` and ``Api`` use
    this: opening a store per run made a 1,000-run sweep spend 10 ms a run on
    connection set-up alone.

    Example:
        >>> import tempfile
        >>> store = open_store(dir=tempfile.mkdtemp())
        >>> store.list_projects()
        []
    """
    stale_after = stale_after_from_env()
    if uri is None and dir is None:
        uri = os.environ.get("RAGTRACK_URI") or None
    if not shared:
        return _open(dir, uri, create, stale_after)
    location = (
        uri if uri is not None else os.path.realpath(dir if dir is not None else default_dir())
    )
    key = (os.getpid(), location, stale_after)  # a forked child must not reuse the parent's pool
    with _shared_lock:
        store = _shared.get(key)
        if store is not None:
            _shared.move_to_end(key)
            return store
        store = _open(dir, uri, create, stale_after)
        store.keep_open = True
        _shared[key] = store
        while len(_shared) > _SHARED_MAX:
            # Safe even if the evicted store is still in use: release() only closes
            # idle pooled connections; the store reconnects on its next call.
            _shared.popitem(last=False)[1].release()
    return store


#: Most locations a process keeps open at once (tests open many directories).
_SHARED_MAX = 8
_shared: collections.OrderedDict[tuple[int, str, float], Store] = collections.OrderedDict()
_shared_lock = threading.Lock()


@atexit.register
def _release_shared() -> None:
    with _shared_lock:
        while _shared:
            _shared.popitem()[1].release()


def _open(
    dir: str | os.PathLike[str] | None, uri: str | None, create: bool, stale_after: float
) -> Store:
    if uri is not None:
        return _open_uri(uri, stale_after, create)
    path = Path(dir) if dir is not None else default_dir()
    db = path / DB_FILE
    if not create and not db.exists():
        raise StoreNotFoundError(
            f"no ragtrack store in {str(path)!r}: log a run there first (ragtrack.init), "
            f"or point RAGTRACK_DIR / --dir at the directory that holds {DB_FILE}"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"cannot create the ragtrack directory {str(path)!r}: {e}") from e
    from ragtrack.storage.sql import SqlStore

    return SqlStore(f"sqlite:///{db}", stale_after=stale_after, lock_path=f"{db}.lock")


def _open_uri(uri: str, stale_after: float, create: bool) -> Store:
    scheme = uri.split(":", 1)[0].lower()
    if scheme.startswith(("sqlite", "postgresql")):
        from ragtrack.storage.sql import SqlStore

        return SqlStore(uri, upgrade=scheme.startswith("sqlite"), stale_after=stale_after)
    if scheme in ("http", "https"):
        raise InvalidArgumentError(
            f"{uri!r} names a ragtrack server; this version of ragtrack logs to the embedded "
            f"store only: unset RAGTRACK_URI or pass dir=...",
            field="uri",
        )
    if scheme == "file" or "://" not in uri:
        return open_store(dir=uri.removeprefix("file://"), create=create)
    raise InvalidArgumentError(
        f"unsupported store URI {uri!r}: use a directory, sqlite:///path or postgresql+psycopg://...",
        field="uri",
    )
