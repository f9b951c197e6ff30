"""The importance page: fANOVA over a project's or an experiment's runs, the
metric choice, the population cap, and what it says when nothing can be computed."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragtrack.server import create_app
from ragtrack.server.ui.views import importance
from ragtrack.server.ui.views.importance import experiment_filter, metric_sort
from ragtrack.storage.filter import parse_filter
from ragtrack.storage.sql import SqlStore

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

DEMO = "rag-demo"
URL = f"/projects/{DEMO}/importance"


def test_chunk_size_explains_recall_most_in_the_chunking_sweep(ui_client: Any) -> None:
    body = ui_client.get(f"{URL}.json?experiment=chunking&metric=recall@10").json()
    result = body["result"]
    assert result["importances"][0]["param"] == "chunker.size"
    assert result["method"].startswith("fANOVA (Optuna FanovaImportanceEvaluator")
    assert result["n_runs"] == 12 and result["skipped_runs"] == 0
    assert sum(i["importance"] for i in result["importances"]) == pytest.approx(1.0)
    assert "dataset" in result["dropped_params"]
    assert body["population"] == {
        "description": "the 12 runs of experiment chunking",
        "runs_loaded": 12,
        "capped": False,
        "max_runs": importance.MAX_RUNS,
    }
    assert body["links"]["runs_sorted"] == (
        f"/projects/{DEMO}/runs?experiment=chunking&sort=-metrics.recall%4010"
    )
    assert body["links"]["group_by"]["chunker.size"].endswith("group_by=chunker.size")


def test_the_page_shows_the_ranking_method_and_counts(ui_client: Any) -> None:
    page = ui_client.get(f"{URL}?experiment=chunking&metric=recall@10")
    assert page.status_code == 200
    text = page.text
    table = text[text.index('id="importance-table"') : text.index("</table>")]
    assert table.index("chunker.size") < table.index("retriever.top_k")
    assert "FanovaImportanceEvaluator" in text and "the 12 runs of experiment chunking" in text
    assert 'id="importance-chart"' in text and "compare.js" in text
    assert '<option value="recall@10" selected>' in text


def test_metric_defaults_to_the_experiment_definition(ui_client: Any) -> None:
    body = ui_client.get(f"{URL}.json?experiment=chunking").json()
    assert body["metric"] == "recall@10" and body["goal"] == "max"
    assert "train/loss" in body["metrics"]  # every numeric summary is a candidate
    # latency_ms is minimised: the runs table link puts the lowest first.
    low = ui_client.get(f"{URL}.json?experiment=chunking&metric=latency_ms").json()
    assert low["links"]["runs_sorted"].endswith("sort=metrics.latency_ms")


def test_whole_project_population_skips_runs_without_the_metric(ui_client: Any) -> None:
    body = ui_client.get(f"{URL}.json?metric=recall@10").json()
    assert body["experiment"] is None
    assert body["population"]["description"] == f"the 15 runs of project {DEMO} (every experiment)"
    assert body["result"]["n_runs"] == 14 and body["result"]["skipped_runs"] == 1  # the failed run


def test_population_is_capped_at_the_most_recent_runs(
    ui_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importance, "MAX_RUNS", 5)
    body = ui_client.get(f"{URL}.json?experiment=chunking&metric=recall@10").json()
    assert body["population"]["capped"] and body["population"]["runs_loaded"] == 5
    assert body["population"]["description"].startswith("the most recent 5 runs")
    assert body["result"]["n_runs"] == 5


@pytest.mark.parametrize(
    ("query", "code"),
    [("?experiment=nope", "EXPERIMENT_NOT_FOUND"), ("", "PROJECT_NOT_FOUND")],
)
def test_unknown_project_or_experiment_is_a_404(ui_client: Any, query: str, code: str) -> None:
    url = URL if query else "/projects/nope/importance"
    twin = ui_client.get(f"{url}.json{query}")
    assert twin.status_code == 404 and twin.json()["error"]["code"] == code
    assert ui_client.get(f"{url}{query}").status_code == 404


def test_an_unknown_metric_says_why_nothing_was_computed(ui_client: Any) -> None:
    body = ui_client.get(f"{URL}.json?experiment=chunking&metric=bleu").json()
    assert body["result"]["importances"] == []
    assert body["message"] == "needs at least 2 runs with a finite value of bleu; found 0"
    assert body["metrics"][0] == "bleu"  # the select shows what was asked for


@pytest.fixture
def small_store(tmp_path: Path) -> Iterator[tuple[SqlStore, TestClient]]:
    store = SqlStore(f"sqlite:///{tmp_path / 'ragtrack.db'}")
    with TestClient(create_app(store)) as client:
        yield store, client
    store.close()


def test_too_few_runs_give_the_message_not_an_error(
    small_store: tuple[SqlStore, TestClient],
) -> None:
    store, client = small_store
    run = store.create_run(project="p", experiment="one", config={"lr": 0.1})
    store.set_summary(run.id, {"acc": 0.5})
    store.create_run(project="p", experiment="none", config={"lr": 0.1})
    body = client.get("/projects/p/importance.json?experiment=one&metric=acc").json()
    assert body["message"] == "needs at least 2 runs with a finite value of acc; found 1"
    page = client.get("/projects/p/importance?experiment=one&metric=acc")
    assert page.status_code == 200 and "needs at least 2 runs" in page.text
    assert 'id="importance-chart"' not in page.text and "plotly" not in page.text
    nothing = client.get("/projects/p/importance.json?experiment=none").json()
    assert nothing["metric"] is None and nothing["result"] is None
    assert nothing["message"] == "No metric has a numeric value in two or more of these runs."


def test_experiment_names_with_quotes_and_markup_are_quoted_and_escaped(
    small_store: tuple[SqlStore, TestClient],
) -> None:
    store, client = small_store
    name = 'say "hi" \\ <b>'
    for i, size in enumerate([128, 256, 512, 128]):
        run = store.create_run(project="p", experiment=name, config={"size": size, "seed": i})
        store.set_summary(run.id, {"<i>acc</i>": size / 1000})
    store.create_run(project="p", experiment="other", config={"size": 1})
    response = client.get("/projects/p/importance", params={"experiment": name})
    assert response.status_code == 200
    assert "<b>" not in response.text and "<i>acc</i>" not in response.text
    assert "&lt;i&gt;acc&lt;/i&gt;" in response.text
    body = client.get("/projects/p/importance.json", params={"experiment": name}).json()
    assert body["population"]["runs_loaded"] == 4 and body["metric"] == "<i>acc</i>"
    assert body["result"]["importances"][0]["param"] == "size"


def test_filter_and_sort_texts_parse_back() -> None:
    name = 'a "quoted" \\ name\n'
    parsed = parse_filter(experiment_filter(name))
    assert parsed is not None and getattr(parsed, "value", None) == name
    assert metric_sort("eval/ndcg@10") == "-metrics.eval/ndcg@10"
    assert metric_sort("loss.min") == "-metrics.`loss.min`"


def test_a_ranking_from_fewer_than_ten_runs_carries_a_caveat(ui_client: Any) -> None:
    # The reranker experiment has 2 runs with recall@10: a ranking, but barely one.
    few = ui_client.get(f"{URL}.json?experiment=reranker&metric=ndcg@10").json()["result"]
    assert few["n_runs"] < 10 and few["importances"]
    assert few["caveat"].startswith(f"Only {few['n_runs']} runs: with fewer than 10")
    page = ui_client.get(f"{URL}?experiment=reranker&metric=ndcg@10").text
    assert 'class="notice importance-caveat" role="note"' in page
    many = ui_client.get(f"{URL}.json?experiment=chunking&metric=recall@10").json()["result"]
    assert many["n_runs"] == 12 and many["caveat"] is None
    assert "importance-caveat" not in ui_client.get(f"{URL}?experiment=chunking").text
