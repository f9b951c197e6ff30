"""The spool journal: writes a remote store could not take yet, kept on local disk.

One SQLite file per client process, under ``<spool dir>/<hash of the target
URL>/``. It records the target URL (never a token) and the writes in the order
they were made, each as ``(seq, run_id, op, payload)`` where ``op`` names the
Store method and ``payload`` is its arguments as JSON (metric batches in the
REST API's base64 shape; :mod:`ragtrack.storage._spool_replay` encodes and
replays them). Writes the
target rejects for good (see :mod:`ragtrack.storage._write_errors`) move to a
``dead`` table with the error, so one bad write never blocks the ones behind it
and nothing is thrown away; writes of a run that was deleted meanwhile are dropped.

A journal that cannot be written (disk full, file-size limit) raises
StoreError, so callers keep the write and try again; what it already holds
stays intact. Writes delivered while their rows could not be deleted (a full
disk cannot even record a deletion) are skipped from then on and deleted later.

The owning process holds an ``flock`` on its file while it lives; the kernel
drops the lock when the process dies however it dies, which is how ``ragtrack
sync`` tells a journal left behind from one still being written.

Durability: every append is its own committed SQLite transaction in WAL mode
with ``synchronous=NORMAL``, so it survives the process being killed at any
point (SIGKILL, OOM); a power cut may lose the last appends before the
operating system wrote them out.

Example:
    >>> import tempfile
    >>> journal = Journal.create(tempfile.mkdtemp(), "http://tracking:5000")
    >>> seq = journal.append("run1", "set_tags", b'{"add": ["a"], "remove": []}')
    >>> journal.pending_count(), journal.first().op
    (1, 'set_tags')
    >>> journal.remove(seq); journal.close()
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ragtrack.exceptions import StoreError

#: Environment variable naming the spool directory.
SPOOL_DIR_ENV = "RAGTRACK_SPOOL_DIR"
#: File name suffix of journals.
SUFFIX = ".spool.sqlite"
#: Suffix of the folder next to a journal holding copies of artifacts to upload.
FILES_SUFFIX = ".files"
#: Journal format; a newer ragtrack may read older journals, never the reverse.
FORMAT_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    op TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    op TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    error TEXT NOT NULL,
    failed_at REAL NOT NULL
);
"""


def default_spool_dir() -> Path:
    """``$RAGTRACK_SPOOL_DIR``, else ``$XDG_CACHE_HOME/ragtrack/spool``, else
    ``~/.cache/ragtrack/spool``."""
    explicit = os.environ.get(SPOOL_DIR_ENV)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "ragtrack" / "spool"


def display_url(url: str) -> str:
    """``url`` without user name or password: what a journal records and messages show.

    Example:
        >>> display_url("https://bob:secret@tracking.example/api")
        'https://tracking.example/api'
    """
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def target_dir(spool_dir: str | os.PathLike[str], url: str) -> Path:
    """The folder holding the journals of every process writing to ``url``."""
    digest = hashlib.sha256(display_url(url).encode()).hexdigest()[:16]
    return Path(spool_dir) / digest


def journal_paths(spool_dir: str | os.PathLike[str]) -> list[Path]:
    """Every journal under ``spool_dir``, oldest first."""
    root = Path(spool_dir)
    if not root.is_dir():
        return []
    paths = [p for p in root.glob(f"*/*{SUFFIX}") if p.is_file()]
    return sorted(paths, key=lambda p: (_mtime(p), str(p)))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no liveness check, journals are never shared
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@dataclass(frozen=True)
class SpooledOp:
    """One write waiting in a journal."""

    seq: int
    run_id: str
    op: str
    payload: bytes


