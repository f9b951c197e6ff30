"""Projects and experiments over HTTP."""

from __future__ import annotations

import math
from typing import Any

import pytest

API = "/api/v1"


def test_create_list_and_get_projects(api: Any) -> None:
    created = api.ok("POST", f"{API}/projects", {"name": "search"})
    assert created["name"] == "search" and created["run_count"] == 0
    api.run(project="search")
    api.run(project="ällo/ünïcode")
    listed = api.ok("GET", f"{API}/projects")
    assert [(p["name"], p["run_count"]) for p in listed["projects"]] == [
        ("search", 1),
        ("ällo/ünïcode", 1),
    ]
    assert listed["next_cursor"] is None
    # A '/' in a name travels escaped inside its path segment.
    assert api.ok("GET", f"{API}/projects/%C3%A4llo%2F%C3%BCn%C3%AFcode")["run_count"] == 1


def test_project_errors(api: Any) -> None:
    api.ok("POST", f"{API}/projects", {"name": "search"})
    api.error("POST", f"{API}/projects", {"name": "search"}, status=409, code="ALREADY_EXISTS")
    api.error("GET", f"{API}/projects/nope", status=404, code="PROJECT_NOT_FOUND")
    api.error("POST", f"{API}/projects", {"name": ""}, status=400, code="INVALID_ARGUMENT")
    api.error(
        "POST",
        f"{API}/projects",
        {"name": 7},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.name",
    )
    api.error("POST", f"{API}/projects", {}, status=400, code="INVALID_ARGUMENT", field="body.name")


def test_projects_paginate(api: Any) -> None:
    for i in range(5):
        api.ok("POST", f"{API}/projects", {"name": f"p{i}"})
    first = api.ok("GET", f"{API}/projects", params={"limit": 3})
    assert [p["name"] for p in first["projects"]] == ["p0", "p1", "p2"]
    rest = api.ok("GET", f"{API}/projects", params={"limit": 3, "cursor": first["next_cursor"]})
    assert [p["name"] for p in rest["projects"]] == ["p3", "p4"]
    assert rest["next_cursor"] is None
    api.error(
        "GET",
        f"{API}/projects",
        params={"cursor": "forged!"},
        status=400,
        code="INVALID_ARGUMENT",
        field="cursor",
    )


EXPERIMENT = {
    "name": "chunking",
    "description": "chunk sizes",
    "datasets": ["msmarco-dev"],
    "models": ["bge-small"],
    "hyperparameters": {"chunk": {"size": [256, 512]}, "temperature": math.nan},
    "metrics": [{"name": "recall@10", "goal": "max"}, {"name": "latency", "goal": "min"}],
    "command": "python eval.py",
}


def test_create_get_and_list_experiments(api: Any) -> None:
    api.ok("POST", f"{API}/projects", {"name": "search"})
    created = api.ok("POST", f"{API}/projects/search/experiments", EXPERIMENT)
    assert created["project"] == "search" and created["run_count"] == 0
    assert created["metrics"] == EXPERIMENT["metrics"]
    assert math.isnan(created["hyperparameters"]["temperature"])  # NaN round trips
    api.run(project="search", experiment="chunking")
    got = api.ok("GET", f"{API}/projects/search/experiments/chunking")
    assert got["run_count"] == 1 and got["datasets"] == ["msmarco-dev"]
    listed = api.ok("GET", f"{API}/projects/search/experiments")
    assert [e["name"] for e in listed["experiments"]] == ["chunking"]
    assert listed["next_cursor"] is None


def test_an_experiment_of_an_unknown_project_is_a_404_not_a_new_project(api: Any) -> None:
    api.ok("POST", f"{API}/projects", {"name": "search"})
    message = api.error("POST", f"{API}/projects/serach/experiments", {"name": "chunking"},
                        status=404, code="PROJECT_NOT_FOUND", field="project")  # fmt: skip
    assert "'serach'" in message and "POST /api/v1/projects" in message
    assert [p["name"] for p in api.ok("GET", f"{API}/projects")["projects"]] == ["search"]
    asked = api.ok("POST", f"{API}/projects/serach/experiments?create_project=true",
                   {"name": "chunking"})  # fmt: skip
    assert asked["project"] == "serach"
    # Runs still create their project and experiment on first use (the SDK's init).
    api.run(project="new", experiment="chunking")
    assert api.ok("GET", f"{API}/projects/new/experiments/chunking")["run_count"] == 1


def test_experiment_errors(api: Any) -> None:
    api.ok("POST", f"{API}/projects", {"name": "search"})
    api.ok("POST", f"{API}/projects/search/experiments", {"name": "chunking"})
    path = f"{API}/projects/search/experiments"
    api.error("POST", path, {"name": "chunking"}, status=409, code="ALREADY_EXISTS")
    api.error("GET", f"{path}/nope", status=404, code="EXPERIMENT_NOT_FOUND")
    api.error("GET", f"{API}/projects/nope/experiments/x", status=404, code="PROJECT_NOT_FOUND")
    api.error("GET", f"{API}/projects/nope/experiments", status=404, code="PROJECT_NOT_FOUND")
    api.error(
        "POST",
        path,
        {"name": "x", "metrics": [{"name": "m", "goal": "up"}]},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.metrics.0.goal",
    )
    api.error(
        "POST",
        path,
        {"name": "x", "datasets": "msmarco"},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.datasets",
    )
    api.error(
        "POST",
        path,
        {"name": "x", "colour": "red"},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.colour",
    )


def test_update_experiment(api: Any) -> None:
    path = f"{API}/projects/search/experiments"
    api.ok("POST", f"{API}/projects", {"name": "search"})
    api.ok("POST", path, EXPERIMENT)
    api.ok("POST", path, {"name": "other"})
    updated = api.ok("PATCH", f"{path}/chunking", {"description": "new", "models": ["e5"]})
    assert updated["description"] == "new" and updated["models"] == ["e5"]
    assert updated["command"] == "python eval.py" and updated["updated_at"] is not None
    assert api.ok("PATCH", f"{path}/chunking", {"command": None})["command"] is None
    renamed = api.ok("PATCH", f"{path}/chunking", {"name": "chunks/v2"})
    assert renamed["name"] == "chunks/v2"
    assert api.ok("GET", f"{path}/chunks%2Fv2")["description"] == "new"
    api.error("PATCH", f"{path}/chunks%2Fv2", {"name": "other"}, status=409, code="ALREADY_EXISTS")
    api.error(
        "PATCH", f"{path}/nope", {"description": "x"}, status=404, code="EXPERIMENT_NOT_FOUND"
    )


@pytest.mark.parametrize("runs", [0, 1, 3])
def test_delete_experiment_needs_confirmation(api: Any, runs: int) -> None:
    path = f"{API}/projects/search/experiments"
    api.ok("POST", f"{API}/projects", {"name": "search"})
    api.ok("POST", path, {"name": "chunking"})
    kept = api.run(project="search")
    for _ in range(runs):
        api.run(project="search", experiment="chunking")
    message = api.error(
        "DELETE", f"{path}/chunking", status=409, code="CONFIRMATION_REQUIRED", field="confirm"
    )
    noun = "run" if runs == 1 else "runs"
    assert message == (
        f"deleting experiment 'chunking' of project 'search' deletes its {runs} {noun}; "
        f"repeat with ?confirm=true"
    )
    assert api.ok("GET", f"{path}/chunking")["run_count"] == runs  # nothing went
    deleted = api.ok("DELETE", f"{path}/chunking", params={"confirm": "true"})
    assert deleted == {"deleted": {"experiment": "chunking", "runs": runs}}
    api.error("GET", f"{path}/chunking", status=404, code="EXPERIMENT_NOT_FOUND")
    assert [r["id"] for r in api.ok("GET", f"{API}/runs")["runs"]] == [kept["id"]]
    api.error(
        "DELETE",
        f"{path}/chunking",
        params={"confirm": "true"},
        status=404,
        code="EXPERIMENT_NOT_FOUND",
    )
    api.error(
        "DELETE",
        f"{path}/chunking",
        params={"confirm": "maybe"},
        status=400,
        code="INVALID_ARGUMENT",
        field="query.confirm",
    )
