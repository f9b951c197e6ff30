"""``ragtrack projects list`` and ``ragtrack experiments list``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from ragtrack.storage import open_store

Invoke = Callable[..., Result]


def test_projects_list_table(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("projects", "list")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["name", "runs", "created"]
    assert [row.split()[:2] for row in rows] == [["other", "1"], ["search", "3"]]


def test_projects_list_json(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    projects = json.loads(ragtrack_cli("projects", "list", "--json").stdout)
    assert [(p["name"], p["run_count"]) for p in projects] == [("other", 1), ("search", 3)]
    assert all(set(p) == {"name", "run_count", "created_at"} for p in projects)
    assert all(isinstance(p["created_at"], float) for p in projects)


def test_projects_list_of_an_empty_store(tmp_path: Path, ragtrack_cli: Invoke) -> None:
    open_store(dir=tmp_path).close()
    result = ragtrack_cli("projects", "list")
    assert result.exit_code == 0
    assert result.stdout.startswith("No projects yet")
    assert json.loads(ragtrack_cli("projects", "list", "--json").stdout) == []


def test_reading_a_directory_without_a_store_says_so_and_creates_nothing(
    tmp_path: Path, ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("runs", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no ragtrack store in ")
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_experiments_list(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("experiments", "list", "--project", "search")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["name", "runs", "created", "description"]
    assert [row.split()[:2] for row in rows] == [["chunking", "2"]]


def test_experiments_list_json(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    experiments = json.loads(ragtrack_cli("experiments", "list", "-p", "search", "--json").stdout)
    assert experiments == [
        {
            "project": "search",
            "name": "chunking",
            "description": "",
            "datasets": [],
            "models": [],
            "hyperparameters": {},
            "metrics": [],
            "command": None,
            "run_count": 2,
            "created_at": experiments[0]["created_at"],
            "updated_at": None,
        }
    ]


def test_experiments_of_a_project_without_any(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("experiments", "list", "-p", "other")
    assert result.exit_code == 0
    assert "has no experiments" in result.stdout


def test_experiments_of_an_unknown_project_exit_1(
    run_ids: dict[str, str], ragtrack_cli: Invoke
) -> None:
    result = ragtrack_cli("experiments", "list", "-p", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: no project named 'nope'\n"


def test_experiments_list_needs_a_project(run_ids: dict[str, str], ragtrack_cli: Invoke) -> None:
    result = ragtrack_cli("experiments", "list")
    assert result.exit_code == 2
    assert "Missing option '--project'" in result.stderr