class Journal:
    """One process's journal file, locked while open. Thread-safe.

    Open one with :meth:`create` (a new journal for this process) or
    :meth:`claim` (a journal left behind by a process that is gone).
    """

    def __init__(self, path: Path, fd: int, conn: sqlite3.Connection) -> None:
        self.path = path
        self._fd = fd
        self._conn = conn
        self._lock = threading.Lock()
        # Writes up to this seq were delivered, even if their rows could not be deleted.
        self._delivered = 0
        row = conn.execute("SELECT value FROM meta WHERE key = 'url'").fetchone()
        self.url: str | None = row[0] if row else None

    @property
    def files_dir(self) -> Path:
        """Where copies of artifact files waiting to be uploaded live, next to the journal."""
        return self.path.with_name(self.path.name + FILES_SUFFIX)

    @classmethod
    def create(cls, spool_dir: str | os.PathLike[str], url: str) -> Journal:
        """A new, empty journal for this process's writes to ``url``."""
        folder = target_dir(spool_dir, url)
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise StoreError(f"cannot create the spool directory {str(folder)!r}: {e}") from e
        host = socket.gethostname().split(".")[0] or "host"
        while True:
            path = folder / f"{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError as e:
                raise StoreError(f"cannot create the spool journal {str(path)!r}: {e}") from e
            if _try_lock(fd):
                break
            os.close(fd)  # `ragtrack sync` grabbed it in the instant before us: use another
        conn: sqlite3.Connection | None = None
        try:
            conn = _connect(path)
            with conn:
                conn.executescript(_SCHEMA)
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("url", display_url(url)),
                        ("format", FORMAT_VERSION),
                        ("host", socket.gethostname()),
                        ("pid", str(os.getpid())),
                        ("created_at", repr(time.time())),
                    ],
                )
        except sqlite3.Error as e:  # disk full: leave no half-made file behind
            if conn is not None:
                conn.close()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(f"{path}{suffix}")
            os.close(fd)
            raise StoreError(f"cannot create the spool journal {str(path)!r}: {e}") from e
        return cls(path, fd, conn)

    @classmethod
    def claim(cls, path: str | os.PathLike[str]) -> Journal | None:
        """Open a journal whose process is gone; ``None`` when a live process holds it."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StoreError(f"cannot open the spool journal {str(path)!r}: {e}") from e
        if not _try_lock(fd):
            os.close(fd)
            return None
        try:
            conn = _connect(path)
            conn.executescript(_SCHEMA)  # a file its creator died before initialising
        except sqlite3.Error as e:
            os.close(fd)
            raise StoreError(f"the spool journal {str(path)!r} is unreadable: {e}") from e
        return cls(path, fd, conn)

    # -- writing and reading ----------------------------------------------------------

    def append(self, run_id: str, op: str, payload: bytes) -> int:
        """Add a write at the end; returns its sequence number. Durable on return.

        Raises StoreError when the file cannot take it (disk full, ...).
        """
        with self._lock:
            try:
                cursor = self._conn.execute(
                    "INSERT INTO ops (run_id, op, payload, created_at) VALUES (?, ?, ?, ?)",
                    (run_id, op, payload, time.time()),
                )
            except sqlite3.Error as e:
                raise self._failure("cannot write", e) from e
            return int(cursor.lastrowid or 0)

    def first(self) -> SpooledOp | None:
        """The oldest waiting write."""
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT seq, run_id, op, payload FROM ops WHERE seq > ? ORDER BY seq LIMIT 1",
                    (self._delivered,),
                ).fetchone()
            except sqlite3.Error as e:
                raise self._failure("cannot read", e) from e
        return None if row is None else SpooledOp(row[0], row[1], row[2], bytes(row[3]))

    def remove(self, seq: int) -> None:
        """Forget a write that was delivered (or dropped). Never fails: when the
        row cannot be deleted now it is skipped and deleted with a later one."""
        with self._lock:
            self._delivered = max(self._delivered, seq)
            self._forget_delivered()

    def bury(self, op: SpooledOp, error: str) -> bool:
        """Move a write the target rejected to the ``dead`` table, with the reason;
        returns False when the file could not record it (it is skipped anyway)."""
        with self._lock:
            try:
                with self._conn:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO dead (seq, run_id, op, payload, created_at, "
                        "error, failed_at) SELECT seq, run_id, op, payload, created_at, ?, ? "
                        "FROM ops WHERE seq = ?",
                        (error, time.time(), op.seq),
                    )
                    self._conn.execute("DELETE FROM ops WHERE seq = ?", (op.seq,))
                return True
            except sqlite3.Error:
                self._delivered = max(self._delivered, op.seq)
                return False

    def creation_rejected(self, run_id: str) -> bool:
        """Whether the run's ``create_run`` is in ``dead`` (its later writes then
        fail with RUN_NOT_FOUND and belong next to it, not in the bin)."""
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT 1 FROM dead WHERE run_id = ? AND op = 'create_run' LIMIT 1", (run_id,)
                ).fetchone()
            except sqlite3.Error:
                return False
        return row is not None

    def pending_count(self) -> int:
        with self._lock:
            return int(
                self._conn.execute(
                    "SELECT count(*) FROM ops WHERE seq > ?", (self._delivered,)
                ).fetchone()[0]
            )

    def pending_by_run(self) -> Counter[str]:
        """How many writes wait, per run."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT run_id, count(*) FROM ops WHERE seq > ? GROUP BY run_id",
                (self._delivered,),
            )
            return Counter({r[0]: int(r[1]) for r in rows})

    def dead_count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM dead").fetchone()[0])

    def _forget_delivered(self) -> None:
        # Disk full: the rows stay, skipped, until a later delete gets through.
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("DELETE FROM ops WHERE seq <= ?", (self._delivered,))

    def _failure(self, action: str, error: sqlite3.Error) -> StoreError:
        return StoreError(f"{action} the spool journal {str(self.path)!r}: {error}")

    def close(self, *, delete_if_empty: bool = True) -> bool:
        """Close and unlock the file, deleting it when nothing is left in it (no
        waiting and no rejected writes); returns whether it was deleted."""
        with self._lock:
            self._forget_delivered()
            empty = (
                delete_if_empty
                and self._conn.execute(
                    "SELECT count(*) FROM ops WHERE seq > ?", (self._delivered,)
                ).fetchone()[0]
                == 0
                and self._conn.execute("SELECT count(*) FROM dead").fetchone()[0] == 0
            )
            self._conn.close()
            if empty:
                # Unlink before unlocking, so `ragtrack sync` never claims a file
                # that is about to vanish.
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        os.unlink(f"{self.path}{suffix}")
                with contextlib.suppress(OSError):
                    self.files_dir.rmdir()  # its copies go as they are delivered
                with contextlib.suppress(OSError):
                    self.path.parent.rmdir()  # fails (ignored) while other journals remain
            os.close(self._fd)
        return empty

    def abandon(self) -> None:
        """Let go of a journal inherited through ``fork()``: the parent still
        writes it. Closing the copied connection could checkpoint and delete the
        parent's WAL, so the handle is kept, unused, for the life of the process."""
        _ABANDONED.append(self)


_ABANDONED: list[Journal] = []


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn
