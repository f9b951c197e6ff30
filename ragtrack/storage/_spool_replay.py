"""Replaying the spool: how each spooled Store method is written into a journal
(:mod:`ragtrack.storage._spool`) and applied to the store again, and the
delivery of a whole journal.

Each spooled method has one encoder (its arguments as JSON, metric batches in
the REST API's base64 shape) and one replayer; :data:`CODECS` is the table of
them. A replayed write may be applied twice (the store's batch ids and
idempotent updates make that harmless).

Example:
    >>> from ragtrack.storage.sql import SqlStore
    >>> store = SqlStore("sqlite://")
    >>> run = store.create_run(project="p")
    >>> payload = encode("set_tags", add=["spooled"], remove=[])
    >>> replay(store, SpooledOp(1, run.id, "set_tags", payload))
    >>> store.get_run(run.id).tags
    ('spooled',)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.exceptions import AlreadyExistsError, InvalidArgumentError, StoreError
from ragtrack.storage._base import Store
from ragtrack.storage._params import to_plain
from ragtrack.storage._spool import Journal, SpooledOp
from ragtrack.storage._write_errors import Outcome, describe, outcome_of
from ragtrack.storage.rest import _wire

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


def drop(journal: Journal, op: SpooledOp) -> None:
    """Remove a write of a run that is gone: its row and what it left on disk
    besides (an artifact copy)."""
    journal.remove(op.seq)
    if op.op != "put_artifact":
        return
    with contextlib.suppress(Exception):
        _copy_path(journal.files_dir, _wire.loads(op.payload)["file"]).unlink(missing_ok=True)


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
                drop(journal, op)
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
