"""The UI over PostgreSQL: the demo runs copied into a throwaway database give
the same pages as over SQLite (the store contract is what the views rely on;
this proves it for the calls they make: keys, groups, sorted pages, histories).

Skipped without a PostgreSQL server, a failure when ``CI`` is set.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from ragtrack.server import create_app
from ragtrack.storage import Store
from ragtrack.storage._transfer import copy_runs
from ragtrack.storage.sql import SqlStore

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

RUNS = "/projects/rag-demo/runs.json?experiment=chunking&sort=-metrics.recall@10"


@pytest.fixture(scope="module")
def pg_client(postgres_databases: Any, ui_store: Store) -> Iterator[TestClient]:
    store = SqlStore(postgres_databases.create())
    copy_runs(ui_store, store, "rag-demo")
    with TestClient(create_app(store)) as client:
        yield client
    store.close()


def _rounded(value: Any) -> Any:
    # Means summed in another order differ in the last bits between databases.
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _names(client: TestClient, url: str) -> list[str]:
    return [run["name"] for run in client.get(url).json()["runs"]]


@pytest.mark.parametrize(
    "query",
    ["", "&group_by=chunker.size", "&filter=params.chunker.size%20%3D%20512&per_page=3&page=2"],
)
def test_the_runs_table_is_the_same_on_postgres(
    pg_client: TestClient, ui_client: TestClient, query: str
) -> None:
    on_pg = pg_client.get(RUNS + query).json()
    on_sqlite = ui_client.get(RUNS + query).json()
    for key in ("total", "columns", "keys", "groups", "error"):
        assert _rounded(on_pg[key]) == _rounded(on_sqlite[key]), key
    assert _names(pg_client, RUNS + query) == _names(ui_client, RUNS + query)


def test_run_compare_and_importance_pages_work_on_postgres(pg_client: TestClient) -> None:
    best, second = pg_client.get(RUNS + "&per_page=2").json()["runs"]
    run = pg_client.get(f"/runs/{best['id']}.json").json()
    assert run["run"]["name"] == best["name"] and "train/loss" in run["metric_keys"]
    series = pg_client.get(f"/runs/{best['id']}/series.json?key=train/loss&max_points=50").json()
    assert series["n_points"] == 300 and len(series["steps"]) == 50
    assert pg_client.get(f"/runs/{best['id']}").status_code == 200
    compare = pg_client.get(f"/compare?runs={best['id']},{second['id']}")
    assert compare.status_code == 200 and "retriever.top_k" in compare.text
    importance = pg_client.get(
        "/projects/rag-demo/importance.json?experiment=chunking&metric=recall@10"
    ).json()
    assert importance["result"]["importances"][0]["param"] == "chunker.size"
