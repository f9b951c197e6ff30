"""Compare and importance in a real browser.

From the chunking experiment's runs sorted by recall@10 the user ticks the two
best and presses Compare: the params that differ are listed (the identical ones
folded), each curve is drawn once per run, and the importance panel names its
method and ranks chunker.size first. The importance page says the same.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import UiServer
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.slow

METHOD = "fANOVA"


def trace_names(chart: Locator, count: int) -> list[str]:
    """Names of the traces Plotly drew in ``chart``, once ``count`` lines are in its SVG."""
    chart.scroll_into_view_if_needed()  # charts load when scrolled into view
    lines = chart.locator(".scatterlayer .trace path.js-line")
    lines.nth(count - 1).wait_for(state="attached")
    assert lines.count() == count
    names: list[str] = chart.evaluate(
        "el => (el.closest('.js-plotly-plot') || el.querySelector('.js-plotly-plot'))"
        ".data.map(t => t.name)"
    )
    return names


def differing(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k, object()) != b.get(k, object()))


def importance_ranking(scope: Locator) -> list[str]:
    table = scope.get_by_role("table", name=re.compile(r"^Importance of each param"))
    table.wait_for()
    return [
        name.strip() for name in table.locator("tbody").get_by_role("rowheader").all_inner_texts()
    ]


def test_compare_the_two_best_runs(page: Page, ui_server: UiServer) -> None:
    best, second = ui_server.ranked("chunking")[:2]
    page.goto("/projects/rag-demo/runs")
    page.get_by_label("Experiment").select_option("chunking")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"experiment=chunking"))
    table = page.get_by_role("table", name=re.compile(r"^Runs of rag-demo"))
    table.get_by_role("link", name="recall@10", exact=True).click()
    page.wait_for_url(re.compile(r"sort=-metrics"))
    for run in (best, second):
        table.get_by_role("checkbox", name=f"Select {run.name}").check()
    assert page.get_by_text("2 runs selected.").is_visible()
    page.get_by_role("button", name="Compare (2)").click()
    page.wait_for_url(re.compile(r"/compare\?runs="))
    assert page.get_by_role("heading", level=1).inner_text() == "Compare 2 runs"

    # Params: the ones that differ (embedding model and top-k here), identical folded.
    params = page.get_by_role("table", name="Params whose values differ between the runs")
    keys = [k.strip() for k in params.locator("tbody").get_by_role("rowheader").all_inner_texts()]
    assert keys == differing(best.params, second.params)
    assert "retriever.embedding_model" in keys or "chunker.size" in keys
    folded = page.get_by_role("group").filter(has_text="identical params")
    assert folded.get_by_text("chunker.size").is_hidden()
    folded.get_by_text(re.compile(r"\d+ identical params")).click()
    assert folded.get_by_text("chunker.size").first.is_visible()

    # Curves: one trace per run in each chart, named after the runs.
    chart = page.get_by_role("img", name="train/loss of each compared run")
    assert sorted(trace_names(chart, 2)) == sorted([best.name, second.name])

    # Importance over the whole experiment, computed when scrolled into view.
    panel = page.get_by_role("region", name="Hyperparameter importance for recall@10")
    panel.scroll_into_view_if_needed()
    assert importance_ranking(panel)[0] == "chunker.size"
    assert METHOD in panel.inner_text()


def test_the_importance_page_ranks_chunk_size_first(page: Page) -> None:
    page.goto("/projects/rag-demo")
    experiments = page.get_by_role("table", name="Experiments of rag-demo")
    chunking = experiments.get_by_role("row").filter(
        has=page.get_by_role("link", name="chunking", exact=True)
    )
    chunking.get_by_role("link", name="Importance").click()
    page.wait_for_url(re.compile(r"/importance\?experiment=chunking"))
    page.get_by_label("Metric").select_option("recall@10")
    page.get_by_role("button", name="Compute").click()
    page.wait_for_url(re.compile(r"metric=recall%4010"))
    assert importance_ranking(page.get_by_role("main"))[0] == "chunker.size"
    method = page.get_by_role("definition").filter(has_text=METHOD)
    assert "FanovaImportanceEvaluator" in method.inner_text()
    chart = page.get_by_role("img", name="Importance of each param for recall@10")
    bars = chart.locator(".barlayer .point")
    bars.first.wait_for()
    assert bars.count() == len(importance_ranking(page.get_by_role("main")))


@pytest.fixture(scope="module")
def fifty_runs(ui_server: UiServer) -> list[str]:
    """50 runs with a loss curve, in their own project (the demo's counts hold)."""
    from ragtrack.entities import MetricSeries
    from ragtrack.storage import open_store

    store = open_store(ui_server.dir, create=False)
    try:
        ids = []
        for i in range(50):
            run = store.create_run(project="compare-fifty", name=f"trial-{i:02d}")
            losses = [1.0 / (1 + step + i) for step in range(3)]
            series = MetricSeries.from_lists([0, 1, 2], losses, [1e9, 1e9 + 1, 1e9 + 2])
            store.log_metrics(run.id, {"loss": series})
            ids.append(run.id)
        return ids
    finally:
        store.close()


def test_fifty_compared_runs_are_each_drawn_their_own_way_and_losses_marked_lowest(
    page: Page, fifty_runs: list[str]
) -> None:
    page.goto(f"/compare?runs={','.join(fifty_runs)}")
    chart = page.get_by_role("img", name="loss of each compared run")
    trace_names(chart, 50)
    styles = chart.evaluate(
        "el => (el.closest('.js-plotly-plot') || el.querySelector('.js-plotly-plot'))"
        ".data.map(t => [t.line.color, t.line.dash || 'solid'])"
    )
    assert len({tuple(s) for s in styles}) == 50  # no two runs look alike
    # No goal is defined for 'loss', and higher is not better: the lowest is the marked one.
    summary = page.get_by_role("table", name="Summary value of each metric per run")
    row = summary.get_by_role("row").filter(has=page.get_by_role("rowheader", name="loss"))
    marked = row.locator("td.marked")
    assert marked.count() == 1
    assert float(marked.get_attribute("data-value") or "nan") == 1 / 52  # trial-49's last
    assert "lowest" in row.inner_text()
