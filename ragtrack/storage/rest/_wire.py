"""The JSON shapes of the REST API: entities to JSON and back.

One module for both ends (the server renders with it, the REST store and the
spool parse with it), so the two cannot drift apart. Pure stdlib + numpy: the
client side must not need the server's dependencies.

Numbers: JSON bodies may carry the tokens ``NaN``, ``Infinity`` and
``-Infinity`` (as Python's :mod:`json` reads and writes them), because metric
values, params and summaries may legitimately be non-finite and a lossy
encoding would make a run read back differently than it was logged. Metric
arrays may instead be sent as base64 of little-endian int64/float64 buffers
(``"encoding": "base64"``), which is what the Python client does: it is ~20×
cheaper than JSON number lists on both ends.

Example:
    >>> s = MetricSeries.from_lists([0, 1], [0.5, float("nan")], [10.0, 11.0])
    >>> series_from_json(loads(dumps(series_to_json(s))), "series.x") == s
    True
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ragtrack.entities import (
    Experiment,
    ExperimentMetric,
    MetricAggregate,
    MetricGoal,
    MetricSeries,
    MetricSummary,
    Project,
    RunGroup,
    RunKeys,
    RunRecord,
    RunStatus,
)
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage.artifacts._base import ArtifactInfo

#: Encodings of metric arrays on the wire.
SERIES_ENCODINGS = ("json", "base64")

_NON_FINITE = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf}
_NON_FINITE.update({"inf": math.inf, "-inf": -math.inf, "+inf": math.inf, "+infinity": math.inf})


def dumps(value: Any) -> bytes:
    """Compact ASCII JSON; non-finite floats as ``NaN``/``Infinity`` tokens.

    ASCII (non-ASCII characters as ``\\u`` escapes) because the encoder's ASCII
    path is twice as fast on the large base64 strings of metric batches.
    """
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def loads(body: bytes | str) -> Any:
    """Parse a JSON body; raises InvalidArgumentError naming the position."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgumentError(f"the request body is not valid JSON: {e}", field="body") from e


# -- projects and experiments ----------------------------------------------------------


def project_to_json(project: Project) -> dict[str, Any]:
    return {"name": project.name, "created_at": project.created_at, "run_count": project.run_count}


def project_from_json(data: Mapping[str, Any]) -> Project:
    return Project(
        name=data["name"], created_at=float(data["created_at"]), run_count=data["run_count"]
    )


def experiment_to_json(experiment: Experiment) -> dict[str, Any]:
    return {
        "project": experiment.project,
        "name": experiment.name,
        "description": experiment.description,
        "datasets": list(experiment.datasets),
        "models": list(experiment.models),
        "hyperparameters": dict(experiment.hyperparameters),
        "metrics": [metric_to_json(m) for m in experiment.metrics],
        "command": experiment.command,
        "created_at": experiment.created_at,
        "updated_at": experiment.updated_at,
        "run_count": experiment.run_count,
    }


def experiment_from_json(data: Mapping[str, Any]) -> Experiment:
    return Experiment(
        project=data["project"],
        name=data["name"],
        created_at=float(data["created_at"]),
        description=data.get("description") or "",
        run_count=data.get("run_count", 0),
        datasets=tuple(data.get("datasets") or ()),
        models=tuple(data.get("models") or ()),
        hyperparameters=data.get("hyperparameters") or {},
        metrics=tuple(metric_from_json(m, "metrics") for m in data.get("metrics") or ()),
        command=data.get("command"),
        updated_at=data.get("updated_at"),
    )


def metric_to_json(metric: ExperimentMetric) -> dict[str, str]:
    return {"name": metric.name, "goal": metric.goal.value}


