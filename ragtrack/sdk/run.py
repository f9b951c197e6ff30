"""The live run a training or indexing script logs to."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ragtrack._env import seconds_from_env
from ragtrack.entities import RunStatus
from ragtrack.exceptions import RunFinishedError, RunNotFoundError
from ragtrack.sdk import _lifecycle
from ragtrack.sdk._values import checked_metrics, step_value
from ragtrack.sdk._writer import BackgroundWriter
from ragtrack.sdk.capture import CaptureSettings, ConsoleCapture, SystemMonitor
from ragtrack.sdk.capture._deferred import DeferredMetadata, quick_metadata
from ragtrack.storage import Store, open_store

if TYPE_CHECKING:
    from ragtrack.storage.artifacts import ArtifactInfo


class Config(MutableMapping[str, Any]):
    """The run's hyperparameters; every change is stored at once.

    Only top-level assignment and ``update`` are tracked: mutating a nested dict
    in place is not seen, so write ``run.config.update({"retriever": {...}})``.
    """

    def __init__(self, run: Run, initial: Mapping[str, Any]) -> None:
        self._run = run
        self._data = dict(initial)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        raise TypeError("config values cannot be deleted once logged; set a new value instead")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        values = dict(other, **kwargs)
        writer = self._run._writer
        if not writer.gone:
            try:
                self._run._store.log_params(self._run.id, values)
            except RunNotFoundError:
                writer.lost()  # deleted by someone else: warned once, not the job's problem
        from ragtrack.storage._params import deep_merge

        self._data = deep_merge(self._data, values)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"


class Summary(MutableMapping[str, Any]):
    """Explicit summary values (``run.summary["best_recall@10"] = 0.64``).

    They are written with the next flush and override the last logged value of
    the same key until that key is logged again.
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        self._data: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        from ragtrack.storage._keys import validate_key
        from ragtrack.storage._params import to_plain

        validate_key(key, "summary")
        plain = to_plain(value, key)
        self._data[key] = plain
        self._run._writer.set_summary({key: plain})

    def __delitem__(self, key: str) -> None:
        raise TypeError("summary values cannot be deleted; set a new value instead")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Summary({self._data!r})"


