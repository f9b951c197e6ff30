"""Whatever arrives in a UI URL — wrong types, NaN, huge numbers, unicode, path
tricks — is answered with a page or a 4xx naming the problem, never a 500, and
nothing stored changes (the UI only reads)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragtrack.storage import Store

DEMO = "rag-demo"

#: Each UI route with the query parameters it reads.
ROUTES: dict[str, tuple[str, ...]] = {
    f"/projects/{DEMO}/runs": (
        "experiment",
        "filter",
        "sort",
        "columns",
        "page",
        "per_page",
        "group_by",
    ),
    "/runs/{run}": ("smoothing", "x", "log", "fields"),
    "/runs/{run}/series.json": ("key", "max_points", "smoothing"),
    "/runs/{run}/logs.json": ("offset", "stream"),
    "/compare": ("runs", "metric", "param", "smoothing", "x", "log"),
    "/compare/series.json": ("runs", "key", "max_points", "smoothing"),
    f"/projects/{DEMO}/importance": ("experiment", "metric"),
}

NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1e400",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "9" * 40,
    "abc",
    "1.5",
    "../../etc/passwd",
    "%00",
    "\u0000",
    "💥",
    "ü",
    "a,b,c",
    ",,,",
    "`",
    '"',
    "'",
    "(",
    "\\",
    "metrics.",
    "params.`x",
    "-",
    "-metrics.recall@10",
    "tags",
    "metrics.recall@10 >",
    "system/",
    "train/loss",
    "<script>alert(1)</script>",
]


def _url(path: str, run_id: str, params: dict[str, str]) -> str:
    path = path.replace("{run}", run_id)
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return f"{path}?{query}" if query else path


@pytest.fixture(scope="module")
def run_id(ui_store: Store) -> str:
    return ui_store.search_runs(DEMO, limit=1)[0].id


@pytest.mark.parametrize("path", list(ROUTES))
@pytest.mark.parametrize("value", NASTY)
def test_each_parameter_alone(ui_client: Any, run_id: str, path: str, value: str) -> None:
    for name in ROUTES[path]:
        params = {name: value}
        if "compare" in path and name != "runs":
            params["runs"] = run_id + "," + run_id[:8]  # a duplicate: 400, fine too
        response = ui_client.get(_url(path, run_id, params))
        assert response.status_code < 500, (path, name, value, response.text[:300])
        if response.status_code >= 400 and path.endswith(".json"):
            assert response.json()["error"]["message"], (path, name, value)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_combinations(ui_client: Any, run_id: str, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(list(ROUTES)))
    names = data.draw(st.lists(st.sampled_from(ROUTES[path]), unique=True, max_size=4))
    text = st.one_of(st.sampled_from(NASTY), st.text(max_size=30))
    params = {name: data.draw(text) for name in names}
    if path.startswith("/compare") and "runs" not in params:
        params["runs"] = ",".join([run_id, data.draw(st.sampled_from([run_id, "nope", "💥"]))])
    response = ui_client.get(_url(path, run_id, params))
    assert response.status_code < 500, (path, params, response.text[:300])


@pytest.mark.parametrize(
    "path",
    [
        "/runs/..%2F..%2Fetc",
        "/runs/%F0%9F%92%A5",
        "/projects/%2E%2E/runs",
        "/runs/x.json",
        "/projects/nope/importance",
        "/runs/abc/series.json?key=x",
    ],
)
def test_odd_paths_are_4xx(ui_client: Any, path: str) -> None:
    assert 400 <= ui_client.get(path).status_code < 500


def test_nothing_stored_changed(ui_store: Store) -> None:
    # Runs after the tests above (file order): the demo is as logged.
    assert ui_store.count_runs(DEMO) == 15
    assert [p.name for p in ui_store.list_projects()] == [DEMO]


@pytest.mark.parametrize("path", [f"/projects/{DEMO}/runs", f"/projects/{DEMO}/importance"])
@pytest.mark.parametrize("value", ["%00", "chunk%0Aing", "%1B"])
def test_a_control_character_in_an_experiment_is_400_not_404(
    ui_client: Any, path: str, value: str
) -> None:
    # The input rules: a control character can name nothing stored (not "no such experiment").
    response = ui_client.get(f"{path}?experiment={value}")
    assert response.status_code == 400, (path, value, response.status_code)
    assert "control character" in response.text
