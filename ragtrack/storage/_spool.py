"""The spool journal: writes a remote store could not take yet, kept on local disk.

One SQLite file per client process, under ``<spool dir>/<hash of the target
URL>/``. It records the target URL (never a token) and the writes in the order
they were made, each as ``(seq, run_id, op, payload)`` where ``op`` names the
Store method and ``payload`` is its arguments as JSON (metric batches in the
REST API's base64 shape, see :mod:`ragtrack.storage.rest._wire`). Writes the
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
    >>> seq = journal.append("run1", "set_tags", encode("set_tags", add=["a"], remove=[]))
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.exceptions import AlreadyExistsError, InvalidArgumentError, StoreError
from ragtrack.storage._base import Store
from ragtrack.storage._params import to_plain
from ragtrack.storage._write_errors import Outcome as Outcome
from ragtrack.storage._write_errors import describe as describe
from ragtrack.storage._write_errors import outcome_of as outcome_of
from ragtrack.storage.rest import _wire

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


# -- payloads: one encoder and one replayer per spooled Store method -----------------------


def _batch_from_payload(p: Mapping[str, Any]) -> tuple[dict[str, MetricSeries], str | None]:
    """A metric batch as :func:`_wire.batch_to_json` wrote it."""
    return _wire.batch_from_json(p, "spooled batch")


def _enc_create_run(**kw: Any) -> dict[str, Any]:
    return {
        "project": kw["project"],
        "experiment": kw.get("experiment"),
        "name": kw["name"],
        "config": to_plain(dict(kw.get("config") or {})),
        "tags": list(kw.get("tags") or ()),
        "notes": kw.get("notes", ""),
        "status": RunStatus(kw.get("status", RunStatus.RUNNING)).value,
        "created_at": kw["created_at"],
        "metadata": to_plain(dict(kw.get("metadata") or {}), "metadata"),
    }


def _run_create_run(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    # AlreadyExistsError: an earlier attempt got through, only its answer was lost.
    with contextlib.suppress(AlreadyExistsError):
        store.create_run(
            project=p["project"],
            experiment=p["experiment"],
            name=p["name"],
            run_id=run_id,
            config=p["config"],
            tags=p["tags"],
            notes=p["notes"],
            status=RunStatus(p["status"]),
            created_at=p["created_at"],
            metadata=p["metadata"],
        )


def _status(value: Any) -> str | None:
    return None if value is None else RunStatus(value).value


def _enc_update_run(**kw: Any) -> dict[str, Any]:
    return {k: kw.get(k) for k in ("name", "notes", "ended_at", "error")} | {
        "status": _status(kw.get("status"))
    }


def _run_update_run(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    store.update_run(
        run_id,
        status=None if p["status"] is None else RunStatus(p["status"]),
        name=p["name"],
        notes=p["notes"],
        ended_at=p["ended_at"],
        error=p["error"],
    )


def _enc_finish_run(**kw: Any) -> dict[str, Any]:
    batch = kw.get("batch")
    return {
        "status": _status(kw["status"]),
        "error": kw.get("error"),
        "batch": _wire.batch_to_json(batch, kw.get("batch_id")) if batch else None,
        "summary": to_plain(dict(kw.get("summary") or {}), "summary"),
        "ended_at": kw["ended_at"],
    }


def _run_finish_run(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    batch, batch_id = _batch_from_payload(p["batch"]) if p["batch"] else (None, None)
    store.finish_run(
        run_id,
        status=RunStatus(p["status"]),
        error=p["error"],
        batch=batch,
        batch_id=batch_id,
        summary=p["summary"],
    )
    # finish_run stamps the end now; the run ended when the script finished it.
    store.update_run(run_id, ended_at=p["ended_at"])


def _enc_set_tags(**kw: Any) -> dict[str, Any]:
    return {"add": list(kw.get("add") or ()), "remove": list(kw.get("remove") or ())}


def _run_set_tags(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    store.set_tags(run_id, add=p["add"], remove=p["remove"])


def _enc_log_params(**kw: Any) -> dict[str, Any]:
    return {"config": to_plain(dict(kw["config"]))}


def _run_log_params(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    store.log_params(run_id, p["config"])


def _enc_set_summary(**kw: Any) -> dict[str, Any]:
    return {"values": to_plain(dict(kw["values"]), "summary")}


def _run_set_summary(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    store.set_summary(run_id, p["values"])


def _enc_set_metadata(**kw: Any) -> dict[str, Any]:
    return {"metadata": to_plain(dict(kw["metadata"]), "metadata")}


def _run_set_metadata(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    store.set_metadata(run_id, p["metadata"])


def _enc_log_metrics(**kw: Any) -> dict[str, Any]:
    return _wire.batch_to_json(kw["batch"], kw["batch_id"])


def _run_log_metrics(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    batch, batch_id = _batch_from_payload(p)
    store.log_metrics(run_id, batch, batch_id)


def _enc_append_logs(**kw: Any) -> dict[str, Any]:
    return {"stream": kw["stream"], "text": kw["text"], "batch_id": kw["batch_id"]}


def _run_append_logs(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    store.append_logs(run_id, p["stream"], p["text"], p["batch_id"])


def _enc_put_artifact(**kw: Any) -> dict[str, Any]:
    # ``file``: the copy's name in the journal's files folder (the folder may move with it).
    return {"path": kw["path"], "file": kw["file"], "size": kw["size"], "sha256": kw["sha256"]}


def _run_put_artifact(store: Store, run_id: str, p: Mapping[str, Any]) -> None:
    copy = Path(p["file"])
    if not copy.exists():
        return  # uploaded before: the copy goes only after the server stored it
    from ragtrack.storage.artifacts import artifact_store_of

    with open(copy, "rb") as f:
        info = artifact_store_of(store).put(run_id, p["path"], f)
    if info.sha256 is not None and info.sha256 != p["sha256"]:
        raise StoreError(f"artifact {p['path']!r} of run {run_id} arrived damaged; kept to retry")
    copy.unlink(missing_ok=True)


_Encoder = Callable[..., dict[str, Any]]
_Replayer = Callable[[Store, str, Mapping[str, Any]], None]

#: The spooled Store methods. Heartbeats are not among them: a late heartbeat
#: says nothing, so they are dropped while the store is unavailable.
CODECS: dict[str, tuple[_Encoder, _Replayer]] = {
    "create_run": (_enc_create_run, _run_create_run),
    "update_run": (_enc_update_run, _run_update_run),
    "finish_run": (_enc_finish_run, _run_finish_run),
    "set_tags": (_enc_set_tags, _run_set_tags),
    "log_params": (_enc_log_params, _run_log_params),
    "set_summary": (_enc_set_summary, _run_set_summary),
    "set_metadata": (_enc_set_metadata, _run_set_metadata),
    "log_metrics": (_enc_log_metrics, _run_log_metrics),
    "append_logs": (_enc_append_logs, _run_append_logs),
    "put_artifact": (_enc_put_artifact, _run_put_artifact),
}


def encode(op: str, **kwargs: Any) -> bytes:
    """The journal payload of a call of Store method ``op`` (without its run id).

    Raises InvalidArgumentError for values that cannot be stored (what the store
    itself would have said).
    """
    return _wire.dumps(CODECS[op][0](**kwargs))


def replay(store: Store, op: SpooledOp, files_dir: Path | None = None) -> None:
    """Apply a journaled write to ``store``; raises what the store raises.
    ``files_dir`` is the journal's :attr:`Journal.files_dir` (artifact copies)."""
    codec = CODECS.get(op.op)
    if codec is None:
        raise InvalidArgumentError(f"unknown spooled operation {op.op!r}", field="op")
    payload = _wire.loads(op.payload)
    if op.op == "put_artifact":
        payload = {**payload, "file": str(_copy_path(files_dir, payload["file"]))}
    codec[1](store, op.run_id, payload)


