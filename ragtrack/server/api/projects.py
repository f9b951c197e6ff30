"""``/api/v1/projects``: list, create and read projects."""

from __future__ import annotations

from starlette.responses import Response

from ragtrack.server.api._common import StoreDep, router, wire
from ragtrack.server.api.pagination import Page
from ragtrack.server.api.schemas import ProjectCreate, ProjectOut, ProjectPage
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