def metric_from_json(data: Any, field: str) -> ExperimentMetric:
    """``{"name": "recall@10", "goal": "max"}`` (goal defaults to max)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise InvalidArgumentError(
            f'{field}: each metric must be an object like {{"name": "recall@10", "goal": "max"}}',
            field=field,
        )
    goal = data.get("goal", "max")
    try:
        return ExperimentMetric(data["name"], MetricGoal(goal))
    except ValueError:
        raise InvalidArgumentError(
            f"{field}: goal of {data['name']!r} must be 'max' or 'min', got {goal!r}", field=field
        ) from None


# -- runs -------------------------------------------------------------------------------


def summary_to_json(summary: MetricSummary) -> dict[str, Any]:
    return {
        "count": summary.count,
        "last": summary.last,
        "last_step": summary.last_step,
        "last_time": summary.last_time,
        "min": summary.min,
        "max": summary.max,
    }


def run_to_json(run: RunRecord) -> dict[str, Any]:
    """The one JSON shape of a run: the API's, and the CLI's ``--json``.

    ``summary`` (explicit values over last logged values) and ``duration_s``
    are derived, for readers; :func:`run_from_json` ignores them.
    """
    return {
        "id": run.id,
        "project": run.project,
        "experiment": run.experiment,
        "name": run.name,
        "status": run.status.value,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "heartbeat_at": run.heartbeat_at,
        "config": dict(run.config),
        "tags": list(run.tags),
        "notes": run.notes,
        "error": run.error,
        "metrics": {key: summary_to_json(s) for key, s in run.metrics.items()},
        "explicit_summary": dict(run.explicit_summary),
        "summary": run.summary,
        "duration_s": run.duration,
    }


def run_from_json(data: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        id=data["id"],
        project=data["project"],
        experiment=data.get("experiment"),
        name=data["name"],
        status=RunStatus(data["status"]),
        created_at=float(data["created_at"]),
        started_at=data.get("started_at"),
        ended_at=data.get("ended_at"),
        heartbeat_at=data.get("heartbeat_at"),
        config=data.get("config") or {},
        tags=tuple(data.get("tags") or ()),
        notes=data.get("notes") or "",
        metrics={
            key: MetricSummary(
                key=key,
                count=int(s["count"]),
                last=float(s["last"]),
                last_step=int(s["last_step"]),
                last_time=float(s["last_time"]),
                min=float(s["min"]),
                max=float(s["max"]),
            )
            for key, s in (data.get("metrics") or {}).items()
        },
        explicit_summary=data.get("explicit_summary") or {},
        error=data.get("error"),
    )


# -- over many runs ------------------------------------------------------------------------


def run_keys_to_json(keys: RunKeys) -> dict[str, Any]:
    return {"params": list(keys.params), "metrics": list(keys.metrics)}


def run_keys_from_json(data: Mapping[str, Any]) -> RunKeys:
    return RunKeys(params=tuple(data["params"]), metrics=tuple(data["metrics"]))


def run_group_to_json(group: RunGroup) -> dict[str, Any]:
    """A group as ``{"value", "run_count", "metrics": {key: {count, mean, min, max}}}``;
    ``value`` is the param's JSON value (``512`` and ``512.0`` stay apart)."""
    return {
        "value": group.value,
        "run_count": group.run_count,
        "metrics": {
            key: {"count": a.count, "mean": a.mean, "min": a.min, "max": a.max}
            for key, a in group.metrics.items()
        },
    }


def run_group_from_json(data: Mapping[str, Any]) -> RunGroup:
    return RunGroup(
        value=data["value"],
        run_count=int(data["run_count"]),
        metrics={
            key: MetricAggregate(int(a["count"]), a["mean"], a["min"], a["max"])
            for key, a in data["metrics"].items()
        },
    )


# -- artifacts ---------------------------------------------------------------------------


def artifact_to_json(info: ArtifactInfo) -> dict[str, Any]:
    return {
        "path": info.path,
        "size": info.size,
        "modified_at": info.modified_at,
        "sha256": info.sha256,
    }


def artifact_from_json(data: Mapping[str, Any]) -> ArtifactInfo:
    sha256 = data.get("sha256")
    return ArtifactInfo(
        path=str(data["path"]),
        size=int(data["size"]),
        modified_at=float(data["modified_at"]),
        sha256=str(sha256) if sha256 is not None else None,
    )


# -- metric series ------------------------------------------------------------------------


def series_to_json(series: MetricSeries, encoding: str = "base64") -> dict[str, Any]:
    """One series as ``{"encoding", "steps", "values", "timestamps"}``."""
    if encoding == "base64":
        return {
            "encoding": "base64",
            "steps": _b64(series.steps.astype("<i8", copy=False)),
            "values": _b64(series.values.astype("<f8", copy=False)),
            "timestamps": _b64(series.timestamps.astype("<f8", copy=False)),
        }
    if encoding == "json":
        return {
            "encoding": "json",
            "steps": series.steps.tolist(),
            "values": series.values.tolist(),
            "timestamps": series.timestamps.tolist(),
        }
    raise InvalidArgumentError(
        f"unknown series encoding {encoding!r}: use one of {', '.join(SERIES_ENCODINGS)}",
        field="encoding",
    )


