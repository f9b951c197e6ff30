"""Charts at their edges, in a real browser: series with nothing drawable, system
metrics against wall time, and an importance ranking from too few runs.

The runs live in their own project so the demo's counts hold.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest
from test_browser_run_page import plotted

from ragtrack.entities import MetricSeries
from ragtrack.storage import open_store

if TYPE_CHECKING:
    from conftest import UiServer
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.slow

T0 = 1.75e9


def _series(values: list[float]) -> MetricSeries:
    steps = list(range(len(values)))
    return MetricSeries.from_lists(steps, values, [T0 + 10 * s for s in steps])


@pytest.fixture(scope="module")
def edge_run(ui_server: UiServer) -> str:
    store = open_store(ui_server.dir, create=False)
    try:
        run = store.create_run(project="chart-edges", name="diverged")
        nan, inf = math.nan, math.inf
        store.log_metrics(
            run.id,
            {
                "train/loss": _series([nan, inf, -inf, nan, nan]),
                "eval/loss": _series([0.5, nan, 0.4, inf, 0.3]),
                "system/cpu_percent": _series([20.0, 35.0, 50.0, 40.0]),
            },
        )
        return run.id
    finally:
        store.close()


def x_axis_type(chart: Locator) -> str:
    chart.locator(".main-svg .scatterlayer .trace").first.wait_for()
    kind: str = chart.evaluate(
        "el => (el.closest('.js-plotly-plot') || el.querySelector('.js-plotly-plot'))"
        ".layout.xaxis.type"
    )
    return kind


def test_a_series_of_only_nan_and_inf_says_there_is_nothing_to_draw(
    page: Page, edge_run: str
) -> None:
    page.goto(f"/runs/{edge_run}#charts")
    empty = page.get_by_role("img", name="Chart of train/loss")
    empty.scroll_into_view_if_needed()
    message = empty.get_by_text("Nothing to draw: all 5 points are NaN or infinite.")
    message.wait_for()
    assert empty.locator(".main-svg").count() == 0  # no empty axes
    mixed = page.get_by_role("img", name="Chart of eval/loss")
    mixed.scroll_into_view_if_needed()
    assert plotted(mixed)[0]["points"] == 5
    note = page.locator(".metric-card[data-key='eval/loss'] .chart-note")
    assert note.inner_text() == "5 points. 2 NaN or infinite, not drawn."


def test_system_metrics_are_drawn_against_wall_time_by_default(page: Page, edge_run: str) -> None:
    page.goto(f"/runs/{edge_run}#system")
    cpu = page.get_by_role("img", name="Chart of system/cpu_percent")
    assert x_axis_type(cpu) == "date"
    assert page.locator("#xaxis-system").input_value() == "time"
    # Training curves keep steps; the two tabs' choices are separate, both in the URL.
    page.get_by_role("tab", name="Charts").click()
    assert page.locator("#xaxis-charts").input_value() == "step"
    page.get_by_role("tab", name="System").click()
    page.locator("#xaxis-system").select_option("step")
    assert x_axis_type(cpu) == "linear"
    assert "sx=step" in page.url and "x=" not in page.url.replace("sx=", "")


def test_importance_from_fewer_than_ten_runs_carries_a_visible_caveat(page: Page) -> None:
    page.goto("/projects/rag-demo/importance?experiment=reranker&metric=ndcg@10")
    caveat = page.get_by_role("note").filter(has_text="Few runs.")
    assert caveat.is_visible()
    assert "with fewer than 10 the ranking is a hint" in caveat.inner_text()
    page.goto("/projects/rag-demo/importance?experiment=chunking&metric=recall@10")
    page.get_by_role(
        "table", name="Importance of each param for recall@10, highest first"
    ).wait_for()
    assert page.get_by_role("note").filter(has_text="Few runs.").count() == 0
