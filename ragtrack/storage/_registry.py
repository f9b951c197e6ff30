"""Choosing a store from a directory or URI, as the SDK, CLI and server all do."""

from __future__ import annotations

import atexit
import collections
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ragtrack._env import seconds_from_env
from ragtrack.exceptions import InvalidArgumentError, StoreError, StoreNotFoundError
from ragtrack.storage._base import DEFAULT_STALE_AFTER, Store

#: File name of the SQLite database inside an embedded store directory.
DB_FILE = "ragtrack.db"


def default_dir() -> Path:
    """``$RAGTRACK_DIR`` or ``./.ragtrack``."""
    return Path(os.environ.get("RAGTRACK_DIR") or ".ragtrack")


def stale_after_from_env() -> float:
    return seconds_from_env("RAGTRACK_HEARTBEAT_TIMEOUT", DEFAULT_STALE_AFTER)


@dataclass(frozen=True)
class StoreLocation:
    """Where a store's tables live, as named by a directory or URI.

    ``directory`` is set for an embedded store (the SQLite file is
    ``directory / DB_FILE``); ``file`` is the SQLite file for any SQLite
    database; both are ``None`` for a server database and for a ragtrack
    server (``remote``).
    """

    url: str
    file: Path | None = None
    directory: Path | None = None

    @property
    def remote(self) -> bool:
        """Whether ``url`` names a ragtrack server (``http(s)://``), not a database."""
        return self.url.split(":", 1)[0].lower() in ("http", "https")

    @property
    def lock_path(self) -> str | None:
        """A file that serialises schema migrations of a SQLite database."""
        return f"{self.file}.lock" if self.file is not None else None

    @property
    def display(self) -> str:
        """The URL with any password hidden, for messages."""
        if self.remote:
            return self.url  # normalised by resolve_location, without credentials
        import sqlalchemy as sa

        return sa.make_url(self.url).render_as_string(hide_password=True)


def resolve_location(
    dir: str | os.PathLike[str] | None = None, uri: str | None = None
) -> StoreLocation:
    """The store that ``uri``, else ``dir``, else the environment names.

    With neither, ``$RAGTRACK_URI`` then ``$RAGTRACK_DIR`` then ``./.ragtrack``
    decide. A plain path or ``file://`` URI is an embedded store directory;
    an ``http(s)://host:port[/prefix]`` URI is a ragtrack server.

    Example:
        >>> resolve_location("/tmp/store").url
        'sqlite:////tmp/store/ragtrack.db'
        >>> resolve_location(uri="postgresql+psycopg://u@db/ragtrack").file is None
        True
        >>> resolve_location(uri="http://tracking:8650").remote
        True
    """
    if uri is None and dir is None:
        uri = os.environ.get("RAGTRACK_URI") or None
    if uri is None:
        return _embedded(Path(dir) if dir is not None else default_dir())
    scheme = uri.split(":", 1)[0].lower()
    if scheme.startswith("sqlite"):
        import sqlalchemy as sa

        database = sa.make_url(uri).database
        in_memory = database in (None, "", ":memory:")
        return StoreLocation(uri, file=None if in_memory else Path(database or ""))
    if scheme.startswith("postgresql"):
        return StoreLocation(uri)
    if scheme in ("http", "https"):
        from ragtrack.storage.rest._http import server_url

        return StoreLocation(server_url(uri))
    if scheme == "file" or "://" not in uri:
        return _embedded(Path(uri.removeprefix("file://")))
    raise InvalidArgumentError(
        f"unsupported store URI {uri!r}: use a directory, sqlite:///path, "
        f"postgresql+psycopg://... or http(s)://host:port of a ragtrack server",
        field="uri",
    )


def _embedded(path: Path) -> StoreLocation:
    directory = Path(os.path.realpath(path))
    return StoreLocation(f"sqlite:///{directory / DB_FILE}", directory / DB_FILE, directory)


def open_store(
    dir: str | os.PathLike[str] | None = None,
    uri: str | None = None,
    *,
    create: bool = True,
    shared: bool = False,
) -> Store:
    """Open the store named by ``uri`` or the embedded store in ``dir``
    (see :func:`resolve_location`).

    An embedded store is created on first use unless ``create`` is false
    (readers pass that, so a typo in a path does not leave an empty store
    behind); then a missing one raises StoreNotFoundError. An embedded store or
    SQLite database is migrated to the current schema on open; a PostgreSQL
    database must be migrated with ``ragtrack db upgrade``. A ragtrack server
    (``http(s)://``) is reached through its REST API, with ``$RAGTRACK_TOKEN``
    as the bearer token.

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
    location = resolve_location(dir, uri)
    if not shared:
        return _open(location, create, stale_after)
    # A forked child must not reuse the pool; a new token needs a new client.
    key = (os.getpid(), location.url, stale_after, _token(location))
    with _shared_lock:
        store = _shared.get(key)
        if store is not None:
            _shared.move_to_end(key)
            return store
        store = _open(location, create, stale_after)
        store.keep_open = True
        _shared[key] = store
        while len(_shared) > _SHARED_MAX:
            # Safe even if the evicted store is still in use: release() only closes
            # idle pooled connections; the store reconnects on its next call.
            _shared.popitem(last=False)[1].release()
    return store


#: Most locations a process keeps open at once (tests open many directories).
_SHARED_MAX = 8
_shared: collections.OrderedDict[tuple[int, str, float, str | None], Store] = (
    collections.OrderedDict()
)
_shared_lock = threading.Lock()


@atexit.register
def _release_shared() -> None:
    with _shared_lock:
        while _shared:
            _shared.popitem()[1].release()


def _open(location: StoreLocation, create: bool, stale_after: float) -> Store:
    if location.remote:
        from ragtrack.storage._spool import default_spool_dir
        from ragtrack.storage._spooling import SpoolingStore
        from ragtrack.storage.rest import RestStore

        # The server decides about crashes (its own stale_after) and creates
        # nothing on open, so neither argument applies here. Writes it cannot
        # take right now wait in a local spool (see _spooling.py).
        return SpoolingStore(RestStore(location.url, token=_token(location)), default_spool_dir())
    from ragtrack.storage.sql import SqlStore

    directory = location.directory
    if directory is not None:
        if not create and not (directory / DB_FILE).exists():
            raise StoreNotFoundError(
                f"no ragtrack store in {str(directory)!r}: log a run there first "
                f"(ragtrack.init), or point RAGTRACK_DIR / --dir at the directory that "
                f"holds {DB_FILE}"
            )
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the ragtrack directory {str(directory)!r}: {e}") from e
    return SqlStore(
        location.url,
        upgrade=location.url.startswith("sqlite"),
        stale_after=stale_after,
        lock_path=location.lock_path,
    )


def _token(location: StoreLocation) -> str | None:
    """The bearer token for a ragtrack server: ``$RAGTRACK_TOKEN``."""
    return (os.environ.get("RAGTRACK_TOKEN") or None) if location.remote else None