def series_from_json(data: Any, field: str) -> MetricSeries:
    """Parse and check one series; errors name ``field`` (e.g. ``series.loss``)."""
    if not isinstance(data, Mapping):
        raise InvalidArgumentError(
            f"{field} must be an object with steps, values and timestamps", field=field
        )
    encoding = data.get("encoding", "json")
    if encoding not in SERIES_ENCODINGS:
        raise InvalidArgumentError(
            f"{field}.encoding must be one of {', '.join(SERIES_ENCODINGS)}, got {encoding!r}",
            field=f"{field}.encoding",
        )
    parse = _from_b64 if encoding == "base64" else _from_list
    steps = parse(data.get("steps"), np.dtype("<i8"), f"{field}.steps")
    values = parse(data.get("values"), np.dtype("<f8"), f"{field}.values")
    timestamps = parse(data.get("timestamps"), np.dtype("<f8"), f"{field}.timestamps")
    if not (len(steps) == len(values) == len(timestamps)):
        raise InvalidArgumentError(
            f"{field}: steps, values and timestamps must be equally long, got "
            f"{len(steps)}, {len(values)} and {len(timestamps)}",
            field=field,
        )
    # The store checks the range of times (ragtrack/storage/_input.py), so that
    # one rule holds on every backend and a stored time always reads back.
    return MetricSeries(
        steps.astype(np.int64, copy=False),
        values.astype(np.float64, copy=False),
        timestamps.astype(np.float64, copy=False),
    )


def batch_to_json(
    batch: Mapping[str, MetricSeries], batch_id: str | None, encoding: str = "base64"
) -> dict[str, Any]:
    """A metric batch: ``{"batch_id": ..., "series": {key: series}}``."""
    return {
        "batch_id": batch_id,
        "series": {key: series_to_json(s, encoding) for key, s in batch.items()},
    }


def batch_from_json(data: Any, field: str = "body") -> tuple[dict[str, MetricSeries], str | None]:
    """Parse a metric batch; returns ``(series by key, batch_id)``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("series"), Mapping):
        raise InvalidArgumentError(
            f'{field} must be an object like {{"batch_id": "...", "series": {{"loss": '
            f'{{"steps": [...], "values": [...], "timestamps": [...]}}}}}}',
            field=field,
        )
    batch_id = data.get("batch_id")
    if batch_id is not None and (not isinstance(batch_id, str) or not 0 < len(batch_id) <= 64):
        raise InvalidArgumentError(
            "batch_id must be a string of 1 to 64 characters", field="batch_id"
        )
    series = {}
    for key, value in data["series"].items():
        series[key] = series_from_json(value, f"series.{key}")
    return series, batch_id


def _b64(array: np.ndarray[Any, Any]) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _from_b64(value: Any, dtype: np.dtype[Any], field: str) -> np.ndarray[Any, Any]:
    if not isinstance(value, str):
        raise InvalidArgumentError(
            f"{field} must be a base64 string when encoding is 'base64'", field=field
        )
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidArgumentError(f"{field} is not valid base64: {e}", field=field) from e
    if len(raw) % dtype.itemsize:
        raise InvalidArgumentError(
            f"{field} must hold whole {dtype.itemsize}-byte numbers, got {len(raw)} bytes",
            field=field,
        )
    return np.frombuffer(raw, dtype=dtype)


def _from_list(value: Any, dtype: np.dtype[Any], field: str) -> np.ndarray[Any, Any]:
    if not isinstance(value, list):
        raise InvalidArgumentError(f"{field} must be a list of numbers", field=field)
    if dtype.kind == "i":
        if not all(type(v) is int for v in value):
            raise InvalidArgumentError(f"{field} must be a list of integers", field=field)
        try:
            return np.asarray(value, dtype=np.int64)
        except OverflowError as e:
            raise InvalidArgumentError(f"{field}: a step is too large ({e})", field=field) from e
    out = np.empty(len(value), dtype=np.float64)
    for i, v in enumerate(value):
        if type(v) is float or type(v) is int:
            out[i] = v
        elif isinstance(v, str) and v.lower() in _NON_FINITE:
            out[i] = _NON_FINITE[v.lower()]
        else:
            raise InvalidArgumentError(
                f"{field}[{i}] must be a number (or 'NaN', 'Infinity', '-Infinity'), got {v!r}",
                field=field,
            )
    return out


# -- pagination ---------------------------------------------------------------------------


def encode_cursor(offset: int) -> str:
    """An opaque cursor for the page that starts at ``offset``."""
    return base64.urlsafe_b64encode(dumps({"o": offset})).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for (0 for none); InvalidArgumentError if forged."""
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["o"]
        if type(offset) is not int or offset < 0:
            raise ValueError(offset)
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgumentError(
            "invalid cursor: pass the next_cursor of a previous page unchanged", field="cursor"
        ) from None
    return offset
