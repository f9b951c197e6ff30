"""SpoolingStore: a store wrapper that never loses a write because the target was down.

Run-scoped writes go to the wrapped store first. One that fails with
:class:`~ragtrack.exceptions.StoreUnavailableError` is appended to this
process's journal (:mod:`ragtrack.storage._spool`) and a daemon thread replays
the journal in order, backing off from 0.2 s to 10 s while the store stays
unreachable. Once a run has writes in the journal, its later writes queue
behind them instead of going direct, so a run's writes are applied in the order
they were made; other runs are not held up. Every replayed write is idempotent
(batch ids, client-chosen run ids), so a write whose answer was lost may be sent
again safely.

A write the store refuses (a 4xx answer, or a 500 with a ragtrack error body)
never holds up the run's later writes: sent directly, its error goes to the
caller (the SDK's writer reports it once and goes on); replayed from the
journal, it moves to the journal's ``dead`` table, reported once. A run
deleted from the store meanwhile is a permanent condition: its journaled writes
are dropped, its later writes fail at once with RunNotFoundError, and one
warning names it. When the journal itself cannot be
written (disk full), the write raises StoreError, which callers keep and retry;
the journal keeps what it holds and goes on delivering it.

Heartbeats are dropped, not journaled, while a run's writes wait: a late
heartbeat says nothing. Reads, deletions and project or experiment calls pass
straight through (and fail while the store is down).

Example:
    >>> import tempfile
    >>> from ragtrack.storage.sql import SqlStore
    >>> store = SpoolingStore(SqlStore("sqlite://"), tempfile.mkdtemp(), "sqlite://")
    >>> run = store.create_run(project="demo")
    >>> store.wait_for_pending(1.0)
    0
    >>> store.get_run(run.id).project
    'demo'
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import threading
import time
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragtrack._threads import daemon_thread
from ragtrack.entities import (
    Experiment,
    ExperimentMetric,
    MetricSeries,
    Project,
    RunGroup,
    RunKeys,
    RunRecord,
    RunStatus,
)
from ragtrack.exceptions import (
    RunNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from ragtrack.storage import _spool, _spool_replay
from ragtrack.storage import filter as run_filter
from ragtrack.storage._base import Store
from ragtrack.storage._input import checked_time
from ragtrack.storage._keys import validate_key
from ragtrack.storage._names import new_run_id, new_run_name
from ragtrack.storage._params import to_plain
from ragtrack.storage._write_errors import (
    Outcome,
    describe,
    warn_once,
    warn_rejected,
    warn_run_gone,
)
from ragtrack.storage.artifacts._base import (
    ArtifactInfo,
    ArtifactStore,
    stream_copy,
    upload_plan,
)

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger("ragtrack")

#: Seconds before the first retry of an unreachable store, and the most between two.
BACKOFF_INITIAL = 0.2
BACKOFF_MAX = 10.0
#: Seconds ``release()`` waits for the replay thread to finish the write it is sending.
_JOIN_TIMEOUT = 5.0
#: How warnings name each spooled write.
_WHAT = {
    "create_run": "the creation",
    "update_run": "an update",
    "finish_run": "the end",
    "set_tags": "a tag change",
    "log_params": "a config update",
    "set_summary": "summary values",
    "set_metadata": "metadata",
    "log_metrics": "a metric batch",
    "append_logs": "console output",
    "put_artifact": "an artifact",
}
#: Run-scoped writes take one of these locks (by run id), so the check "does the
#: run have spooled writes?" and the direct send happen as one step.
_RUN_LOCKS = 64


class SpoolingStore(Store):
    """Wraps ``inner`` so that writes it cannot take right now are kept and replayed.

    Args:
        inner: the store written to (in practice the REST store).
        spool_dir: where journals live (default :func:`_spool.default_spool_dir`).
        url: the target as recorded in the journal, for ``ragtrack sync``
            (default ``inner.url``); any user name or password is left out.
    """

    def __init__(
        self,
        inner: Store,
        spool_dir: str | os.PathLike[str] | None = None,
        url: str | None = None,
    ) -> None:
        self.inner = inner
        self.spool_dir = Path(spool_dir) if spool_dir is not None else _spool.default_spool_dir()
        target = url if url is not None else getattr(inner, "url", None)
        if not isinstance(target, str):
            raise TypeError("SpoolingStore needs the target's url (inner has no .url)")
        self.url = _spool.display_url(target)
        self._reset()
        _instances.add(self)

    def _reset(self) -> None:
        """Fresh state: at construction, and in a child after ``fork()``."""
        # Guards the journal handle, the counts and the replay thread.
        self._state = threading.Condition()
        self._run_locks = tuple(threading.Lock() for _ in range(_RUN_LOCKS))
        self._journal: _spool.Journal | None = None
        self._pending: Counter[str] = Counter()
        self._total = 0
        self._thread: threading.Thread | None = None
        # Bumped to stop the replay thread: each thread serves one generation.
        self._generation = 0
        self._wake = threading.Event()
        # Runs the store answered RUN_NOT_FOUND for: deleted while we wrote to them.
        self._gone: set[str] = set()

    def _after_fork(self) -> None:
        if self._journal is not None:
            self._journal.abandon()  # the parent keeps writing and replaying it
        self._reset()

    def __repr__(self) -> str:
        return f"SpoolingStore({self.inner!r}, spool_dir={str(self.spool_dir)!r})"

    def __getattr__(self, name: str) -> Any:
        # Backend extras (artifact transfer on the REST store, ...) pass through.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # -- the write path --------------------------------------------------------------------

    def _send(self, run_id: str, op: str, direct: Callable[[], Any], **kwargs: Any) -> bool:
        """Send ``direct()`` now unless the run has writes waiting; journal the
        write (``op`` with ``kwargs``) when it must wait or the store is down.
        Returns whether it went through directly.

        Raises what the store raised for a write it refused (the caller reports
        it), RunNotFoundError for a run deleted meanwhile, and
        StoreError when the write had to be journaled but the journal cannot
        take it (disk full): the caller keeps it and tries again.
        """
        if run_id in self._gone:
            raise RunNotFoundError(f"run {run_id} no longer exists in {self.url}")
        with self._run_locks[hash(run_id) % _RUN_LOCKS]:
            if not self._has_pending(run_id):
                try:
                    direct()
                    return True
                except StoreUnavailableError as e:
                    logger.debug("ragtrack: %s of run %s spooled: %s", op, run_id, e)
                except RunNotFoundError:
                    self._gone.add(run_id)
                    raise
            self._append(run_id, op, _spool_replay.encode(op, **kwargs))
            return False

    def _has_pending(self, run_id: str) -> bool:
        with self._state:
            return self._pending[run_id] > 0

    def _open_journal(self) -> _spool.Journal:
        # Under self._state.
        if self._journal is None:
            self._journal = _spool.Journal.create(self.spool_dir, self.url)
        return self._journal

    def _append(self, run_id: str, op: str, payload: bytes) -> None:
        with self._state:
            self._open_journal().append(run_id, op, payload)
            self._pending[run_id] += 1
            self._total += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = daemon_thread(
                    self._replay_loop,
                    args=(self._journal, self._generation),
                    name="ragtrack-spool",
                )
                self._thread.start()
            self._state.notify_all()

    # -- artifacts ---------------------------------------------------------------------------

    def upload_artifacts(
        self,
        run_id: str,
        artifacts: ArtifactStore,
        local_path: str | os.PathLike[str],
        name: str | None = None,
    ) -> list[ArtifactInfo]:
        """``artifacts.upload(run_id, local_path, name)``, except that a file the
        server cannot take now (or that must wait behind the run's queued
        writes, its creation perhaps) is copied next to the journal and uploaded
        in order by the replay thread or ``ragtrack sync``; its info is returned
        all the same (sha256 of the copy, time of the call)."""
        if run_id in self._gone:
            raise RunNotFoundError(f"run {run_id} no longer exists in {self.url}")
        out = []
        for path, file in upload_plan(local_path, name):
            if not self._has_pending(run_id):
                try:
                    with open(file, "rb") as f:
                        out.append(artifacts.put(run_id, path, f))
                    continue
                except StoreUnavailableError as e:
                    logger.debug("ragtrack: artifact %s of run %s spooled: %s", path, run_id, e)
            out.append(self._spool_artifact(run_id, path, file))
        return out

    def _spool_artifact(self, run_id: str, path: str, file: Path) -> ArtifactInfo:
        with self._state:
            folder = self._open_journal().files_dir
        copy = folder / uuid.uuid4().hex
        try:
            folder.mkdir(exist_ok=True, mode=0o700)
            # A copy, not a link: the job may overwrite or delete its file right after.
            with open(file, "rb") as source, open(copy, "xb") as target:
                size, sha256 = stream_copy(source, target.write, f"a spooled copy of {path!r}")
            with self._run_locks[hash(run_id) % _RUN_LOCKS]:
                self._append(
                    run_id,
                    "put_artifact",
                    _spool_replay.encode(
                        "put_artifact", path=path, file=copy.name, size=size, sha256=sha256
                    ),
                )
        except (OSError, StoreError) as e:
            copy.unlink(missing_ok=True)
            raise StoreError(
                f"artifact {path!r} of run {run_id} can neither be sent to {self.url} now nor "
                f"kept in the spool ({e}); log it again later"
            ) from e
        return ArtifactInfo(path=path, size=size, modified_at=time.time(), sha256=sha256)

    # -- replaying ---------------------------------------------------------------------------

    def _replay_loop(self, journal: _spool.Journal, generation: int) -> None:
        try:
            self._replay(journal, generation)
        except Exception:  # a bug: what is in the journal stays; the next spooled write restarts
            logger.exception("ragtrack: replaying the spool %s failed", journal.path)

    def _replay(self, journal: _spool.Journal, generation: int) -> None:
        delay = BACKOFF_INITIAL

        def back_off() -> None:
            nonlocal delay
            # Jitter keeps many clients of one restarted server from retrying in step.
            self._wake.wait(delay * random.uniform(0.5, 1.0))
            self._wake.clear()
            delay = min(delay * 2, BACKOFF_MAX)

        while True:
            with self._state:
                while self._total == 0 and self._generation == generation:
                    self._state.wait()
                if self._generation != generation:
                    return
            try:
                op = journal.first()
            except StoreError as e:
                warn_once(("spool-read", str(journal.path)), "ragtrack: %s; retrying", e.message)
                back_off()
                continue
            if op is None:  # counts out of step with the file (cannot happen): trust the file
                with self._state:
                    self._pending = journal.pending_by_run()
                    self._total = sum(self._pending.values())
                    self._state.notify_all()
                continue
            if op.run_id in self._gone:
                _spool_replay.drop(journal, op)
            else:
                try:
                    _spool_replay.replay(self.inner, op, journal.files_dir)
                except Exception as e:
                    outcome = _spool_replay.triage(journal, op, e)
                    if outcome is Outcome.RETRY:
                        logger.debug("ragtrack: replay to %s failed, retrying: %s", self.url, e)
                        back_off()
                        continue
                    if outcome is Outcome.GONE:
                        self._gone.add(op.run_id)
                        _spool_replay.drop(journal, op)
                        warn_run_gone(op.run_id, self.url)
                    else:
                        kept = journal.bury(op, describe(e))
                        where = f"table dead of {journal.path}" if kept else "nowhere: disk full"
                        warn_rejected(
                            op.run_id, f"a delayed {_WHAT.get(op.op, op.op)}", e, self.url,
                            f"it is kept in {where}",
                        )  # fmt: skip
                else:
                    journal.remove(op.seq)
            delay = BACKOFF_INITIAL
            with self._state:
                if self._generation != generation:
                    return  # released meanwhile: the counts are no longer this thread's
                self._pending[op.run_id] -= 1
                if self._pending[op.run_id] <= 0:
                    del self._pending[op.run_id]
                self._total -= 1
                self._state.notify_all()

    def wait_for_pending(self, timeout: float) -> int:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._state:
            if self._total and timeout > 0:
                self._wake.set()  # try now rather than at the end of the current backoff
            while self._total and self._thread is not None and self._thread.is_alive():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._state.wait(remaining)
            return self._total

    def release(self) -> None:
        """Stop replaying and release the wrapped store. Writes still waiting stay
        in the journal on disk (unlocked, for ``ragtrack sync``), with one warning."""
        with self._state:
            thread, journal = self._thread, self._journal
            self._generation += 1
            self._thread, self._journal = None, None
            self._pending.clear()
            self._total = 0
            self._state.notify_all()
        self._wake.set()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT)
        self._wake.clear()
        if journal is not None:
            left = journal.pending_count()
            if thread is None or not thread.is_alive():
                # Otherwise a write is still in flight: leave the file locked until exit.
                journal.close()
            if left:
                logger.warning(
                    "ragtrack: %d writes to %s could not be delivered; they are kept in %s; "
                    "run `ragtrack sync` when the server is reachable",
                    left,
                    self.url,
                    journal.path,
                )
        self.inner.release()

    # -- run-scoped writes -----------------------------------------------------------------

    def create_run(
        self,
        *,
        project: str,
        experiment: str | None = None,
        name: str | None = None,
        run_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        notes: str = "",
        status: RunStatus = RunStatus.RUNNING,
        created_at: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        # Chosen here, before the first attempt, so that every retry creates the same run.
        validate_key(project, "project name", "project")
        if experiment is not None:
            validate_key(experiment, "experiment name", "experiment")
        run_id = run_id or new_run_id()
        name = (
            validate_key(name, "run name", "name")
            if name
            else new_run_name(secrets.randbelow(999) + 1)
        )
        created_at = time.time() if created_at is None else checked_time(created_at, "created_at")
        status = RunStatus(status)
        args: dict[str, Any] = {
            "project": project,
            "experiment": experiment,
            "name": name,
            "config": config,
            "tags": tags,
            "notes": notes,
            "status": status,
            "created_at": created_at,
            "metadata": metadata,
        }
        created: list[RunRecord] = []
        self._send(
            run_id,
            "create_run",
            lambda: created.append(self.inner.create_run(run_id=run_id, **args)),
            **args,
        )
        if created:
            return created[0]
        running = status == RunStatus.RUNNING
        return RunRecord(
            id=run_id,
            project=project,
            experiment=experiment,
            name=name,
            status=status,
            created_at=created_at,
            started_at=created_at if running else None,
            # As the store will stamp it: its first heartbeat is "now", not created_at.
            heartbeat_at=time.time() if running else None,
            config=to_plain(dict(config or {})),
            tags=tuple(sorted(set(tags))),
            notes=notes,
        )

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        name: str | None = None,
        notes: str | None = None,
        ended_at: float | None = None,
        error: str | None = None,
    ) -> None:
        if status is not None and RunStatus(status).is_terminal and ended_at is None:
            ended_at = time.time()  # the end is now, not whenever a replay gets through
        args: dict[str, Any] = {
            "status": status,
            "name": name,
            "notes": notes,
            "ended_at": ended_at,
            "error": error,
        }
        self._send(run_id, "update_run", lambda: self.inner.update_run(run_id, **args), **args)

    def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        error: str | None = None,
        batch: Mapping[str, MetricSeries] | None = None,
        batch_id: str | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        if batch and batch_id is None:
            batch_id = uuid.uuid4().hex
        ended_at = time.time()
        self._send(
            run_id,
            "finish_run",
            lambda: self.inner.finish_run(
                run_id, status=status, error=error, batch=batch, batch_id=batch_id, summary=summary
            ),
            status=status,
            error=error,
            batch=batch,
            batch_id=batch_id,
            summary=summary,
            ended_at=ended_at,
        )

    def heartbeat(self, run_id: str, at: float | None = None) -> None:
        with self._run_locks[hash(run_id) % _RUN_LOCKS]:
            if self._has_pending(run_id):
                return
            try:
                self.inner.heartbeat(run_id, at)
            except StoreUnavailableError as e:
                logger.debug("ragtrack: heartbeat of run %s dropped: %s", run_id, e)

    def set_tags(self, run_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        self._send(
            run_id,
            "set_tags",
            lambda: self.inner.set_tags(run_id, add=add, remove=remove),
            add=add,
            remove=remove,
        )

    def log_params(self, run_id: str, config: Mapping[str, Any]) -> None:
        self._send(
            run_id, "log_params", lambda: self.inner.log_params(run_id, config), config=config
        )

    def set_summary(self, run_id: str, values: Mapping[str, Any]) -> None:
        self._send(
            run_id, "set_summary", lambda: self.inner.set_summary(run_id, values), values=values
        )

    def set_metadata(self, run_id: str, metadata: Mapping[str, Any]) -> None:
        self._send(
            run_id,
            "set_metadata",
            lambda: self.inner.set_metadata(run_id, metadata),
            metadata=metadata,
        )

    def log_metrics(
        self, run_id: str, batch: Mapping[str, MetricSeries], batch_id: str | None = None
    ) -> None:
        batch_id = batch_id or uuid.uuid4().hex  # a retry must not apply the batch twice
        self._send(
            run_id,
            "log_metrics",
            lambda: self.inner.log_metrics(run_id, batch, batch_id),
            batch=batch,
            batch_id=batch_id,
        )

    def append_logs(self, run_id: str, stream: str, text: str, batch_id: str | None = None) -> None:
        batch_id = batch_id or uuid.uuid4().hex
        self._send(
            run_id,
            "append_logs",
            lambda: self.inner.append_logs(run_id, stream, text, batch_id),
            stream=stream,
            text=text,
            batch_id=batch_id,
        )

    # -- everything else passes straight through ------------------------------------------

    def list_projects(self) -> list[Project]:
        return self.inner.list_projects()

    def get_project(self, name: str) -> Project:
        return self.inner.get_project(name)

    def create_project(self, name: str) -> Project:
        return self.inner.create_project(name)

    def list_experiments(self, project: str) -> list[Experiment]:
        return self.inner.list_experiments(project)

    def create_experiment(
        self,
        project: str,
        name: str,
        *,
        description: str = "",
        datasets: Sequence[str] = (),
        models: Sequence[str] = (),
        hyperparameters: Mapping[str, Any] | None = None,
        metrics: Sequence[ExperimentMetric] = (),
        command: str | None = None,
    ) -> Experiment:
        return self.inner.create_experiment(
            project,
            name,
            description=description,
            datasets=datasets,
            models=models,
            hyperparameters=hyperparameters,
            metrics=metrics,
            command=command,
        )

    def get_experiment(self, project: str, name: str) -> Experiment:
        return self.inner.get_experiment(project, name)

    def update_experiment(
        self,
        project: str,
        name: str,
        *,
        new_name: str | None = None,
        description: str | None = None,
        datasets: Sequence[str] | None = None,
        models: Sequence[str] | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        metrics: Sequence[ExperimentMetric] | None = None,
        command: str | None = None,
        clear_command: bool = False,
    ) -> Experiment:
        return self.inner.update_experiment(
            project,
            name,
            new_name=new_name,
            description=description,
            datasets=datasets,
            models=models,
            hyperparameters=hyperparameters,
            metrics=metrics,
            command=command,
            clear_command=clear_command,
        )

    def delete_experiment(self, project: str, name: str) -> int:
        return self.inner.delete_experiment(project, name)

    def get_run(self, run_id: str) -> RunRecord:
        return self.inner.get_run(run_id)

    def resolve_run_id(self, prefix: str) -> str:
        return self.inner.resolve_run_id(prefix)

    def delete_run(self, run_id: str) -> None:
        self.inner.delete_run(run_id)

    def search_runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RunRecord]:
        return self.inner.search_runs(project, filter, order_by, limit, offset)

    def count_runs(self, project: str | None = None, filter: str | None = None) -> int:
        return self.inner.count_runs(project, filter)

    def list_run_keys(self, project: str, experiment: str | None = None) -> RunKeys:
        return self.inner.list_run_keys(project, experiment)

    def aggregate_runs(
        self,
        project: str,
        group_by: str,
        metrics: Sequence[str],
        filter: str | None = None,
    ) -> list[RunGroup]:
        return self.inner.aggregate_runs(project, group_by, metrics, filter)

    def get_metadata(self, run_id: str) -> dict[str, Any]:
        return self.inner.get_metadata(run_id)

    def get_history(self, run_id: str, key: str) -> MetricSeries:
        return self.inner.get_history(run_id, key)

    def list_metric_keys(self, run_id: str) -> list[str]:
        return self.inner.list_metric_keys(run_id)

    def read_logs(self, run_id: str, stream: str | None = None, offset: int = 0) -> str:
        return self.inner.read_logs(run_id, stream, offset)

    def filter_warnings(
        self, project: str | None = None, filter: str | None = None
    ) -> list[run_filter.FilterWarning]:
        return self.inner.filter_warnings(project, filter)

    def search_columns(
        self,
        project: str,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        *,
        params: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray[Any, Any]]:
        return self.inner.search_columns(
            project, filter, order_by, limit, offset, params=params, metrics=metrics
        )


_instances: weakref.WeakSet[SpoolingStore] = weakref.WeakSet()


def _reset_after_fork() -> None:
    # A child must neither write its parent's journal nor wait on locks that a
    # parent thread held at the instant of the fork.
    for store in list(_instances):
        store._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