def discard(op: SpooledOp, files_dir: Path | None) -> None:
    """Delete what a dropped write left on disk besides its row (an artifact copy)."""
    if op.op != "put_artifact":
        return
    with contextlib.suppress(Exception):
        _copy_path(files_dir, _wire.loads(op.payload)["file"]).unlink(missing_ok=True)


def _copy_path(files_dir: Path | None, name: str) -> Path:
    if files_dir is None or not name or "/" in name or name in (".", ".."):
        raise InvalidArgumentError(f"no spooled artifact copy {name!r} here", field="file")
    return files_dir / name


def triage(journal: Journal, op: SpooledOp, error: BaseException) -> Outcome:
    """What to do with a journaled write whose replay raised ``error``: RETRY
    keeps it, GONE drops it (its run was deleted), REJECTED moves it to ``dead``.
    A write failing with RUN_NOT_FOUND because the run's own ``create_run`` was
    rejected is REJECTED too, so that it stays next to it."""
    outcome = outcome_of(error)
    if outcome is Outcome.GONE and journal.creation_rejected(op.run_id):
        return Outcome.REJECTED
    return outcome


@dataclass
class Delivery:
    """What :func:`deliver` did with one journal."""

    sent: int = 0
    rejected: int = 0
    #: Writes of runs deleted from the target meanwhile, dropped.
    dropped: int = 0
    remaining: int = 0
    runs: set[str] = field(default_factory=set)
    #: Why delivery stopped early (the target could not be reached), if it did.
    error: str | None = None
    #: Why writes were rejected, each reason once.
    rejections: list[str] = field(default_factory=list)


def deliver(journal: Journal, store: Store) -> Delivery:
    """Replay ``journal`` into ``store`` in order until it is empty or the store
    stops answering; rejected writes move to ``dead``, writes of deleted runs are
    dropped. What ``ragtrack sync`` does with a journal left behind."""
    result = Delivery()
    while (op := journal.first()) is not None:
        try:
            replay(store, op, journal.files_dir)
        except Exception as e:
            outcome = triage(journal, op, e)
            if outcome is Outcome.RETRY:
                result.error = describe(e)
                break
            if outcome is Outcome.GONE:
                journal.remove(op.seq)
                discard(op, journal.files_dir)
                result.dropped += 1
                result.runs.add(op.run_id)
                continue
            reason = describe(e)
            journal.bury(op, reason)
            result.rejected += 1
            if reason not in result.rejections:
                result.rejections.append(reason)
        else:
            journal.remove(op.seq)
            result.sent += 1
        result.runs.add(op.run_id)
    result.remaining = journal.pending_count()
    return result
