"""``/api/v1/projects``: list, create and read projects, and what their runs
hold: the keys they use and their metrics grouped by a param."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from ragtrack.server.api._common import StoreDep, router, wire
from ragtrack.server.api.pagination import Page
from ragtrack.server.api.schemas import (
    ProjectCreate,
    ProjectOut,
    ProjectPage,
    RunGroupsOut,
    RunKeysOut,
)
from ragtrack.storage.filter import param_key, unknown_param
from ragtrack.storage.rest import _wire

projects_router = router("projects")


@projects_router.get("/projects", response_model=ProjectPage)
def list_projects(store: StoreDep, page: Page) -> Response:
    """Projects by name, each with its run count."""
    projects, next_cursor = page.slice(store.list_projects())
    return wire(
        {"projects": [_wire.project_to_json(p) for p in projects], "next_cursor": next_cursor}
    )


@projects_router.post("/projects", status_code=201, response_model=ProjectOut)
def create_project(body: ProjectCreate, store: StoreDep) -> Response:
    """Create an empty project (409 ALREADY_EXISTS if it exists)."""
    return wire(_wire.project_to_json(store.create_project(body.name)), 201)


@projects_router.get("/projects/{project}", response_model=ProjectOut)
def get_project(project: str, store: StoreDep) -> Response:
    """One project with its run count."""
    return wire(_wire.project_to_json(store.get_project(project)))


@projects_router.get("/projects/{project}/run-keys", response_model=RunKeysOut)
def list_run_keys(
    project: str,
    store: StoreDep,
    experiment: Annotated[
        str | None, Query(description="Only the runs of this experiment.")
    ] = None,
) -> Response:
    """The flattened param keys and the metric keys used by the project's runs
    (or one experiment's), sorted; for column pickers."""
    return wire(_wire.run_keys_to_json(store.list_run_keys(project, experiment)))


@projects_router.get("/projects/{project}/run-groups", response_model=RunGroupsOut)
def aggregate_runs(
    project: str,
    store: StoreDep,
    group_by: Annotated[
        str, Query(description="A param key, e.g. chunker.size or params.chunker.size.")
    ],
    metric: Annotated[
        list[str] | None,
        Query(description="A metric to aggregate; repeat for several (at most 50)."),
    ] = None,
    filter: Annotated[
        str | None, Query(description="Only runs matching this filter (docs/filter.md).")
    ] = None,
) -> Response:
    """The matching runs grouped by the value of param ``group_by``, with count,
    mean, min and max of each metric per group, ordered by value (runs without
    the param last, as value ``null``)."""
    known = store.list_run_keys(project).params if group_by else ()
    group_by = param_key(group_by, known) if group_by else group_by
    groups = store.aggregate_runs(project, group_by, metric or [], filter)
    # A typo groups every run under null, silently: say that no run has the key.
    warning = unknown_param(group_by, known)
    return wire(
        {
            "groups": [_wire.run_group_to_json(g) for g in groups],
            "warnings": [warning.to_json()] if warning else [],
        }
    )
