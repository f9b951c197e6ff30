"""The CLI's ``--json`` and the REST API give the same run, project and
experiment objects for the same store (docs/cli.md, "JSON output"), but for
the one documented difference: non-finite numbers are the strings ``"NaN"``,
``"Infinity"``, ``"-Infinity"`` in the CLI (strict JSON) and the bare tokens
``NaN``, ``Infinity``, ``-Infinity`` in the API (which strict parsers refuse)."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from ragtrack.server import create_app
from ragtrack.storage import open_store

with warnings.catch_warnings():
    # Starlette prefers the httpx2 package and warns when its test client runs on httpx.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

Invoke = Callable[..., Result]


def _refuse(token: str) -> Any:
    raise ValueError(f"bare {token} is not JSON (RFC 8259)")


def strict_loads(text: str | bytes) -> Any:
    """Parse as strict parsers (JSON.parse, jq) do: bare NaN/Infinity refused."""
    return json.loads(text, parse_constant=_refuse)


def lenient_loads(text: str | bytes) -> Any:
    """Parse as Python's json does by default: bare NaN/Infinity read as floats."""
    return json.loads(text)


def as_cli_writes(value: Any) -> Any:
    """An API value with each non-finite number as the string the CLI writes."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: as_cli_writes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_cli_writes(v) for v in value]
    return value


@pytest.fixture
def rest(tmp_path: Path, run_ids: dict[str, str]) -> Iterator[Callable[[str], bytes]]:
    """GET a path of a server over the CLI's store; the raw body."""
    store = open_store(dir=tmp_path)
    with TestClient(create_app(store)) as client:

        def get(path: str) -> bytes:
            response = client.get(f"/api/v1{path}")
            assert response.status_code == 200, response.text
            return response.content

        yield get
    store.close()


def _api(rest: Callable[[str], bytes], path: str) -> Any:
    """The API's answer, with non-finite numbers as the CLI writes them."""
    return as_cli_writes(lenient_loads(rest(path)))


def _cli_json(ragtrack_cli: Invoke, *args: str) -> Any:
    result = ragtrack_cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return strict_loads(result.stdout)  # the CLI's output is strict JSON


def test_non_finite_numbers_are_the_one_difference(
    run_ids: dict[str, str], ragtrack_cli: Invoke, rest: Callable[[str], bytes]
) -> None:
    delta = run_ids["delta"]  # logged acc = NaN, then Infinity
    raw = rest(f"/runs/{delta}")
    with pytest.raises(ValueError, match=r"bare (NaN|Infinity) is not JSON"):
        strict_loads(raw)  # the API's bare tokens: JSON.parse and jq refuse them
    api = lenient_loads(raw)
    assert api["summary"]["acc"] == math.inf
    shown = _cli_json(ragtrack_cli, "runs", "show", delta)
    assert shown["summary"]["acc"] == "Infinity"
    shown.pop("metadata")
    assert shown == as_cli_writes(lenient_loads(raw))


def test_runs_are_the_same_objects_in_the_cli_and_the_api(
    run_ids: dict[str, str], ragtrack_cli: Invoke, rest: Callable[[str], bytes]
) -> None:
    listed = _cli_json(ragtrack_cli, "runs", "list")
    assert listed == _api(rest, "/runs")["runs"]
    for run_id in run_ids.values():
        shown = _cli_json(ragtrack_cli, "runs", "show", run_id)
        metadata = shown.pop("metadata")
        assert shown == _api(rest, f"/runs/{run_id}")
        assert metadata == _api(rest, f"/runs/{run_id}/metadata")["metadata"]
    alpha = _api(rest, f"/runs/{run_ids['alpha']}")
    assert isinstance(alpha["created_at"], float) and isinstance(alpha["duration_s"], float)
    assert alpha["summary"] == {**{k: m["last"] for k, m in alpha["metrics"].items()},
                                **alpha["explicit_summary"]}  # fmt: skip


def test_projects_and_experiments_are_the_same_objects_in_the_cli_and_the_api(
    run_ids: dict[str, str], ragtrack_cli: Invoke, rest: Callable[[str], bytes]
) -> None:
    assert _cli_json(ragtrack_cli, "projects", "list") == _api(rest, "/projects")["projects"]
    experiments = _cli_json(ragtrack_cli, "experiments", "list", "-p", "search")
    assert experiments == _api(rest, "/projects/search/experiments")["experiments"]
