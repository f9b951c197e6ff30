"""The read side: find runs and read what they logged."""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragtrack.entities import Experiment, Project, RunRecord, RunStatus
from ragtrack.storage import Store, open_store

if TYPE_CHECKING:
    import numpy as np

    from ragtrack.entities.metric import MetricSeries
    from ragtrack.storage.artifacts import ArtifactInfo


class ApiRun:
    """A stored run, as returned by :meth:`Api.run` and :meth:`Api.runs`.

    Cheap fields (status, params, summary, tags) are loaded with the run;
    metadata, histories and logs are read from the store on first use.
    """

    def __init__(self, store: Store, record: RunRecord) -> None:
        self._store = store
        self.record = record

    def __repr__(self) -> str:
        return f"<ApiRun {self.id} {self.name!r} {self.status.value}>"

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def project(self) -> str:
        return self.record.project

    @property
    def experiment(self) -> str | None:
        return self.record.experiment

    @property
    def status(self) -> RunStatus:
        return self.record.status

    @property
    def params(self) -> dict[str, Any]:
        """The nested config as logged."""
        return dict(self.record.config)

    config = params

    @property
    def summary(self) -> dict[str, Any]:
        """Last value of each metric, overridden by explicit summary values."""
        return self.record.summary

    @property
    def tags(self) -> tuple[str, ...]:
        return self.record.tags

    @property
    def notes(self) -> str:
        return self.record.notes

    @property
    def error(self) -> str | None:
        return self.record.error

    @property
    def created_at(self) -> float:
        return self.record.created_at

    @property
    def duration(self) -> float | None:
        return self.record.duration

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """System metadata captured at start: git, environment, hardware."""
        return self._store.get_metadata(self.id)

    def metric_keys(self) -> list[str]:
        """Keys of every logged series, including ``system/...`` ones."""
        return self._store.list_metric_keys(self.id)

    def history(self, key: str) -> MetricSeries:
        """Every point of one metric as numpy arrays ``steps``, ``values``, ``timestamps``.

        Example:
            >>> h = run.history("loss")  # doctest: +SKIP
            >>> h.steps[:3], h.values[:3]  # doctest: +SKIP
        """
        return self._store.get_history(self.id, key)

    def logs(self, stream: str | None = None) -> str:
        """Captured console output (``stdout``, ``stderr`` or both interleaved)."""
        return self._store.read_logs(self.id, stream)

    def artifacts(self, prefix: str = "") -> list[ArtifactInfo]:
        """Files logged with the run whose path starts with ``prefix`` (``"model/"``
        lists a directory), sorted by path. ``sha256`` is ``None`` here: only
        the upload reports it.

        Example:
            >>> [a.path for a in run.artifacts("checkpoint/")]  # doctest: +SKIP
            ['checkpoint/config.json', 'checkpoint/model.safetensors']
        """
        from ragtrack.storage.artifacts import artifact_store_of

        return artifact_store_of(self._store).list(self.id, prefix)

    def download_artifact(self, path: str, dest: str | os.PathLike[str]) -> Path:
        """Copy an artifact (or a directory of them) to ``dest`` and return where
        it went: ``dest`` itself, or ``dest/<base name>`` when ``dest`` is an
        existing directory. The copy streams, and lands under a temporary name
        first, so an interrupted download leaves no partial file.

        Example:
            >>> run.download_artifact("checkpoint", "/tmp/restore")  # doctest: +SKIP
            PosixPath('/tmp/restore')
        """
        from ragtrack.storage.artifacts import artifact_store_of

        return artifact_store_of(self._store).download(self.id, path, dest)

    def to_dict(self, *, metadata: bool = False) -> dict[str, Any]:
        """A JSON-ready dict: the run as ``GET /api/v1/runs/{id}`` answers it,
        which is also the CLI's ``--json`` shape (docs/cli.md, "JSON output").

        Times are seconds since the Unix epoch; non-finite numbers become the
        strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` so the output is
        strict JSON.
        """
        from ragtrack.storage.rest._wire import run_to_json

        out = run_to_json(self.record)
        if metadata:
            out["metadata"] = self.metadata
        return strict_json(out)  # type: ignore[no-any-return]


