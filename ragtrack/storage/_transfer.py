"""Copying runs from one store to another, incrementally: ``ragtrack sync --from --to``.

Works between any two stores (an embedded directory to a server, SQLite to
PostgreSQL, ...) through the Store contract alone. A run is created in the
target with its own id, so a second copy finds it and sends only what the
target lacks: per metric key the points past the target's count, per log
stream the text past the target's length, then changed fields, the explicit
summary and, last, the status. Every batch has a deterministic id derived from
its position, so a copy that was interrupted, or run twice at once, never
duplicates a point.

Given both stores' artifact stores, a run's artifacts are copied too
(streamed, each file one atomic put): those the target lacks, or holds at
another size.

Incremental copies assume what the SDK does: a series only ever grows at its
end (new points have steps no lower than the old ones), logs only grow, and
an artifact is written once (one rewritten at the very same size is not seen).

Example:
    >>> from ragtrack.storage.sql import SqlStore
    >>> source, target = SqlStore("sqlite://"), SqlStore("sqlite://")
    >>> run = source.create_run(project="demo")
    >>> copy_runs(source, target).runs_created
    1
    >>> copy_runs(source, target).runs_unchanged
    1
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ragtrack.entities import MetricSeries, RunRecord, RunStatus
from ragtrack.exceptions import AlreadyExistsError, NotFoundError
from ragtrack.storage._base import Store

if TYPE_CHECKING:
    from ragtrack.storage.artifacts import ArtifactStore

#: Most points sent in one metric batch.
BATCH_POINTS = 100_000
#: Most characters of log text sent in one call.
LOG_CHARS = 1_000_000
#: Runs read from the source per page.
_PAGE = 500
_STREAMS = ("stdout", "stderr")


@dataclass
class TransferReport:
    """What :func:`copy_runs` did."""

    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    experiments_created: int = 0
    points_sent: int = 0
    log_chars_sent: int = 0
    artifacts_copied: int = 0
    artifact_bytes: int = 0

    @property
    def runs(self) -> int:
        return self.runs_created + self.runs_updated + self.runs_unchanged

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "runs": self.runs}


#: Called after each run with the run and ``"created"``, ``"updated"`` or ``"unchanged"``.
RunCallback = Callable[[RunRecord, str], None]


def copy_runs(
    source: Store,
    target: Store,
    project: str | None = None,
    filter: str | None = None,
    *,
    on_run: RunCallback | None = None,
    source_artifacts: ArtifactStore | None = None,
    target_artifacts: ArtifactStore | Callable[[], ArtifactStore] | None = None,
    report: TransferReport | None = None,
) -> TransferReport:
    """Copy the runs of ``source`` matching ``project`` and ``filter`` to ``target``,
    sending only what ``target`` lacks; oldest run first. With both artifact
    stores (``target_artifacts`` may be a function making it on first use),
    the runs' artifacts are copied too. Counts go to ``report`` (a new one
    by default), which ``on_run`` may read as the copy goes.

    Example:
        >>> report = copy_runs(open_store("./.ragtrack"), open_store(uri="http://tracking:5000"))
        ... # doctest: +SKIP
    """
    report = report if report is not None else TransferReport()
    files = _ArtifactCopy(source_artifacts, target_artifacts, report)
    experiments: set[tuple[str, str]] = set()
    offset = 0
    while True:
        page = source.search_runs(
            project, filter, order_by="created,id", limit=_PAGE, offset=offset
        )
        for run in page:
            if run.experiment is not None and (run.project, run.experiment) not in experiments:
                experiments.add((run.project, run.experiment))
                report.experiments_created += _copy_experiment(
                    source, target, run.project, run.experiment
                )
            outcome = _RunCopy(source, target, run, report, files).copy()
            setattr(report, f"runs_{outcome}", getattr(report, f"runs_{outcome}") + 1)
            if on_run is not None:
                on_run(run, outcome)
        if len(page) < _PAGE:
            return report
        offset += len(page)


def _copy_experiment(source: Store, target: Store, project: str, name: str) -> int:
    """Define the experiment in ``target`` unless it is there; 1 if it was created."""
    try:
        target.get_experiment(project, name)
        return 0
    except NotFoundError:
        pass
    e = source.get_experiment(project, name)
    with contextlib.suppress(AlreadyExistsError):  # someone else was quicker
        target.create_experiment(
            project,
            name,
            description=e.description,
            datasets=e.datasets,
            models=e.models,
            hyperparameters=e.hyperparameters,
            metrics=e.metrics,
            command=e.command,
        )
        return 1
    return 0


def batch_id(kind: str, *parts: object) -> str:
    """A deterministic batch id (under 64 characters) for a slice of a run's data.

    Example:
        >>> batch_id("metrics", "loss", 0, 100) == batch_id("metrics", "loss", 0, 100)
        True
        >>> len(batch_id("logs", "stdout", 0, 10))
        45
    """
    text = "\0".join([kind, *(str(p) for p in parts)])
    return "sync-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _same(a: Any, b: Any) -> bool:
    """Equal as stored (NaN equals NaN, key order does not matter)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


