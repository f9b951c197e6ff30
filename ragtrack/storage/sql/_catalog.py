"""Projects and experiments of the SQL store: the part of the Store contract
that names things (the definitions themselves are checked in ``_experiments.py``)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ragtrack.entities import Experiment, ExperimentMetric, Project
from ragtrack.exceptions import (
    AlreadyExistsError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    ProjectNotFoundError,
)
from ragtrack.storage._input import checked_lookup, checked_text
from ragtrack.storage.sql import _experiments, _run_keys
from ragtrack.storage.sql._connection import SqlConnection
from ragtrack.storage.sql._schema import experiments, projects, runs
from ragtrack.storage.sql._upsert import insert_ignoring_conflicts_for

# name, created_at, run count
_PROJECTS = sa.select(
    projects.c.name,
    projects.c.created_at,
    sa.select(sa.func.count()).where(runs.c.project_id == projects.c.id).scalar_subquery(),
)


class SqlCatalog(SqlConnection):
    """Projects and experiments of a :class:`SqlStore`."""

    # -- projects and experiments ------------------------------------------------------

    def list_projects(self) -> list[Project]:
        with self._read() as conn:
            rows = conn.execute(_PROJECTS.order_by(projects.c.name)).all()
        return [Project(name=r[0], created_at=r[1], run_count=r[2]) for r in rows]

    def get_project(self, name: str) -> Project:
        checked_lookup(name, "project")
        with self._read() as conn:
            row = conn.execute(_PROJECTS.where(projects.c.name == name)).first()
        if row is None:
            raise ProjectNotFoundError(f"no project named {name!r}")
        return Project(name=row[0], created_at=row[1], run_count=row[2])

    def create_project(self, name: str) -> Project:
        _experiments.checked_name(name, "project")
        now = time.time()
        with self._write() as conn:
            if self._insert_project(conn, name, now) is None:
                raise AlreadyExistsError(f"project {name!r} exists", field="name")
        return Project(name=name, created_at=now, run_count=0)

    def _insert_project(self, conn: sa.Connection, name: str, now: float) -> int | None:
        """Insert a project; its id, or None when it already existed."""
        stmt = insert_ignoring_conflicts_for(conn.dialect.name, projects, ("name",))
        pid = conn.execute(
            stmt.returning(projects.c.id), {"name": name, "created_at": now}
        ).scalar()
        return None if pid is None else int(pid)

    def list_experiments(self, project: str) -> list[Experiment]:
        checked_lookup(project, "project")
        with self._read() as conn:
            pid = self._project_id(conn, project)
            return _experiments.load_experiments(conn, project, pid)

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
        _experiments.checked_name(project, "project", field="project")
        _experiments.checked_name(name)
        checked_text(description, "description")
        if command is not None:
            _experiments.checked_command(command)
        parts = _experiments.definition_parts(
            datasets=datasets,
            models=models,
            hyperparameters={} if hyperparameters is None else hyperparameters,
            metrics=metrics,
        )
        now = time.time()
        with self._write() as conn:
            pid = self._insert_project(conn, project, now)
            if pid is None:
                pid = self._project_id(conn, project)
            stmt = insert_ignoring_conflicts_for(
                conn.dialect.name, experiments, ("project_id", "name")
            )
            created = conn.execute(
                stmt.returning(experiments.c.id),
                {
                    "project_id": pid,
                    "name": name,
                    "description": description,
                    "created_at": now,
                    "definition_json": _experiments.definition_json(parts),
                    "command": command,
                },
            ).scalar()
            if created is None:
                raise AlreadyExistsError(
                    f"project {project!r} has an experiment named {name!r}; update it instead",
                    field="name",
                )
            (experiment,) = _experiments.load_experiments(conn, project, pid, name)
        return experiment

    def get_experiment(self, project: str, name: str) -> Experiment:
        _check_names(project, name)
        with self._read() as conn:
            pid = self._project_id(conn, project)
            found = _experiments.load_experiments(conn, project, pid, name)
        if not found:
            raise ExperimentNotFoundError(f"no experiment named {name!r} in project {project!r}")
        return found[0]

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
        _check_names(project, name)
        values: dict[str, Any] = {}
        if new_name is not None and new_name != name:
            values["name"] = _experiments.checked_name(new_name)
        if description is not None:
            values["description"] = checked_text(description, "description")
        if command is not None and clear_command:
            raise InvalidArgumentError("give a command or clear_command, not both", field="command")
        if command is not None:
            values["command"] = _experiments.checked_command(command)
        if clear_command:
            values["command"] = None
        parts = _experiments.definition_parts(
            datasets=datasets, models=models, hyperparameters=hyperparameters, metrics=metrics
        )
        values["updated_at"] = time.time()
        with self._write() as conn:
            pid = self._project_id(conn, project)
            eid = _experiments.require_id(conn, project, pid, name, lock=True)
            if "name" in values and _experiments.find_id(conn, pid, values["name"]) is not None:
                raise AlreadyExistsError(
                    f"project {project!r} already has an experiment named {values['name']!r}",
                    field="name",
                )
            if parts:
                current = _experiments.read_definition(conn, eid)
                values["definition_json"] = _experiments.definition_json({**current, **parts})
            try:
                conn.execute(experiments.update().where(experiments.c.id == eid).values(**values))
            except sa.exc.IntegrityError as e:  # PostgreSQL: renamed onto a concurrent rename
                raise AlreadyExistsError(
                    f"project {project!r} already has an experiment named "
                    f"{values.get('name', name)!r}",
                    field="name",
                ) from e
            (experiment,) = _experiments.load_experiments(
                conn, project, pid, values.get("name", name)
            )
        return experiment

    def delete_experiment(self, project: str, name: str) -> int:
        _check_names(project, name)
        with self._write() as conn:
            pid = self._project_id(conn, project)
            # The row lock makes runs created concurrently (PostgreSQL) wait for
            # this transaction instead of slipping in between the two deletes.
            eid = _experiments.require_id(conn, project, pid, name, lock=True)
            _run_keys.mark_stale(conn, pid)
            # Each run's params, tags, summaries, chunks, batch ids and logs go
            # by ON DELETE CASCADE (SQLite: PRAGMA foreign_keys=ON, see _engine).
            deleted = conn.execute(runs.delete().where(runs.c.experiment_id == eid)).rowcount
            conn.execute(experiments.delete().where(experiments.c.id == eid))
        return int(deleted)


def _check_names(project: str, experiment: str) -> None:
    checked_lookup(project, "project")
    checked_lookup(experiment, "experiment")
