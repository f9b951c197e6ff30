"""The compare page: params that differ, summary metrics with the best marked,
overlaid series, the objective, the importance source, and its errors."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragtrack.entities import RunRecord, RunStatus
from ragtrack.entities.values import config_leaves
from ragtrack.server import create_app
from ragtrack.server.ui.views.compare import (
    MAX_RUNS,
    default_max_points,
    run_style,
)
from ragtrack.server.ui.views.importance import default_metric
from ragtrack.storage import Store
from ragtrack.storage.sql import SqlStore

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

DEMO = "rag-demo"


def chunking_runs(store: Store) -> list[RunRecord]:
    """The demo's chunking sweep, best recall@10 first."""
    return store.search_runs(DEMO, filter='experiment = "chunking"', order_by="-metrics.recall@10")


@pytest.fixture(scope="module")
def best_and_other_size(ui_store: Store) -> list[RunRecord]:
    """The best run (512-token chunks) and the best run with another chunk size.

    The two best runs both have 512-token chunks (the demo is built that way), so
    the pair that shows chunk size as a differing param is the best of each size.
    """
    runs = chunking_runs(ui_store)
    best = runs[0]
    other = next(r for r in runs if r.config["chunker"]["size"] != best.config["chunker"]["size"])
    return [best, other]


def test_differing_params_are_listed_and_identical_ones_folded(
    ui_client: Any, best_and_other_size: list[RunRecord]
) -> None:
    best, other = best_and_other_size
    # Prefixes are accepted, as in the CLI.
    twin = ui_client.get(f"/compare.json?runs={best.id[:8]},{other.id}").json()
    assert [r["id"] for r in twin["runs"]] == [best.id, other.id]
    differing = {row["key"]: row["texts"] for row in twin["params"]["differing"]}
    assert differing["chunker.size"] == ["512", str(other.config["chunker"]["size"])]
    identical = [row["key"] for row in twin["params"]["identical"]]
    assert "dataset" in identical and "generator.model" in identical
    assert not set(differing) & set(identical)

    page = ui_client.get(f"/compare?runs={best.id},{other.id}").text
    params_table = page[page.index('id="params-table"') : page.index("identical param")]
    assert "chunker.size" in params_table and ">512<" in params_table
    assert f">{other.config['chunker']['size']}<" in params_table
    assert "dataset" not in params_table
    assert f"<summary>{len(identical)} identical params</summary>" in page


def test_best_and_second_best_differ_in_exactly_their_differing_params(
    ui_client: Any, ui_store: Store
) -> None:
    best, second = chunking_runs(ui_store)[:2]
    twin = ui_client.get(f"/compare.json?runs={best.id},{second.id}").json()
    a, b = (dict(config_leaves(r.config)) for r in (best, second))
    assert [row["key"] for row in twin["params"]["differing"]] == sorted(
        k for k in a.keys() | b.keys() if a.get(k) != b.get(k)
    )
    for row in twin["params"]["differing"]:
        assert row["texts"] == [str(a[row["key"]]), str(b[row["key"]])]


def test_objective_defaults_to_the_experiment_definition_and_marks_the_best(
    ui_client: Any, best_and_other_size: list[RunRecord]
) -> None:
    best, other = best_and_other_size
    twin = ui_client.get(f"/compare.json?runs={best.id},{other.id}").json()
    assert twin["objective"] == "recall@10"  # the chunking experiment's first metric
    assert "recall@10" in twin["objectives"] and "ndcg@10" in twin["objectives"]
    assert twin["runs"][0]["objective_value"] == best.summary["recall@10"]
    rows = {row["key"]: row for row in twin["summary"]}
    assert rows["recall@10"]["goal"] == "max" and rows["recall@10"]["marked"] == [0]
    assert rows["recall@10"]["mark"] == "best"
    # latency_ms: lower is better per the experiment definition.
    latency = [r.summary["latency_ms"] for r in (best, other)]
    assert rows["latency_ms"]["goal"] == "min"
    assert rows["latency_ms"]["marked"] == [latency.index(min(latency))]
    # mrr has no goal but its name says higher is better: the highest is marked, called that.
    assert rows["mrr"]["goal"] == "max" and rows["mrr"]["goal_inferred"]
    assert rows["mrr"]["mark"] == "highest"
    # A loss without a goal is marked at its lowest, not at its worst.
    loss = [r.summary["train/loss"] for r in (best, other)]
    assert rows["train/loss"]["goal"] == "min" and rows["train/loss"]["mark"] == "lowest"
    assert rows["train/loss"]["marked"] == [loss.index(min(loss))]
    # The learning rate has no better direction: nothing is marked.
    assert rows["train/lr"]["goal"] is None and rows["train/lr"]["marked"] == []
    # The metric chosen in the URL wins, and drives the scatter and parallel coordinates.
    chosen = ui_client.get(f"/compare.json?runs={best.id},{other.id}&metric=ndcg@10").json()
    assert chosen["objective"] == "ndcg@10"
    assert chosen["scatter"]["metric"] == "ndcg@10"
    assert chosen["parallel_coordinates"]["dimensions"][-1]["label"] == "ndcg@10"