class _RunCopy:
    """Bringing one run of the target up to date with the source."""

    def __init__(
        self,
        source: Store,
        target: Store,
        run: RunRecord,
        report: TransferReport,
        files: _ArtifactCopy,
    ) -> None:
        self.source = source
        self.target = target
        self.run = run
        self.report = report
        self.files = files

    def copy(self) -> str:
        run = self.run
        metadata = self.source.get_metadata(run.id)
        try:
            self.target.create_run(
                project=run.project,
                experiment=run.experiment,
                name=run.name,
                run_id=run.id,
                config=run.config,
                tags=run.tags,
                notes=run.notes,
                status=_initial_status(run.status),
                created_at=run.created_at,
                metadata=metadata,
            )
            existing: RunRecord | None = None
        except AlreadyExistsError:
            existing = self.target.get_run(run.id)
        changed = existing is not None and self._update_fields(existing, metadata)
        changed = self._send_metrics(existing) or changed
        changed = self._send_logs(existing is not None) or changed
        changed = self._send_summary(existing) or changed
        changed = self.files.copy(run.id) or changed
        changed = self._send_status(existing) or changed
        if existing is None:
            return "created"
        return "updated" if changed else "unchanged"

    def _update_fields(self, existing: RunRecord, metadata: Mapping[str, Any]) -> bool:
        run, changed = self.run, False
        name = run.name if run.name != existing.name else None
        notes = run.notes if run.notes != existing.notes else None
        if name is not None or notes is not None:
            self.target.update_run(run.id, name=name, notes=notes)
            changed = True
        add = [t for t in run.tags if t not in existing.tags]
        remove = [t for t in existing.tags if t not in run.tags]
        if add or remove:
            self.target.set_tags(run.id, add=add, remove=remove)
            changed = True
        if not _same(dict(run.config), dict(existing.config)):
            self.target.log_params(run.id, run.config)
            changed = True
        if not _same(dict(metadata), self.target.get_metadata(run.id)):
            self.target.set_metadata(run.id, metadata)
            changed = True
        return changed

    def _send_metrics(self, existing: RunRecord | None) -> bool:
        run, sent = self.run, False
        for key in self.source.list_metric_keys(run.id):
            have = existing.metrics[key].count if existing and key in existing.metrics else 0
            summary = run.metrics.get(key)
            if summary is not None and summary.count <= have:
                continue
            history = self.source.get_history(run.id, key)
            for start in range(have, len(history), BATCH_POINTS):
                end = min(start + BATCH_POINTS, len(history))
                part = MetricSeries(
                    history.steps[start:end],
                    history.values[start:end],
                    history.timestamps[start:end],
                )
                self.target.log_metrics(
                    run.id, {key: part}, batch_id=batch_id("metrics", key, start, end)
                )
                self.report.points_sent += end - start
                sent = True
        return sent

    def _send_logs(self, existed: bool) -> bool:
        # Stream by stream: the target cannot be told how the two interleaved.
        run, sent = self.run, False
        for stream in _STREAMS:
            text = self.source.read_logs(run.id, stream)
            have = len(self.target.read_logs(run.id, stream)) if existed else 0
            for start in range(have, len(text), LOG_CHARS):
                end = min(start + LOG_CHARS, len(text))
                self.target.append_logs(
                    run.id, stream, text[start:end], batch_id=batch_id("logs", stream, start, end)
                )
                self.report.log_chars_sent += end - start
                sent = True
        return sent

    def _send_summary(self, existing: RunRecord | None) -> bool:
        wanted = dict(self.run.explicit_summary)
        have = dict(existing.explicit_summary) if existing is not None else {}
        if not wanted or _same(wanted, {k: have.get(k) for k in wanted}):
            return False
        self.target.set_summary(self.run.id, wanted)
        return True

    def _send_status(self, existing: RunRecord | None) -> bool:
        run = self.run
        if run.status.is_terminal and run.status != RunStatus.CRASHED:
            if existing is not None and (existing.status, existing.ended_at, existing.error) == (
                run.status,
                run.ended_at,
                run.error,
            ):
                return False
            self.target.update_run(
                run.id, status=run.status, ended_at=run.ended_at, error=run.error
            )
            return True
        if run.status in (RunStatus.RUNNING, RunStatus.CRASHED) and run.heartbeat_at is not None:
            # Still running (or its process died): carry the last sign of life over,
            # so the target tells the two apart as the source does.
            if existing is not None and (existing.heartbeat_at or 0) >= run.heartbeat_at:
                return False
            self.target.heartbeat(run.id, run.heartbeat_at)
            return existing is not None
        return False


class _ArtifactCopy:
    """Copying runs' artifacts between two artifact stores, file by file."""

    def __init__(
        self,
        source: ArtifactStore | None,
        target: ArtifactStore | Callable[[], ArtifactStore] | None,
        report: TransferReport,
    ) -> None:
        self.source = source
        self._target = target
        self.report = report

    def target(self) -> ArtifactStore:
        from ragtrack.storage.artifacts import ArtifactStore

        if not isinstance(self._target, ArtifactStore):
            assert self._target is not None
            self._target = self._target()
        return self._target

    def copy(self, run_id: str) -> bool:
        """Copy the run's artifacts the target lacks; whether any were."""
        if self.source is None or self._target is None:
            return False
        wanted = self.source.list(run_id)
        if not wanted:
            return False
        target = self.target()
        have = {a.path: a.size for a in target.list(run_id)}
        copied = False
        for artifact in wanted:
            if have.get(artifact.path) == artifact.size:
                continue
            with self.source.open(run_id, artifact.path) as stream:
                info = target.put(run_id, artifact.path, stream)
            self.report.artifacts_copied += 1
            self.report.artifact_bytes += info.size
            copied = True
        return copied


def _initial_status(status: RunStatus) -> RunStatus:
    """What a copy is created with: a run that has started is created running
    (its final status is set last, once its data is in)."""
    if status in (RunStatus.CREATED, RunStatus.QUEUED):
        return status
    return RunStatus.RUNNING
