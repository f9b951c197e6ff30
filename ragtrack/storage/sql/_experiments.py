"""Experiments in the SQL store: checked definitions, and rows read as
:class:`~ragtrack.entities.Experiment`.

A definition's datasets, models, hyperparameters and metrics are one JSON object
in ``experiments.definition_json``; an experiment created implicitly by a run
(or by schema 0001) holds ``{}``, the empty definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ragtrack.entities import Experiment, ExperimentMetric, MetricGoal
from ragtrack.exceptions import ExperimentNotFoundError, InvalidArgumentError
from ragtrack.storage._input import checked_json, checked_text
from ragtrack.storage._keys import key_problem
from ragtrack.storage._params import to_plain
from ragtrack.storage.sql._schema import experiments, runs
from ragtrack.storage.sql._write_values import dumps

_RUN_COUNT = (
    sa.select(sa.func.count()).where(runs.c.experiment_id == experiments.c.id).scalar_subquery()
)
_COLUMNS = (
    experiments.c.name,
    experiments.c.created_at,
    experiments.c.description,
    experiments.c.definition_json,
    experiments.c.command,
    experiments.c.updated_at,
    _RUN_COUNT,
)


# -- checked values -----------------------------------------------------------------------


def checked_name(name: object, what: str = "experiment", field: str = "name") -> str:
    """A project or experiment name follows the key rules (see :func:`key_problem`)."""
    problem = key_problem(name)
    if problem is not None:
        raise InvalidArgumentError(f"invalid {what} name {name!r}: {problem}", field=field)
    return name  # type: ignore[return-value]


def checked_command(command: object) -> str:
    if not isinstance(command, str) or not command.strip():
        raise InvalidArgumentError(
            f"command must be a non-empty str, got {command!r} (use clear_command to remove it)",
            field="command",
        )
    return checked_text(command, "command")


def definition_parts(
    *,
    datasets: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    metrics: Sequence[ExperimentMetric] | None = None,
) -> dict[str, Any]:
    """The JSON-ready parts of a definition that were given (``None`` is left out).

    Raises InvalidArgumentError naming the field for a bad part.

    Example:
        >>> definition_parts(datasets=["msmarco"], metrics=[ExperimentMetric("mrr")])
        {'datasets': ['msmarco'], 'metrics': [{'name': 'mrr', 'goal': 'max'}]}
    """
    parts: dict[str, Any] = {}
    if datasets is not None:
        parts["datasets"] = _names(datasets, "datasets")
    if models is not None:
        parts["models"] = _names(models, "models")
    if hyperparameters is not None:
        parts["hyperparameters"] = _hyperparameters(hyperparameters)
    if metrics is not None:
        parts["metrics"] = _metrics(metrics)
    return parts


def _sequence(values: object, field: str) -> Sequence[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidArgumentError(
            f"{field} must be a list, got {type(values).__name__} {values!r}", field=field
        )
    return values


def _names(values: object, field: str) -> list[str]:
    names = list(_sequence(values, field))
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(
                f"{field} must be a list of non-empty strings, got {name!r} in it", field=field
            )
        checked_text(name, field)
    return names


def _hyperparameters(values: object) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise InvalidArgumentError(
            f"hyperparameters must be a dict, got {type(values).__name__}", field="hyperparameters"
        )
    try:
        plain: dict[str, Any] = checked_json(
            to_plain(dict(values), "hyperparameters"), "hyperparameters"
        )
        # NaN and inf are allowed, as in run configs.
        json.dumps(plain, allow_nan=True)
    except (InvalidArgumentError, TypeError, ValueError) as e:
        field = "hyperparameters"
        reason = str(e)
        if isinstance(e, InvalidArgumentError):
            # Keep the path to the bad value (hyperparameters.grid.lr) when known.
            if e.field is not None and e.field.startswith(field):
                field = e.field
            reason = e.message
        raise InvalidArgumentError(
            f"hyperparameters must be JSON-serialisable: {reason}", field=field
        ) from None
    return plain


def _metrics(values: object) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for metric in _sequence(values, "metrics"):
        if not isinstance(metric, ExperimentMetric):
            raise InvalidArgumentError(
                f"metrics must be a list of ExperimentMetric, got {metric!r} in it",
                field="metrics",
            )
        problem = key_problem(metric.name)
        if problem is not None:
            raise InvalidArgumentError(
                f"invalid metric name {metric.name!r}: {problem}", field="metrics"
            )
        if metric.name in seen:
            raise InvalidArgumentError(
                f"metric {metric.name!r} is listed twice; each metric appears once",
                field="metrics",
            )
        seen.add(metric.name)
        try:
            goal = MetricGoal(metric.goal)
        except ValueError:
            raise InvalidArgumentError(
                f"goal of metric {metric.name!r} must be 'max' or 'min', got {metric.goal!r}",
                field="metrics",
            ) from None
        out.append({"name": metric.name, "goal": goal.value})
    return out


def definition_json(parts: Mapping[str, Any]) -> str:
    return dumps(dict(parts))


# -- reading ----------------------------------------------------------------------------


def find_id(conn: sa.Connection, project_id: int, name: str, *, lock: bool = False) -> int | None:
    """The experiment's id; ``lock`` takes a row lock on it (PostgreSQL)."""
    query = sa.select(experiments.c.id).where(
        experiments.c.project_id == project_id, experiments.c.name == name
    )
    if lock:
        query = query.with_for_update()
    eid = conn.execute(query).scalar()
    return None if eid is None else int(eid)


def require_id(
    conn: sa.Connection, project: str, project_id: int, name: str, *, lock: bool = False
) -> int:
    eid = find_id(conn, project_id, name, lock=lock)
    if eid is None:
        raise ExperimentNotFoundError(f"no experiment named {name!r} in project {project!r}")
    return eid


def read_definition(conn: sa.Connection, experiment_id: int) -> dict[str, Any]:
    text = conn.execute(
        sa.select(experiments.c.definition_json).where(experiments.c.id == experiment_id)
    ).scalar_one()
    parts: dict[str, Any] = json.loads(text)
    return parts


def load_experiments(
    conn: sa.Connection, project: str, project_id: int, name: str | None = None
) -> list[Experiment]:
    """Experiments of a project by name (only the one named ``name`` if given)."""
    query = sa.select(*_COLUMNS).where(experiments.c.project_id == project_id)
    if name is not None:
        query = query.where(experiments.c.name == name)
    rows = conn.execute(query.order_by(experiments.c.name)).all()
    return [_from_row(project, row) for row in rows]


def _from_row(project: str, row: Any) -> Experiment:
    parts = json.loads(row.definition_json)
    return Experiment(
        project=project,
        name=row.name,
        created_at=row.created_at,
        description=row.description,
        run_count=row[-1],
        datasets=tuple(parts.get("datasets", ())),
        models=tuple(parts.get("models", ())),
        hyperparameters=parts.get("hyperparameters", {}),
        metrics=tuple(
            ExperimentMetric(m["name"], MetricGoal(m["goal"])) for m in parts.get("metrics", ())
        ),
        command=row.command,
        updated_at=row.updated_at,
    )
