"""The two entry pages: every project, and one project's experiments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ragtrack.entities import Experiment, Project
from ragtrack.server.ui._links import links_for
from ragtrack.server.ui._pages import page, ui_router
from ragtrack.server.ui.views._experiment_summary import ExperimentSummary, summarise
from ragtrack.storage import Store
from ragtrack.storage.rest import _wire

router = ui_router()


@dataclass(frozen=True)
class ProjectsContext:
    """The home page: projects by name with their run counts."""

    projects: list[Project]

    def to_json(self) -> dict[str, Any]:
        return {"projects": [_wire.project_to_json(p) for p in self.projects]}


@dataclass(frozen=True)
class ProjectContext:
    """One project: its experiments with what a user opens the page for (best run
    per goal metric, last activity, running and failed runs), and how many runs
    belong to none."""

    project: Project
    experiments: list[Experiment]
    summaries: list[ExperimentSummary]
    links: dict[str, str]
    run_url: Callable[[str], str]

    @property
    def runs_outside_experiments(self) -> int:
        return self.project.run_count - sum(e.run_count for e in self.experiments)

    def to_json(self) -> dict[str, Any]:
        return {
            "project": _wire.project_to_json(self.project),
            "experiments": [
                {**_wire.experiment_to_json(s.experiment), **s.to_json(self.run_url)}
                for s in self.summaries
            ],
            "runs_outside_experiments": self.runs_outside_experiments,
            "links": self.links,
        }


@page(router, "/", "projects.html")
def projects_page(request: Request, store: Store) -> ProjectsContext:
    return ProjectsContext(store.list_projects())


@page(router, "/projects/{project}", "project.html")
def project_page(request: Request, store: Store) -> ProjectContext:
    name = request.path_params["project"]
    project = store.get_project(name)
    links = links_for(request)
    experiments = store.list_experiments(name)
    return ProjectContext(
        project,
        experiments,
        [summarise(store, name, e) for e in experiments],
        {"runs": links.runs(name), "importance": links.importance(name)},
        links.run,
    )
