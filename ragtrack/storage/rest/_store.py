"""``RestStore``: the ragtrack server as just another Store.

Each Store method is one request to the REST API (docs/architecture.md,
"Remote store"); the JSON shapes come from ``_wire`` and errors come back as
the exception the server raised (see ``_http``). Values are made JSON-ready
here (numpy scalars and arrays, tuples) exactly as the SQL store does, so a
config that logs locally logs remotely.

Example:
    >>> store = RestStore("http://127.0.0.1:8650")  # doctest: +SKIP
    >>> run = store.create_run(project="rag-search", config={"top_k": 5})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
    ExperimentNotFoundError,
    InvalidArgumentError,
    ProjectNotFoundError,
    RunNotFoundError,
)
from ragtrack.storage import filter as run_filter
from ragtrack.storage._base import Store
from ragtrack.storage._input import checked_count, checked_tags
from ragtrack.storage._keys import validate_key
from ragtrack.storage._params import to_plain
from ragtrack.storage._run_groups import checked_group_args
from ragtrack.storage.rest import _wire
from ragtrack.storage.rest._http import HttpTransport, QueryValue, quote

#: The largest page the server hands out; longer listings follow ``next_cursor``.
PAGE_LIMIT = 1000
_API = "/api/v1"


class RestStore(Store):
    """A store served by ``ragtrack server`` at ``url``.

    Thread-safe: one connection pool, kept alive across calls. Writes are sent
    at once; wrapped in a ``SpoolingStore`` (what ``open_store`` hands out) they
    survive the server being away.

    Args:
        url: ``http(s)://host:port`` with an optional path prefix.
        token: the server's bearer token (``$RAGTRACK_TOKEN`` for ``open_store``).
        read_timeout: seconds to wait for an answer (default
            ``$RAGTRACK_HTTP_TIMEOUT`` or 60).
    """

    def __init__(
        self, url: str, token: str | None = None, *, read_timeout: float | None = None
    ) -> None:
        self._http = HttpTransport(url, token, read_timeout=read_timeout)
        self.url = self._http.base_url

    def __repr__(self) -> str:
        return f"<RestStore {self.url}>"

    def health(self) -> dict[str, Any]:
        """The server's ``/healthz`` answer: ``{"status": "ok", "schema", "version"}``.

        Raises StoreUnavailableError while the server (or its database) is down.
        """
        result: dict[str, Any] = self._http.request("GET", "/healthz")
        return result

    def release(self) -> None:
        self._http.release()

    # -- projects and experiments -------------------------------------------------------

    def list_projects(self) -> list[Project]:
        items = self._pages(f"{_API}/projects", "projects", {})
        return [_wire.project_from_json(p) for p in items]

    def get_project(self, name: str) -> Project:
        return _wire.project_from_json(self._get(_project_path(name)))

    def create_project(self, name: str) -> Project:
        return _wire.project_from_json(self._post(f"{_API}/projects", {"name": name}))

    def list_experiments(self, project: str) -> list[Experiment]:
        items = self._pages(f"{_project_path(project)}/experiments", "experiments", {})
        return [_wire.experiment_from_json(e) for e in items]

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
        body = {
            "name": name,
            "description": description,
            "datasets": _strings(datasets, "datasets"),
            "models": _strings(models, "models"),
            "hyperparameters": _hyperparameters(hyperparameters or {}),
            "metrics": [_wire.metric_to_json(m) for m in metrics],
            "command": command,
        }
        if not project:  # the server checks names; this one cannot be a path segment
            raise InvalidArgumentError(
                f"invalid project name {project!r}: it is empty", field="project"
            )
        # The API creates a project only when asked; the Store contract
        # creates it on first use (after checking the definition), so ask.
        data = self._http.request(
            "POST",
            f"{_project_path(project)}/experiments",
            body=body,
            query={"create_project": "true"},
        )
        return _wire.experiment_from_json(data)

    def get_experiment(self, project: str, name: str) -> Experiment:
        return _wire.experiment_from_json(self._get(_experiment_path(project, name)))

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
        body: dict[str, Any] = {}
        if new_name is not None:
            body["name"] = new_name
        if description is not None:
            body["description"] = description
        if datasets is not None:
            body["datasets"] = _strings(datasets, "datasets")
        if models is not None:
            body["models"] = _strings(models, "models")
        if hyperparameters is not None:
            body["hyperparameters"] = _hyperparameters(hyperparameters)
        if metrics is not None:
            body["metrics"] = [_wire.metric_to_json(m) for m in metrics]
        if command is not None:
            body["command"] = command
        elif clear_command:
            body["command"] = None
        data = self._http.request("PATCH", _experiment_path(project, name), body=body)
        return _wire.experiment_from_json(data)

    def delete_experiment(self, project: str, name: str) -> int:
        # The Store method is the confirmed operation: callers facing users ask first.
        data = self._http.request(
            "DELETE", _experiment_path(project, name), query={"confirm": "true"}
        )
        return int(data["deleted"]["runs"])

    # -- runs -----------------------------------------------------------------------------

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
        body: dict[str, Any] = {
            "project": project,
            "experiment": experiment,
            "name": name,
            "run_id": run_id,
            "config": to_plain(dict(config or {})),
            "tags": checked_tags(tags),
            "notes": notes,
            "status": RunStatus(status).value,
            "created_at": created_at,
            "metadata": to_plain(dict(metadata or {}), "metadata"),
        }
        return _wire.run_from_json(self._post(f"{_API}/runs", body))

    def get_run(self, run_id: str) -> RunRecord:
        return _wire.run_from_json(self._get(_run_path(run_id)))

    def resolve_run_id(self, prefix: str) -> str:
        if not prefix:
            raise RunNotFoundError("no run with id ''")
        return str(self._get(f"{_API}/run-ids/{quote(prefix)}")["id"])

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
        body = _update_body(status, name, notes, ended_at, error)
        self._http.request("PATCH", _run_path(run_id), body=body)

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
        # One request, so a run's end is one round trip (and one transaction on SQL).
        body: dict[str, Any] = {"status": RunStatus(status).value, "error": error}
        if batch:
            body["batch"] = _batch_json(batch, batch_id)
        if summary:
            body["summary"] = _Encoded(_wire.dumps(_summary(summary)))
        self._post(f"{_run_path(run_id)}/finish", _json_body(body))

    def heartbeat(self, run_id: str, at: float | None = None) -> None:
        self._post(f"{_run_path(run_id)}/heartbeat", {} if at is None else {"at": at})

    def set_tags(self, run_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        body = {"tags_add": checked_tags(add), "tags_remove": checked_tags(remove)}
        self._http.request("PATCH", _run_path(run_id), body=body)

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
        # One request: the server applies it in one transaction.
        body = _update_body(status, name, notes, ended_at, error)
        body.update(tags_add=checked_tags(add_tags), tags_remove=checked_tags(remove_tags))
        self._http.request("PATCH", _run_path(run_id), body=body)

    def delete_run(self, run_id: str) -> None:
        self._http.request("DELETE", _run_path(run_id))

    def search_runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RunRecord]:
        if limit is not None:
            checked_count(limit, "limit")
        checked_count(offset, "offset")
        if limit == 0:
            return []
        if order_by is not None and not isinstance(order_by, str):
            # Each item parses on its own, so joining them keeps their quoting.
            order_by = ", ".join(order_by)
        query = {"project": project, "filter": filter, "order_by": order_by}
        items = self._pages(f"{_API}/runs", "runs", query, limit=limit, offset=offset)
        return [_wire.run_from_json(r) for r in items]

    def filter_warnings(
        self, project: str | None = None, filter: str | None = None
    ) -> list[run_filter.FilterWarning]:
        if not filter or not filter.strip():
            return []
        # One request: the server reads the keys where they are (a first page of
        # one run carries them), not one list_run_keys call per project from here.
        query = {"project": project, "filter": filter, "limit": 1}
        data = self._get(f"{_API}/runs", query)
        return [run_filter.warning_from_json(w) for w in data.get("warnings") or ()]

    def count_runs(self, project: str | None = None, filter: str | None = None) -> int:
        data = self._get(f"{_API}/run-count", {"project": project, "filter": filter})
        return int(data["count"])

    # -- over many runs ----------------------------------------------------------------------

    def list_run_keys(self, project: str, experiment: str | None = None) -> RunKeys:
        data = self._get(f"{_project_path(project)}/run-keys", {"experiment": experiment})
        return _wire.run_keys_from_json(data)

    def aggregate_runs(
        self,
        project: str,
        group_by: str,
        metrics: Sequence[str],
        filter: str | None = None,
    ) -> list[RunGroup]:
        # Checked here as well: list() would turn a str into one metric per character.
        group_by, keys = checked_group_args(group_by, metrics)
        query = {"group_by": group_by, "metric": list(keys), "filter": filter}
        data = self._get(f"{_project_path(project)}/run-groups", query)
        return [_wire.run_group_from_json(g) for g in data["groups"]]

    # -- params, summary, metadata ----------------------------------------------------------

    def log_params(self, run_id: str, config: Mapping[str, Any]) -> None:
        body = {"config": to_plain(dict(config))}
        self._http.request("PATCH", f"{_run_path(run_id)}/params", body=body)

    def set_summary(self, run_id: str, values: Mapping[str, Any]) -> None:
        body = {"values": _summary(values)}
        self._http.request("PATCH", f"{_run_path(run_id)}/summary", body=body)

    def set_metadata(self, run_id: str, metadata: Mapping[str, Any]) -> None:
        body = {"metadata": to_plain(dict(metadata), "metadata")}
        self._http.request("PATCH", f"{_run_path(run_id)}/metadata", body=body)

    def get_metadata(self, run_id: str) -> dict[str, Any]:
        return dict(self._get(f"{_run_path(run_id)}/metadata")["metadata"])

    # -- metrics ----------------------------------------------------------------------------

    def log_metrics(
        self, run_id: str, batch: Mapping[str, MetricSeries], batch_id: str | None = None
    ) -> None:
        self._post(f"{_run_path(run_id)}/metrics", batch_body(batch, batch_id))

    def get_history(self, run_id: str, key: str) -> MetricSeries:
        query = {"key": key, "encoding": "base64"}
        data = self._get(f"{_run_path(run_id)}/metrics/history", query)
        return _wire.series_from_json(data, "history")

    def list_metric_keys(self, run_id: str) -> list[str]:
        return [str(k) for k in self._pages(f"{_run_path(run_id)}/metrics", "keys", {})]

    # -- logs -------------------------------------------------------------------------------

    def append_logs(self, run_id: str, stream: str, text: str, batch_id: str | None = None) -> None:
        body = {"stream": stream, "text": text, "batch_id": batch_id}
        self._post(f"{_run_path(run_id)}/logs", body)

    def read_logs(self, run_id: str, stream: str | None = None, offset: int = 0) -> str:
        query = {"stream": stream, "offset": checked_count(offset, "offset") or None}
        return str(self._get(f"{_run_path(run_id)}/logs", query)["text"])

    # -- requests ---------------------------------------------------------------------------

    def _get(self, path: str, query: Mapping[str, QueryValue] | None = None) -> Any:
        return self._http.request("GET", path, query=query)

    def _post(self, path: str, body: Any) -> Any:
        return self._http.request("POST", path, body=body)

    def _pages(
        self,
        path: str,
        field: str,
        query: Mapping[str, str | int | None],
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        """Items of a listing from ``offset``: one request for up to 1,000 of
        them, else page after page along ``next_cursor``."""
        items: list[Any] = []
        cursor = _wire.encode_cursor(offset) if offset else None
        while True:
            want = PAGE_LIMIT if limit is None else min(PAGE_LIMIT, limit - len(items))
            data = self._get(path, {**query, "limit": want, "cursor": cursor})
            items.extend(data[field])
            cursor = data.get("next_cursor")
            if cursor is None or (limit is not None and len(items) >= limit):
                return items


def batch_body(batch: Mapping[str, MetricSeries], batch_id: str | None) -> bytes:
    """``_wire.dumps(_wire.batch_to_json(batch, batch_id))``, built faster (see
    :func:`_batch_json`).

    Example:
        >>> from ragtrack.entities import MetricSeries
        >>> batch_body({"x": MetricSeries.from_lists([1], [0.5], [2.0])}, None)[:31]
        b'{"batch_id":null,"series":{"x":'
    """
    return _json_body(_batch_json(batch, batch_id))


class _Base64(bytes):
    """A base64 string for the JSON body, spliced in between quotes as it is."""


class _Encoded(bytes):
    """JSON text encoded already."""


def _batch_json(batch: Mapping[str, MetricSeries], batch_id: str | None) -> dict[str, Any]:
    # The base64 alphabet needs no JSON escaping, and json.dumps of the 32 MB of
    # text a million points make takes ~0.3 s: a third of sending them.
    doc = _wire.batch_to_json(batch, batch_id)
    for series in doc["series"].values():
        if series.get("encoding") == "base64":
            for key in ("steps", "values", "timestamps"):
                series[key] = _Base64(series[key].encode("ascii"))
    return doc


def _json_body(value: Any) -> bytes:
    out: list[bytes] = []
    _write_json(value, out)
    return b"".join(out)  # the one copy of the whole body


def _write_json(value: Any, out: list[bytes]) -> None:
    if isinstance(value, _Base64):
        out += (b'"', value, b'"')
    elif isinstance(value, _Encoded):
        out.append(value)
    elif isinstance(value, dict):
        separator = b"{"
        for key, item in value.items():
            out += (separator, _wire.dumps(validate_key(key)), b":")
            _write_json(item, out)
            separator = b","
        out.append(b"}" if separator == b"," else b"{}")
    else:
        out.append(_wire.dumps(value))


# An empty segment would name another route (a listing), so those names are
# answered here, as a SQL store answers them: nothing has that name.


def _run_path(run_id: str) -> str:
    if not run_id:
        raise RunNotFoundError(f"no run with id {run_id!r}")
    return f"{_API}/runs/{quote(run_id)}"


def _project_path(name: str) -> str:
    if not name:
        raise ProjectNotFoundError(f"no project named {name!r}")
    return f"{_API}/projects/{quote(name)}"


def _experiment_path(project: str, name: str) -> str:
    if not name:
        raise ExperimentNotFoundError(f"no experiment named {name!r} in project {project!r}")
    return f"{_project_path(project)}/experiments/{quote(name)}"


def _update_body(
    status: RunStatus | None,
    name: str | None,
    notes: str | None,
    ended_at: float | None,
    error: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if status is not None:
        body["status"] = RunStatus(status).value
    fields = {"name": name, "notes": notes, "ended_at": ended_at, "error": error}
    body.update((key, value) for key, value in fields.items() if value is not None)
    return body


def _strings(values: Sequence[str], field: str) -> list[str]:
    # Checked here so the error names the argument, not the server's "body.models.0".
    items = [values] if isinstance(values, str) else list(values)
    if isinstance(values, str) or not all(isinstance(v, str) for v in items):
        raise InvalidArgumentError(
            f"{field} must be a list of strings, got {values!r}", field=field
        )
    return items


def _hyperparameters(values: Mapping[str, Any]) -> dict[str, Any]:
    try:
        plain: dict[str, Any] = to_plain(dict(values), "hyperparameters")
    except InvalidArgumentError as e:
        # The whole definition is one JSON value: the error names it, as on SQL stores.
        raise InvalidArgumentError(
            f"hyperparameters must be JSON-serialisable: {e.message}", field="hyperparameters"
        ) from None
    return plain


def _summary(values: Mapping[str, Any]) -> dict[str, Any]:
    # Per key, as the SQL store converts them, so errors name the key.
    return {key: to_plain(value, str(key)) for key, value in values.items()}
