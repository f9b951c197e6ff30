"""The CLI's ``--json`` and the REST API give the same run, project and
experiment objects for the same store (docs/cli.md, "JSON output")."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from ragtrack.sdk.api import strict_json
from ragtrack.server import create_app
from ragtrack.storage import open_store
from ragtrack.storage.rest import _wire

with warnings.catch_warnings():
    # Starlette prefers the httpx2 package and warns when its test client runs on httpx.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

Invoke = Callable[..., Result]


@pytest.fixture
def rest(tmp_path: Path, run_ids: dict[str, str]) -> Iterator[Callable[[str], Any]]:
    """GET a path of a server over the CLI's store; the decoded body, in the
    CLI's strict JSON (non-finite numbers as "NaN", "Infinity", "-Infinity")."""
    store = open_store(dir=tmp_path)
    with TestClient(create_app(store)) as client:

        def get(path: str) -> Any:
            response = client.get(f"/api/v1{path}")
            assert response.status_code == 200, response.text
            return strict_json(_wire.loads(response.content))

        yield get
    store.close()


def _cli_json(ragtrack_cli: Invoke, *args: str) -> Any:
    result = ragtrack_cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_runs_are_the_same_objects_in_the_cli_and_the_api(
    run_ids: dict[str, str], ragtrack_cli: Invoke, rest: Callable[[str], Any]
) -> None:
    listed = _cli_json(ragtrack_cli, "runs", "list")
    assert listed == rest("/runs")["runs"]
    for run_id in run_ids.values():
        shown = _cli_json(ragtrack_cli, "runs", "show", run_id)
        metadata = shown.pop("metadata")
        assert shown == rest(f"/runs/{run_id}")
        assert metadata == rest(f"/runs/{run_id}/metadata")["metadata"]
    alpha = rest(f"/runs/{run_ids['alpha']}")
    assert isinstance(alpha["created_at"], float) and isinstance(alpha["duration_s"], float)
    assert alpha["summary"] == {**{k: m["last"] for k, m in alpha["metrics"].items()},
                                **alpha["explicit_summary"]}  # fmt: skip


def test_projects_and_experiments_are_the_same_objects_in_the_cli_and_the_api(
    run_ids: dict[str, str], ragtrack_cli: Invoke, rest: Callable[[str], Any]
) -> None:
    assert _cli_json(ragtrack_cli, "projects", "list") == rest("/projects")["projects"]
    experiments = _cli_json(ragtrack_cli, "experiments", "list", "-p", "search")
    assert experiments == rest("/projects/search/experiments")["experiments"]