def test_default_objective_without_a_definition_prefers_an_evaluation_result() -> None:
    from ragtrack.entities import MetricSummary

    curve = MetricSummary("eval/loss", 6, 0.3, 300, 0.0, 0.3, 0.9)
    run = RunRecord(
        id="a",
        project="p",
        experiment=None,
        name="a",
        status=RunStatus.COMPLETED,
        created_at=0.0,
        metrics={"eval/loss": curve},
        explicit_summary={"faithfulness": 0.8, "ndcg@10": 0.5, "recall@10": 0.7},
    )
    keys = ["eval/loss", "faithfulness", "ndcg@10", "recall@10", "system/cpu"]
    assert default_metric([run], keys, None) == "recall@10"
    assert default_metric([run], ["eval/loss", "system/cpu"], None) == "eval/loss"
    assert default_metric([run], [], None) is None


def test_series_endpoint_returns_every_runs_series_downsampled(
    ui_client: Any, best_and_other_size: list[RunRecord]
) -> None:
    ids = ",".join(r.id for r in best_and_other_size)
    body = ui_client.get(f"/compare/series.json?runs={ids}&key=train/loss&max_points=50").json()
    assert body["key"] == "train/loss" and body["max_points"] == 50
    assert [r["id"] for r in body["runs"]] == [r.id for r in best_and_other_size]
    assert [r["colour"] for r in body["runs"]] == [run_style(0).colour, run_style(1).colour]
    for run in body["runs"]:
        chart = run["chart"]
        assert chart["n_points"] == 300 and chart["downsampled"]
        assert 2 <= len(chart["steps"]) <= 50
        assert len(chart["values"]) == len(chart["times"]) == len(chart["steps"])
    default = ui_client.get(f"/compare/series.json?runs={ids}&key=train/loss&smoothing=0.6")
    assert default.status_code == 200
    assert default.json()["max_points"] == default_max_points(2) == 1000
    assert all(r["chart"]["smoothed"] is not None for r in default.json()["runs"])


def test_series_of_a_key_some_runs_lack_gives_them_no_chart(
    ui_client: Any, ui_store: Store
) -> None:
    chunking = chunking_runs(ui_store)[0]
    reranker = ui_store.search_runs(DEMO, filter='experiment = "reranker"', limit=1)[0]
    ids = f"{chunking.id},{reranker.id}"
    body = ui_client.get(f"/compare/series.json?runs={ids}&key=no/such/key").json()
    assert [r["chart"] for r in body["runs"]] == [None, None]
    missing = ui_client.get(f"/compare/series.json?runs={ids}")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "key"


def test_chart_sections_split_curves_single_values_and_system(
    ui_client: Any, best_and_other_size: list[RunRecord]
) -> None:
    ids = ",".join(r.id for r in best_and_other_size)
    charts = ui_client.get(f"/compare.json?runs={ids}").json()["charts"]
    assert "train/loss" in charts["curves"] and "eval/loss" in charts["curves"]
    assert "recall@10" in charts["single_value"]
    assert charts["series_url"] == f"/compare/series.json?runs={ids.replace(',', '%2C')}"
    page = ui_client.get(f"/compare?runs={ids}&smoothing=0.5&x=time&log=1").text
    assert 'data-key="train/loss"' in page and 'id="smoothing"' in page
    assert 'value="time" selected' in page and 'id="log-y" checked' in page


def test_importance_panel_uses_the_experiment_of_the_runs(
    ui_client: Any, best_and_other_size: list[RunRecord], ui_store: Store
) -> None:
    ids = ",".join(r.id for r in best_and_other_size)
    source = ui_client.get(f"/compare.json?runs={ids}").json()["importance"]
    assert source["url"] == (
        f"/projects/{DEMO}/importance.json?experiment=chunking&metric=recall%4010"
    )
    assert "every run of experiment chunking" in source["note"]
    assert ui_client.get(source["url"]).status_code == 200
    reranker = ui_store.search_runs(DEMO, filter='experiment = "reranker"', limit=1)[0]
    # Listed first, the one reranker run does not outvote the two chunking runs.
    mixed = ui_client.get(f"/compare.json?runs={reranker.id},{ids}").json()["importance"]
    assert "experiment=chunking" in mixed["url"]
    assert "experiment chunking, which 2 of the 3 compared runs belong to" in mixed["note"]