class Api:
    """Query runs in a store.

    Args:
        dir: embedded store directory (default ``$RAGTRACK_DIR`` or ``./.ragtrack``);
            it must exist (StoreNotFoundError otherwise).
        store: an already open store (overrides ``dir`` and ``uri``).
        uri: a ragtrack server (``http://host:8650``) or database URL instead
            (default ``$RAGTRACK_URI``); overrides ``dir``.

    Example:
        >>> import ragtrack
        >>> api = ragtrack.Api()  # doctest: +SKIP
        >>> best = api.runs("rag-search", filter="params.lr < 0.01 and metrics.recall@10 > 0.5",
        ...                 order_by="-metrics.recall@10", limit=1)  # doctest: +SKIP
    """

    def __init__(
        self,
        dir: str | os.PathLike[str] | None = None,
        *,
        store: Store | None = None,
        uri: str | None = None,
    ):
        self.store = (
            store if store is not None else open_store(dir=dir, uri=uri, create=False, shared=True)
        )

    def close(self) -> None:
        self.store.close()

    def projects(self) -> list[Project]:
        return self.store.list_projects()

    def experiments(self, project: str) -> list[Experiment]:
        return self.store.list_experiments(project)

    def runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ApiRun]:
        """Runs matching ``filter`` (see docs/filter.md), newest first by default.

        ``order_by`` takes fields such as ``"-metrics.recall@10"`` (``-`` for
        descending); runs without the field come last.
        """
        records = self.store.search_runs(project, filter, order_by, limit, offset)
        return [ApiRun(self.store, r) for r in records]

    def runs_columns(
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
        """The runs :meth:`runs` would return, as one numpy array per column:
        ``id``, ``name``, ``experiment``, ``status``, ``created_at``,
        ``started_at``, ``ended_at``, then ``params.<key>`` and
        ``metrics.<key>`` (the summary value) for the keys given, or every key
        the project's runs use. Numeric params and every metric are float64
        with NaN where a run has no value; other params are object arrays.

        Much cheaper than :meth:`runs` for many runs: no object is built per run.

        Example:
            >>> from ragtrack.storage.sql import SqlStore
            >>> api = Api(store=SqlStore("sqlite://"))
            >>> for size, recall in [(256, 0.5), (512, 0.75), (1024, 0.25)]:
            ...     run = api.store.create_run(project="rag", config={"chunker": {"size": size}})
            ...     api.store.set_summary(run.id, {"recall@10": recall})
            >>> cols = api.runs_columns("rag", "metrics.recall@10 > 0.3", "-metrics.recall@10")
            >>> cols["params.chunker.size"], cols["metrics.recall@10"]
            (array([512., 256.]), array([0.75, 0.5 ]))
        """
        return self.store.search_columns(
            project, filter, order_by, limit, offset, params=params, metrics=metrics
        )

    def runs_frame(
        self,
        project: str,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        *,
        params: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
    ) -> Any:
        """:meth:`runs_columns` as a ``pandas.DataFrame`` (needs ``pip install pandas``;
        ragtrack does not depend on it).

        Example:
            >>> df = api.runs_frame("rag-search", metrics=["recall@10"])  # doctest: +SKIP
            >>> df.groupby("params.chunker.size")["metrics.recall@10"].mean()  # doctest: +SKIP
        """
        try:
            # Imported by name: pandas is optional, and ships no type hints.
            pandas = importlib.import_module("pandas")
        except ImportError as e:
            raise ImportError(
                "Api.runs_frame needs pandas: `pip install pandas`, or use Api.runs_columns "
                "for the same columns as numpy arrays"
            ) from e
        columns = self.runs_columns(
            project, filter, order_by, limit, offset, params=params, metrics=metrics
        )
        return pandas.DataFrame(columns)

    def count_runs(self, project: str | None = None, filter: str | None = None) -> int:
        return self.store.count_runs(project, filter)

    def run(self, run_id: str) -> ApiRun:
        """The run with this id or unique id prefix (4+ characters)."""
        return ApiRun(self.store, self.store.get_run(self.store.resolve_run_id(run_id)))

    def delete_run(self, run_id: str) -> None:
        """Delete a run, everything logged to it and its artifacts."""
        from ragtrack.storage.artifacts import delete_run_artifacts

        run_id = self.store.resolve_run_id(run_id)
        # Artifacts first, as the server does: if that fails, the run is still there.
        delete_run_artifacts(self.store, run_id)
        self.store.delete_run(run_id)


def strict_json(value: Any) -> Any:
    """``value`` with NaN/inf floats replaced by their JSON-safe string names."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value
