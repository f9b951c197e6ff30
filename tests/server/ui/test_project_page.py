"""A project's page: for each experiment the best run per goal metric, its last
activity and its running and failed runs, in a bounded number of queries."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragtrack.entities import ExperimentMetric, MetricGoal, RunStatus
from ragtrack.server import create_app
from ragtrack.storage import Store
from ragtrack.storage.sql import SqlStore

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

DEMO = "rag-demo"


def test_each_experiment_shows_its_best_run_per_goal_and_its_failures(
    ui_client: Any, ui_store: Store
) -> None:
    twin = ui_client.get(f"/projects/{DEMO}.json").json()
    chunking, reranker = twin["experiments"]
    best = {b["metric"]: b for b in chunking["best"]}
    assert list(best) == ["recall@10", "ndcg@10", "faithfulness", "latency_ms"]
    top = ui_store.search_runs(DEMO, 'experiment = "chunking"', "-metrics.recall@10", limit=1)[0]
    assert best["recall@10"]["run_id"] == top.id
    assert best["recall@10"]["value"] == top.summary["recall@10"]
    assert best["recall@10"]["url"] == f"/runs/{top.id}"
    fastest = ui_store.search_runs(DEMO, 'experiment = "chunking"', "metrics.latency_ms", limit=1)
    assert best["latency_ms"]["run_id"] == fastest[0].id  # goal min: the lowest
    assert (chunking["running"], chunking["failed"]) == (0, 0)
    assert (reranker["running"], reranker["failed"]) == (0, 1)
    runs = ui_store.search_runs(DEMO, 'experiment = "reranker"')
    assert reranker["last_activity"] == max(
        t for r in runs for t in (r.created_at, r.ended_at) if t is not None
    )
    page = ui_client.get(f"/projects/{DEMO}").text
    assert f'<a href="/runs/{top.id}">{top.name}</a>' in page
    assert ">1 failed</a>" in page


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[tuple[SqlStore, Counter[str], TestClient]]:
    store = SqlStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    calls: Counter[str] = Counter()
    for name in ("search_runs", "count_runs", "get_run", "get_history", "list_run_keys"):
        method = getattr(store, name)

        def counting(*args: Any, _name: str = name, _method: Any = method, **kw: Any) -> Any:
            calls[_name] += 1
            return _method(*args, **kw)

        setattr(store, name, counting)
    with TestClient(create_app(store)) as client:
        yield store, calls, client
    store.close()


def _log(store: SqlStore, n: int, status: RunStatus) -> None:
    for i in range(n):
        run = store.create_run(project="p", experiment="sweep", status=status)
        store.set_summary(run.id, {"acc": i / 100, "loss": 1 - i / 100})
        if status is RunStatus.RUNNING:
            store.heartbeat(run.id, at=time.time())
        else:
            store.update_run(run.id, status=status)


def test_the_summary_costs_the_same_queries_for_10_or_200_runs(
    counted: tuple[SqlStore, Counter[str], TestClient],
) -> None:
    store, calls, client = counted
    store.create_experiment(
        "p",
        "sweep",
        metrics=[ExperimentMetric("acc", MetricGoal.MAX), ExperimentMetric("loss", MetricGoal.MIN)],
    )
    _log(store, 8, RunStatus.COMPLETED)
    _log(store, 1, RunStatus.FAILED)
    _log(store, 1, RunStatus.RUNNING)
    calls.clear()
    few = client.get("/projects/p.json").json()["experiments"][0]
    few_calls = sum(calls.values())
    assert (few["running"], few["failed"]) == (1, 1)
    assert [b["value"] for b in few["best"]] == [0.07, pytest.approx(0.93)]
    _log(store, 190, RunStatus.COMPLETED)
    calls.clear()
    many = client.get("/projects/p.json").json()["experiments"][0]
    assert sum(calls.values()) == few_calls <= 8
    assert [b["value"] for b in many["best"]] == [1.89, pytest.approx(1 - 1.89)]