@pytest.mark.parametrize(
    ("runs", "status", "words"),
    [
        ("", 400, "got 0"),
        ("{a}", 400, "got 1"),
        (",".join(f"{i:016x}" for i in range(MAX_RUNS + 1)), 400, "got 51"),
        ("{a},ffffffffffffffff", 404, "ffffffffffffffff"),
        ("{a},{a8}", 400, "more than once"),
    ],
)
def test_bad_run_lists_are_errors_naming_runs(
    ui_client: Any, ui_store: Store, runs: str, status: int, words: str
) -> None:
    run = chunking_runs(ui_store)[0]
    query = runs.format(a=run.id, a8=run.id[:8])
    twin = ui_client.get(f"/compare.json?runs={query}")
    assert twin.status_code == status
    assert twin.json()["error"]["field"] == "runs" and words in twin.json()["error"]["message"]
    page = ui_client.get(f"/compare?runs={query}")
    assert page.status_code == status and "text/html" in page.headers["content-type"]
    assert "runs" in page.text and words in page.text
    series = ui_client.get(f"/compare/series.json?runs={query}&key=train/loss")
    assert series.status_code == status


def test_bad_chart_options_name_the_parameter(
    ui_client: Any, best_and_other_size: list[RunRecord]
) -> None:
    ids = ",".join(r.id for r in best_and_other_size)
    for query, field in (("x=wall", "x"), ("smoothing=1.5", "smoothing")):
        response = ui_client.get(f"/compare.json?runs={ids}&{query}")
        assert response.status_code == 400 and response.json()["error"]["field"] == field


def test_run_styles_are_fixed_and_distinct_for_every_run_compare_takes() -> None:
    # Ten colours an eye tells apart, then the same colours dashed: 50 hues would not be.
    styles = [run_style(i) for i in range(MAX_RUNS)]
    assert len({(s.colour, s.dash) for s in styles}) == MAX_RUNS
    assert len({(s.colour, s.symbol) for s in styles}) == MAX_RUNS
    assert len({s.colour for s in styles}) == 10
    assert all(c.startswith("#") and len(c) == 7 for c in (s.colour for s in styles))
    assert run_style(3) == run_style(3)


@pytest.fixture
def hostile_client(tmp_path: Path) -> Iterator[tuple[TestClient, list[str]]]:
    """Two runs whose names, params and metric keys hold markup."""
    store = SqlStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    ids = []
    for i in range(2):
        run = store.create_run(
            project="p<b>",
            experiment='exp "<i>"',
            name=f"<script>alert({i})</script>",
            config={"<img src=x>": f"<svg onload=x>{i}", "k": i},
        )
        store.set_summary(run.id, {"<em>m</em>": float(i), "acc": 0.5 + i})
        ids.append(run.id)
    with TestClient(create_app(store)) as client:
        yield client, ids
    store.close()


def test_markup_in_names_params_and_metrics_is_escaped(
    hostile_client: tuple[TestClient, list[str]],
) -> None:
    client, ids = hostile_client
    page = client.get(f"/compare?runs={','.join(ids)}")
    assert page.status_code == 200
    for raw in ("<script>alert", "<img src=x>", "<svg onload", "<em>m</em>", "<b>", '"<i>"'):
        assert raw not in page.text
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in page.text
    assert "&lt;svg onload=x&gt;1" in page.text
    twin = client.get(f"/compare.json?runs={','.join(ids)}").json()
    assert twin["runs"][0]["name"] == "<script>alert(0)</script>"
    importance = client.get(twin["importance"]["url"])
    assert importance.status_code == 200
    assert importance.json()["experiment"] == 'exp "<i>"'


def test_an_objective_no_run_has_says_so_instead_of_an_empty_plot(
    ui_client: Any, best_and_other_size: list[RunRecord]
) -> None:
    ids = ",".join(r.id for r in best_and_other_size)
    page = ui_client.get(f"/compare?runs={ids}&metric=bleu")
    assert page.status_code == 200
    assert page.text.count("None of these runs has a numeric value of bleu.") == 2
    assert 'id="parcoords-chart"' not in page.text and 'id="scatter-chart"' not in page.text
    assert '<option value="bleu" selected>' in page.text