class Run:
    """A run in progress. Create it with :func:`ragtrack.init`.

    Example:
        >>> import ragtrack, tempfile
        >>> with ragtrack.init(project="demo", dir=tempfile.mkdtemp(), capture=False) as run:
        ...     run.log({"loss": 0.5})
        ...     run.log({"loss": 0.4})
        >>> ragtrack.Api(dir=run.dir).run(run.id).history("loss").values.tolist()
        [0.5, 0.4]
    """

    def __init__(
        self,
        store: Store,
        *,
        project: str,
        experiment: str | None = None,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        notes: str = "",
        capture: CaptureSettings | None = None,
        flush_interval: float = 1.0,
        dir: str | None = None,
    ) -> None:
        self._store = store
        self.dir = dir
        self._sync_timeout = _sync_timeout()
        capture = capture or CaptureSettings.resolve(None)
        cwd = os.getcwd()
        metadata, later = quick_metadata(capture, cwd)
        record = store.create_run(
            project=project,
            experiment=experiment,
            name=name,
            config=config,
            tags=tags,
            notes=notes,
            metadata=metadata,
        )
        self.id = record.id
        self._metadata = DeferredMetadata(store, self.id, capture, cwd, later) if later else None
        self.name = record.name
        self.project = record.project
        self.experiment = record.experiment
        self.config = Config(self, record.config)
        self._next_step = 0
        self._system_step = 0
        self._known_keys: set[str] = set()
        self._finished = False
        self._console = (
            ConsoleCapture(limit_bytes=capture.console_limit_bytes) if capture.console else None
        )
        self._writer = BackgroundWriter(
            store,
            self.id,
            interval=flush_interval,
            heartbeat_interval=_heartbeat_interval(),
            drain_console=self._console.drain if self._console else None,
            label=f"{self.project}/{self.name}",
        )
        self.summary = Summary(self)
        self._append = self._writer.append
        self._queued = self._writer.queued
        self._monitor = (
            SystemMonitor(self._log_system, interval=capture.system_metrics_interval)
            if capture.system_metrics
            else None
        )
        if self._console:
            self._console.start()
        self._writer.start()
        if self._monitor:
            self._monitor.start()
        if self._metadata:
            self._metadata.start()
        _lifecycle.register(self)

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} project={self.project!r}>"

    @property
    def finished(self) -> bool:
        return self._finished

    def log(self, data: Mapping[str, Any], step: int | None = None) -> None:
        """Record metric values at ``step`` (default: one past the last step).

        Never blocks on I/O: points are written by a background thread at least
        once a second. Values must be numbers (NaN and inf are kept); anything
        else raises TypeError naming the key.

        Example:
            >>> run.log({"loss": 0.42, "recall@10": 0.61}, step=100)  # doctest: +SKIP
        """
        if self._finished:
            raise RunFinishedError(
                f"run {self.id} has finished; start a new one with ragtrack.init"
            )
        if step is None:
            step = self._next_step
        elif type(step) is not int or not -(2**63) <= step < 2**63:
            step = step_value(step)
        values = checked_metrics(data, self._known_keys)  # a rejected call logs nothing
        self._next_step = step + 1
        self._append((step, time.time(), values))
        if self._queued() > self._writer.max_queued:
            self._writer.make_room()  # bounded memory: may wait for the store

    def _log_system(self, sample: dict[str, float]) -> None:
        self._append((self._system_step, time.time(), sample))
        self._system_step += 1

    def flush(self) -> None:
        """Write everything logged so far now, instead of at the next interval."""
        self._writer.flush()

    def log_artifact(
        self, local_path: str | os.PathLike[str], name: str | None = None
    ) -> list[ArtifactInfo]:
        """Store a file with the run, or a directory's files (recursively) under
        ``name/``; ``name`` defaults to the file or directory's base name.

        Unlike :meth:`log`, this uploads now and returns when the files are
        stored (with their sizes and sha256 digests), into the store's artifact
        location (docs/artifacts.md). With a server that cannot be reached,
        the files are copied into the spool and uploaded when it answers
        (``finish`` waits for them like for points). A missing ``local_path`` or a bad ``name``
        raises InvalidArgumentError before anything is stored.

        Example:
            >>> run.log_artifact("outputs/checkpoint")  # doctest: +SKIP
            [ArtifactInfo(path='checkpoint/config.json', size=512, ...), ...]
        """
        if self._finished:
            raise RunFinishedError(
                f"run {self.id} has finished; log artifacts before calling finish()"
            )
        from ragtrack.storage.artifacts import artifact_store_of

        if self._writer.gone:
            return []  # the run was deleted meanwhile (warned once): nothing to attach to
        artifacts = artifact_store_of(self._store)
        try:
            upload = getattr(self._store, "upload_artifacts", None)
            if upload is not None:  # a server store: what it cannot take now waits in the spool
                return list(upload(self.id, artifacts, local_path, name))
            return artifacts.upload(self.id, local_path, name)
        except RunNotFoundError:
            self._writer.lost()
            return []

    def finish(
        self,
        status: RunStatus | str = RunStatus.COMPLETED,
        error: str | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Flush everything and mark the run ended. Calling it again does nothing.

        With a server store, writes that could not be sent yet wait in a local
        spool; ``finish`` then waits up to ``timeout`` seconds (default
        ``$RAGTRACK_SYNC_TIMEOUT``, 30; 0 does not wait) for them to be stored.
        What is still waiting after that keeps being sent in the background and
        stays on disk for ``ragtrack sync`` if the process ends first.
        """
        if self._finished:
            return
        wait = self._sync_timeout if timeout is None else _checked_timeout(timeout, "timeout")
        self._finished = True
        _lifecycle.unregister(self)
        if self._monitor:
            self._monitor.stop()
        if self._console:
            self._console.stop()
        if self._metadata:
            self._metadata.wait()
        started = time.monotonic()
        try:
            self._writer.close(RunStatus(status), error, timeout=wait)
        finally:
            left = self._store.wait_for_pending(max(0.0, wait - (time.monotonic() - started)))
            if left:
                _lifecycle.logger.warning(
                    "ragtrack: run %s: %d writes are not stored yet after %g s; they are "
                    "retried in the background and kept on disk until delivered",
                    self.id,
                    left,
                    wait,
                )

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(*status_for(exc_type, exc, tb))


def _heartbeat_interval() -> float:
    """``$RAGTRACK_HEARTBEAT_INTERVAL`` seconds (default 5); keep it well below the
    readers' ``RAGTRACK_HEARTBEAT_TIMEOUT`` (default 60)."""
    return seconds_from_env("RAGTRACK_HEARTBEAT_INTERVAL", 5.0)


def _sync_timeout() -> float:
    """``$RAGTRACK_SYNC_TIMEOUT`` seconds (default 30) that ``finish`` waits for
    spooled writes to reach the server; 0 does not wait."""
    return seconds_from_env("RAGTRACK_SYNC_TIMEOUT", 30.0, allow_zero=True)


def _checked_timeout(value: float, name: str) -> float:
    if not (isinstance(value, (int, float)) and 0 <= value < float("inf")):
        from ragtrack.exceptions import InvalidArgumentError

        raise InvalidArgumentError(
            f"{name} must be a number of seconds >= 0 (0: do not wait), got {value!r}",
            field=name,
        )
    return float(value)


def status_for(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
) -> tuple[RunStatus, str | None]:
    """How a run ends given the exception (if any) that ended its block."""
    if exc_type is None:
        return RunStatus.COMPLETED, None
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    if issubclass(exc_type, (KeyboardInterrupt, SystemExit)):
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            return RunStatus.COMPLETED, None
        return RunStatus.STOPPED, text
    return RunStatus.FAILED, text


def init(
    project: str | None = None,
    experiment: str | None = None,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Sequence[str] | None = None,
    notes: str = "",
    *,
    dir: str | os.PathLike[str] | None = None,
    capture: CaptureSettings | Mapping[str, Any] | bool | None = None,
    flush_interval: float = 1.0,
    uri: str | None = None,
) -> Run:
    """Start a run and capture its environment.

    Args:
        project: project name (default ``$RAGTRACK_PROJECT`` or ``"default"``).
        experiment: experiment inside the project, created on first use.
        name: display name; a memorable one is generated when omitted.
        config: hyperparameters, possibly nested; more can be added later with
            ``run.config.update``.
        tags: labels to filter by.
        notes: free text.
        dir: embedded store directory (default ``$RAGTRACK_DIR`` or ``./.ragtrack``).
        uri: a ragtrack server (``http://host:8650``) or database URL instead
            (default ``$RAGTRACK_URI``); overrides ``dir``.
        capture: what to record automatically (see CaptureSettings); ``False``
            switches everything off.
        flush_interval: seconds between background writes.

    Example:
        >>> import ragtrack, tempfile
        >>> run = ragtrack.init(project="rag-search", config={"chunk_size": 512},
        ...                     dir=tempfile.mkdtemp(), capture=False)
        >>> run.log({"loss": 0.42}, step=100)
        >>> run.finish()
    """
    settings = CaptureSettings.resolve(capture)
    project = project or os.environ.get("RAGTRACK_PROJECT") or "default"
    store_dir = os.fspath(dir) if dir is not None else None
    return Run(
        open_store(dir=store_dir, uri=uri, shared=True),
        project=project,
        experiment=experiment,
        name=name,
        config=config,
        tags=tags or (),
        notes=notes,
        capture=settings,
        flush_interval=flush_interval,
        dir=store_dir,
    )
