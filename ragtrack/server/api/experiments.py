"""``/api/v1/projects/{project}/experiments``: define, read, change and delete experiments."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from ragtrack.entities import ExperimentMetric
from ragtrack.exceptions import ConfirmationRequiredError, ProjectNotFoundError
from ragtrack.server.api._common import API_PREFIX, StoreDep, router, wire
from ragtrack.server.api.pagination import Page
from ragtrack.server.api.schemas import (
    ExperimentCreate,
    ExperimentDeleted,
    ExperimentOut,
    ExperimentPage,
    ExperimentPatch,
    MetricSpec,
)
from ragtrack.storage.rest import _wire

experiments_router = router("experiments")

_PATH = "/projects/{project}/experiments"


@experiments_router.get(_PATH, response_model=ExperimentPage)
def list_experiments(project: str, store: StoreDep, page: Page) -> Response:
    """Experiments of a project by name, each with its run count."""
    experiments, next_cursor = page.slice(store.list_experiments(project))
    return wire(
        {
            "experiments": [_wire.experiment_to_json(e) for e in experiments],
            "next_cursor": next_cursor,
        }
    )


@experiments_router.post(_PATH, status_code=201, response_model=ExperimentOut)
def create_experiment(
    project: str,
    body: ExperimentCreate,
    store: StoreDep,
    create_project: Annotated[
        bool, Query(description="Create the project if it does not exist yet.")
    ] = False,
) -> Response:
    """Define an experiment (409 if it exists). An unknown project is a 404
    unless ``?create_project=true`` asks for it: a misspelt name is not
    silently a new project."""
    if not create_project:
        try:
            store.get_project(project)
        except ProjectNotFoundError:
            raise ProjectNotFoundError(
                f"no project named {project!r}: check the name, or create it with "
                f'POST {API_PREFIX}/projects {{"name": {json.dumps(project)}}} '
                f"(or repeat with ?create_project=true)",
                field="project",
            ) from None
    experiment = store.create_experiment(
        project,
        body.name,
        description=body.description,
        datasets=body.datasets,
        models=body.models,
        hyperparameters=body.hyperparameters,
        metrics=_metrics(body.metrics),
        command=body.command,
    )
    return wire(_wire.experiment_to_json(experiment), 201)


@experiments_router.get(_PATH + "/{experiment}", response_model=ExperimentOut)
def get_experiment(project: str, experiment: str, store: StoreDep) -> Response:
    """One experiment with its definition and run count."""
    return wire(_wire.experiment_to_json(store.get_experiment(project, experiment)))


@experiments_router.patch(_PATH + "/{experiment}", response_model=ExperimentOut)
def update_experiment(
    project: str, experiment: str, body: ExperimentPatch, store: StoreDep
) -> Response:
    """Replace the fields given; ``name`` renames, ``"command": null`` clears the command."""
    updated = store.update_experiment(
        project,
        experiment,
        new_name=body.name,
        description=body.description,
        datasets=body.datasets,
        models=body.models,
        hyperparameters=body.hyperparameters,
        metrics=None if body.metrics is None else _metrics(body.metrics),
        command=body.command,
        clear_command="command" in body.model_fields_set and body.command is None,
    )
    return wire(_wire.experiment_to_json(updated))


@experiments_router.delete(_PATH + "/{experiment}", response_model=ExperimentDeleted)
def delete_experiment(
    project: str,
    experiment: str,
    store: StoreDep,
    confirm: Annotated[
        bool, Query(description="Must be true: deleting an experiment deletes its runs.")
    ] = False,
) -> Response:
    """Delete an experiment and all its runs; without ``?confirm=true`` answers 409
    CONFIRMATION_REQUIRED saying how many runs would go."""
    if not confirm:
        count = store.get_experiment(project, experiment).run_count
        raise ConfirmationRequiredError(
            f"deleting experiment {experiment!r} of project {project!r} deletes its "
            f"{count} run{'' if count == 1 else 's'}; repeat with ?confirm=true",
            field="confirm",
        )
    runs = store.delete_experiment(project, experiment)
    return wire({"deleted": {"experiment": experiment, "runs": runs}})


def _metrics(specs: list[MetricSpec]) -> list[ExperimentMetric]:
    return [ExperimentMetric(m.name, m.goal) for m in specs]
