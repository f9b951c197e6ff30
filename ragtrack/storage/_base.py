"""The Store contract: every backend (embedded SQLite, PostgreSQL, the REST client)
implements this class and passes the same test suite (``ragtrack.testing``).

Guarantees every implementation gives:

* **Process and thread safety.** Several processes may write *different* runs of
  one store at once; one process may call a store from several threads.
* **Idempotent writes.** :meth:`Store.log_metrics` and :meth:`Store.append_logs`
  with a ``batch_id`` that was already applied to the run are no-ops, so a
  retried batch never duplicates points or text; every other write sets state
  and can be repeated (``create_run`` with a chosen ``run_id`` raises
  AlreadyExistsError the second time, which a retrying client treats as done).
* **Atomic writes.** A call either applies completely or not at all; a failed
  call leaves what was stored before intact.
* **Crash detection.** A ``running`` run whose heartbeat is older than the
  store's ``stale_after`` seconds is reported (and filtered) as ``crashed``.
* **Errors.** Unknown ids raise :class:`~ragtrack.exceptions.RunNotFoundError`;
  bad input raises :class:`~ragtrack.exceptions.InvalidArgumentError` naming the
  field; backend failures raise :class:`~ragtrack.exceptions.StoreError`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ragtrack.entities import (
    Experiment,
    ExperimentMetric,
    Project,
    RunGroup,
    RunKeys,
    RunRecord,
    RunStatus,
)
from ragtrack.storage import _run_groups
from ragtrack.storage import filter as run_filter
from ragtrack.storage._input import checked_tags

if TYPE_CHECKING:
    import numpy as np

    from ragtrack.entities.metric import MetricSeries

#: Default seconds without a heartbeat after which a running run counts as crashed.
DEFAULT_STALE_AFTER = 60.0


class Store(abc.ABC):
    """Abstract store of projects, experiments, runs, params, metrics and logs."""

    # -- projects and experiments -------------------------------------------------

    @abc.abstractmethod
    def list_projects(self) -> list[Project]:
        """All projects, by name, each with its number of runs."""

    @abc.abstractmethod
    def get_project(self, name: str) -> Project:
        """One project with its number of runs; raises ProjectNotFoundError."""

    @abc.abstractmethod
    def create_project(self, name: str) -> Project:
        """Create an empty project; raises AlreadyExistsError if it exists."""

    @abc.abstractmethod
    def list_experiments(self, project: str) -> list[Experiment]:
        """Experiments of ``project`` by name; raises ProjectNotFoundError."""

    @abc.abstractmethod
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
        """Define an experiment, creating its project on first use.

        Raises AlreadyExistsError if the project has an experiment of that name
        (one created implicitly by a run included: update it instead), and
        InvalidArgumentError naming the field for a bad name, duplicate metric
        names or non-JSON hyperparameters.
        """

    @abc.abstractmethod
    def get_experiment(self, project: str, name: str) -> Experiment:
        """One experiment with its run count; raises ExperimentNotFoundError
        (ProjectNotFoundError when the project is unknown)."""

    @abc.abstractmethod
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
        """Replace the given fields (``None`` leaves one alone; ``clear_command``
        removes the command) and stamp ``updated_at``; returns the new state.

        Renaming onto an existing experiment raises AlreadyExistsError.
        """

    @abc.abstractmethod
    def delete_experiment(self, project: str, name: str) -> int:
        """Delete an experiment and every run in it; returns how many runs went.

        Callers that face users (API, CLI) ask for confirmation first, showing
        ``get_experiment(...).run_count``.
        """

    # -- runs ---------------------------------------------------------------------

    @abc.abstractmethod
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
        """Create a run, creating its project and experiment on first use.

        ``metadata`` is the initial system metadata (see :meth:`set_metadata`).

        ``run_id`` lets a client choose the id (for idempotent retries); creating
        a run whose id exists raises AlreadyExistsError. A missing ``name`` gets
        a generated, human-readable one. A ``running`` run starts now.
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> RunRecord:
        """The run with exactly this id; raises RunNotFoundError."""

    @abc.abstractmethod
    def resolve_run_id(self, prefix: str) -> str:
        """``prefix`` itself when it is a run id, else the one run id starting
        with it (a prefix needs at least 4 characters).

        Raises RunNotFoundError when none matches, AmbiguousIdError when several
        do, and InvalidArgumentError for a prefix shorter than 4 characters.
        """

    @abc.abstractmethod
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
        """Change the given fields; ``None`` leaves a field alone.

        Setting a terminal status without ``ended_at`` stamps the current time.
        """

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
        """End a run: append a last metric batch, set explicit summary values,
        then the terminal ``status`` — what a run's final flush does.

        Backends may apply the three in one transaction (the SQL store does,
        saving a commit per run); this default makes the three calls in order.
        """
        if batch:
            self.log_metrics(run_id, batch, batch_id)
        if summary:
            self.set_summary(run_id, summary)
        self.update_run(run_id, status=status, error=error)

    @abc.abstractmethod
    def heartbeat(self, run_id: str, at: float | None = None) -> None:
        """Record that the process of a running run is alive.

        Liveness is judged by the store's clock: without ``at`` the heartbeat is
        stamped with it (what the SDK sends: a client's clock may be off), and a
        run created as running gets its first heartbeat from it, whatever
        ``created_at`` says. An ``at`` older than the store's ``stale_after``
        records a known past (copying a dead run between stores) and is kept; any
        later ``at`` (within ``stale_after``, or ahead) is a live beat from a
        client's clock and is stamped with the store's clock instead.
        """

    @abc.abstractmethod
    def set_tags(self, run_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        """Add, then remove tags; adding an existing tag or removing a missing one is a no-op."""

    def edit_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        name: str | None = None,
        notes: str | None = None,
        ended_at: float | None = None,
        error: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> None:
        """:meth:`update_run` and :meth:`set_tags` as one change, all or nothing:
        a bad value anywhere (a name, a tag, a time) changes nothing.

        This default checks the tags, then makes the two calls (each checks its
        values before writing); the SQL store applies both in one transaction
        and the REST store sends them as one request.
        """
        add_list, remove_list = checked_tags(add_tags), checked_tags(remove_tags)
        self.update_run(
            run_id, status=status, name=name, notes=notes, ended_at=ended_at, error=error
        )
        if add_list or remove_list:
            self.set_tags(run_id, add=add_list, remove=remove_list)

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything logged to it; raises RunNotFoundError."""

    @abc.abstractmethod
    def search_runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RunRecord]:
        """Runs matching the filter language (see docs/filter.md), newest first
        unless ``order_by`` says otherwise (``-`` prefix for descending).

        Raises InvalidFilterError with the offending position for a bad filter.
        """

    @abc.abstractmethod
    def count_runs(self, project: str | None = None, filter: str | None = None) -> int:
        """How many runs :meth:`search_runs` would return without a limit."""

    # -- over many runs -------------------------------------------------------------

    def list_run_keys(self, project: str, experiment: str | None = None) -> RunKeys:
        """The flattened param keys and the metric keys (keys of
        :attr:`RunRecord.summary`: logged series and explicit summary values)
        used by any run of ``project``, or of one of its experiments; each
        sorted and distinct.

        Raises ProjectNotFoundError, or ExperimentNotFoundError for an unknown
        experiment. This default reads every run; backends answer from an index.

        Example:
            >>> from ragtrack.storage.sql import SqlStore
            >>> store = SqlStore("sqlite://")
            >>> run = store.create_run(project="p", config={"chunker": {"size": 512}})
            >>> store.set_summary(run.id, {"recall@10": 0.7})
            >>> store.list_run_keys("p")
            RunKeys(params=('chunker.size',), metrics=('recall@10',))
        """
        if experiment is None:
            self.get_project(project)
        else:
            self.get_experiment(project, experiment)
        records = self.search_runs(project)
        if experiment is not None:
            records = [r for r in records if r.experiment == experiment]
        return _run_groups.keys_of(records)

    def filter_warnings(
        self, project: str | None = None, filter: str | None = None
    ) -> list[run_filter.FilterWarning]:
        """A warning for each params/metrics key in ``filter`` that no run of
        ``project`` (of any project: None) has, with the nearest known keys;
        what ``GET /api/v1/runs`` returns as ``warnings``. Never raises for a
        project deleted meanwhile; a filter that does not parse gives none.

        This default reads the keys of the store; the REST client asks the server.
        """
        return run_filter.filter_warnings(self, project, filter)

    def aggregate_runs(
        self,
        project: str,
        group_by: str,
        metrics: Sequence[str],
        filter: str | None = None,
    ) -> list[RunGroup]:
        """The runs of ``project`` matching ``filter``, grouped by the value of
        the param ``group_by`` (a flattened key such as ``chunker.size``), with
        count, mean, min and max of each of ``metrics`` per group.

        Values keep their type and group exactly: ``512`` and ``512.0`` are two
        groups, as are ``True`` and ``1``. Runs without the param (or with JSON
        ``null``) form the group whose value is ``None``. A metric's statistics
        cover the runs of the group whose summary value is a finite number
        (see :class:`~ragtrack.entities.MetricAggregate`); every group lists
        every metric asked for. Groups come ordered by value: numbers (booleans
        as 0 and 1), NaN, strings, lists and other JSON values, then ``None``.

        Raises ProjectNotFoundError, InvalidFilterError for a bad filter (as
        :meth:`search_runs`), and InvalidArgumentError naming ``group_by`` or
        ``metrics`` (at most 50 valid keys). This default reads every matching
        run; backends aggregate in the database.

        Example:
            >>> from ragtrack.storage.sql import SqlStore
            >>> store = SqlStore("sqlite://")
            >>> for size, recall in [(256, 0.5), (512, 0.5), (512, 0.75)]:
            ...     run = store.create_run(project="p", config={"chunker": {"size": size}})
            ...     store.set_summary(run.id, {"recall@10": recall})
            >>> [(g.value, g.run_count, g.metrics["recall@10"].mean)
            ...  for g in store.aggregate_runs("p", "chunker.size", ["recall@10"])]
            [(256, 1, 0.5), (512, 2, 0.625)]
        """
        group_by, keys = _run_groups.checked_group_args(group_by, metrics)
        run_filter.parse_filter(filter or "")  # a bad filter is reported before a missing project
        self.get_project(project)
        return _run_groups.groups_of(self.search_runs(project, filter), group_by, keys)

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
        """The runs :meth:`search_runs` would return, as one numpy array per
        column (see ``storage/_run_columns.py`` for the columns and dtypes):
        ``id``, ``name``, ``experiment``, ``status``, the times, then
        ``params.<key>`` and ``metrics.<key>`` for the given keys (default:
        every key of :meth:`list_run_keys`).

        Raises ProjectNotFoundError and InvalidFilterError as :meth:`search_runs`.
        This default builds the columns from the records; backends select them
        without making a record per run.

        Example:
            >>> from ragtrack.storage.sql import SqlStore
            >>> store = SqlStore("sqlite://")
            >>> run = store.create_run(project="p", config={"lr": 0.1})
            >>> store.set_summary(run.id, {"recall@10": 0.7})
            >>> cols = store.search_columns("p")
            >>> cols["params.lr"].tolist(), cols["metrics.recall@10"].tolist()
            ([0.1], [0.7])
        """
        # numpy is imported here, not with the contract: reading runs needs none.
        from ragtrack.storage import _run_columns

        param_keys, metric_keys = self._column_keys(project, params, metrics)
        records = self.search_runs(project, filter, order_by, limit, offset)
        return _run_columns.columns_of(records, params=param_keys, metrics=metric_keys)

    def _column_keys(
        self, project: str, params: Sequence[str] | None, metrics: Sequence[str] | None
    ) -> tuple[list[str], list[str]]:
        """The param and metric keys of the columns: as given, or every key in use."""
        from ragtrack.storage import _run_columns

        param_keys = None if params is None else _run_columns.checked_keys(params, "params")
        metric_keys = None if metrics is None else _run_columns.checked_keys(metrics, "metrics")
        if param_keys is None or metric_keys is None:
            keys = self.list_run_keys(project)
            param_keys = list(keys.params) if param_keys is None else param_keys
            metric_keys = list(keys.metrics) if metric_keys is None else metric_keys
        else:
            self.get_project(project)
        return param_keys, metric_keys

    # -- params, summary, metadata ------------------------------------------------

    @abc.abstractmethod
    def log_params(self, run_id: str, config: Mapping[str, Any]) -> None:
        """Deep-merge ``config`` into the run's config; later values win.

        Values must be JSON-serialisable (NaN and inf are allowed).
        """

    @abc.abstractmethod
    def set_summary(self, run_id: str, values: Mapping[str, Any]) -> None:
        """Set explicit summary values; they override the last logged value of a
        key until that key is logged again."""

    @abc.abstractmethod
    def set_metadata(self, run_id: str, metadata: Mapping[str, Any]) -> None:
        """Shallow-merge system metadata (git, environment, hardware, ...)."""

    @abc.abstractmethod
    def get_metadata(self, run_id: str) -> dict[str, Any]:
        """The run's system metadata."""

    # -- metrics ------------------------------------------------------------------

    @abc.abstractmethod
    def log_metrics(
        self, run_id: str, batch: Mapping[str, MetricSeries], batch_id: str | None = None
    ) -> None:
        """Append points to the series of each key and update their summaries.

        Idempotent per ``batch_id``. Keys are validated (see
        :func:`ragtrack.storage.validate_key`).
        """

    @abc.abstractmethod
    def get_history(self, run_id: str, key: str) -> MetricSeries:
        """Every point of one series, ordered by step (stable for equal steps).

        An unknown key gives an empty series; an unknown run raises RunNotFoundError.
        """

    @abc.abstractmethod
    def list_metric_keys(self, run_id: str) -> list[str]:
        """Keys of every series logged to the run, sorted."""

    # -- logs -----------------------------------------------------------------------

    @abc.abstractmethod
    def append_logs(self, run_id: str, stream: str, text: str, batch_id: str | None = None) -> None:
        """Append captured console text (``stream`` is ``stdout`` or ``stderr``).

        Idempotent per ``batch_id`` (the same namespace as metric batch ids, so
        clients use fresh random ids for both).
        """

    @abc.abstractmethod
    def read_logs(self, run_id: str, stream: str | None = None, offset: int = 0) -> str:
        """Captured console text in the order it was written, optionally one stream,
        from character ``offset`` on (``text[offset:]`` of the whole text).

        A reader that tails a live run keeps ``offset += len(text)`` and so reads
        each character once; stores skip what is before ``offset`` without
        sending it. ``offset`` is a non-negative int (InvalidArgumentError
        otherwise).
        """

    # -- lifecycle ------------------------------------------------------------------

    def wait_for_pending(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for writes that were accepted but not yet
        stored (a spool of a remote store) and return how many remain.

        Stores that write synchronously have nothing pending and return 0.
        """
        return 0

    #: Set on stores handed out by ``open_store(shared=True)``: ``close()`` then
    #: leaves the store open for the other users in the process.
    keep_open: bool = False

    def close(self) -> None:
        """Release connections; the store must not be used afterwards.

        Does nothing on a shared store (see ``keep_open``).
        """
        if not self.keep_open:
            self.release()

    def release(self) -> None:  # noqa: B027 - optional hook, most backends need nothing
        """Release idle connections and other resources held by the store."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
