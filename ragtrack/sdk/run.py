"""The live run a training or indexing script logs to."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from types import TracebackType
from typing import Any

from ragtrack.entities import RunStatus
from ragtrack.exceptions import RunFinishedError
from ragtrack.sdk import _lifecycle
from ragtrack.sdk._values import checked_metrics, step_value
from ragtrack.sdk._writer import BackgroundWriter
from ragtrack.sdk.capture import CaptureSettings, ConsoleCapture, SystemMonitor, collect_metadata
from ragtrack.storage import Store, open_store


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
        self._run._store.log_params(self._run.id, values)
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
        capture = capture or CaptureSettings.resolve(None)
        record = store.create_run(
            project=project,
            experiment=experiment,
            name=name,
            config=config,
            tags=tags,
            notes=notes,
            metadata=collect_metadata(capture, cwd=os.getcwd()),
        )
        self.id = record.id
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
        )
        self.summary = Summary(self)
        self._append = self._writer.append
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

    def _log_system(self, sample: dict[str, float]) -> None:
        self._append((self._system_step, time.time(), sample))
        self._system_step += 1

    def flush(self) -> None:
        """Write everything logged so far now, instead of at the next interval."""
        self._writer.flush()

    def finish(
        self, status: RunStatus | str = RunStatus.COMPLETED, error: str | None = None
    ) -> None:
        """Flush everything and mark the run ended. Calling it again does nothing."""
        if self._finished:
            return
        self._finished = True
        _lifecycle.unregister(self)
        if self._monitor:
            self._monitor.stop()
        if self._console:
            self._console.stop()
        self._writer.close(RunStatus(status), error)

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
    raw = os.environ.get("RAGTRACK_HEARTBEAT_INTERVAL", "")
    try:
        value = float(raw) if raw else 5.0
    except ValueError:
        value = -1.0
    if not value > 0:
        from ragtrack.exceptions import InvalidArgumentError

        raise InvalidArgumentError(
            f"RAGTRACK_HEARTBEAT_INTERVAL must be a positive number of seconds, got {raw!r}"
        )
    return value


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
        open_store(dir=store_dir, shared=True),
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
