"""The run page in a real browser: open the best run, see its curves drawn.

Charts are checked through the DOM Plotly builds (its SVG traces and the data it
was given), not through pixels.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import UiServer
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.slow


def plotted(chart: Locator) -> list[dict[str, Any]]:
    """Name, point count and drawn-path presence of each trace Plotly drew in ``chart``."""
    chart.locator(".main-svg .scatterlayer .trace").first.wait_for()
    traces: list[dict[str, Any]] = chart.evaluate(
        """el => {
            const gd = el.closest('.js-plotly-plot') || el.querySelector('.js-plotly-plot');
            const svg = Array.from(gd.querySelectorAll('.scatterlayer .trace'));
            return gd.data.map((t, i) => ({
                name: t.name, points: t.x.length,
                drawn: !!(svg[i] && svg[i].querySelector('path.js-line[d^="M"]')),
            }));
        }"""
    )
    return traces


def test_the_best_run_shows_its_loss_curve(page: Page, ui_server: UiServer) -> None:
    best = ui_server.ranked()[0]
    page.goto("/projects/rag-demo/runs?sort=-metrics.recall@10")
    page.get_by_role("table", name=re.compile("^Runs of")).get_by_role(
        "link", name=best.name, exact=True
    ).click()
    page.wait_for_url(re.compile(rf"/runs/{best.id}$"))
    assert page.get_by_role("heading", level=1).inner_text() == best.name
    assert page.get_by_role("tab", name="Overview").get_attribute("aria-selected") == "true"

    page.get_by_role("tab", name=re.compile(r"^Charts")).click()
    assert page.url.endswith("#charts")  # the tab has a shareable URL
    assert page.get_by_role("tabpanel", name=re.compile(r"^Charts")).is_visible()
    chart = page.get_by_role("img", name="Chart of train/loss")
    traces = plotted(chart)
    assert traces[0] == {"name": "train/loss", "points": 300, "drawn": True}
    card = page.get_by_role("article").filter(has=page.get_by_role("heading", name="train/loss"))
    assert "300 points" in card.inner_text()


def test_a_charts_link_opens_on_the_charts_tab_and_arrows_move_between_tabs(
    page: Page, ui_server: UiServer
) -> None:
    best = ui_server.ranked()[0]
    page.goto(f"/runs/{best.id}#charts")
    charts = page.get_by_role("tab", name=re.compile(r"^Charts"))
    assert charts.get_attribute("aria-selected") == "true"
    assert plotted(page.get_by_role("img", name="Chart of eval/loss"))[0]["drawn"]

    charts.focus()
    page.keyboard.press("ArrowLeft")
    overview = page.get_by_role("tab", name="Overview")
    assert overview.get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "tab-overview"
    assert page.url.endswith("#overview")
    page.keyboard.press("End")
    artifacts = page.get_by_role("tab", name=re.compile(r"^Artifacts"))
    assert artifacts.get_attribute("aria-selected") == "true"
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    assert charts.get_attribute("aria-selected") == "true"

    # Offline: the chart's toolbar offers a PNG download and nothing that uploads.
    toolbar = page.get_by_role("img", name="Chart of train/loss").get_by_role("toolbar")
    assert toolbar.get_by_role("button", name="Download plot as a PNG").count() == 1
    assert toolbar.get_by_role("button", name=re.compile("Share|Cloud", re.I)).count() == 0


def test_tags_and_notes_are_edited_in_place_and_kept(page: Page, ui_server: UiServer) -> None:
    # The worst run: no other test looks at its tags or notes.
    run = ui_server.ranked("chunking")[-1]
    page.goto(f"/runs/{run.id}")
    tags = page.locator("#tags")
    page.get_by_label("New tag").fill("keep")
    page.get_by_role("button", name="Add tag").click()
    page.get_by_role("button", name="Remove tag keep").wait_for()
    assert page.get_by_role("status").filter(has_text="Added tag").is_visible()
    notes = page.get_by_label("Notes")
    notes.fill("Too small: answers split across chunks.")
    page.get_by_role("button", name="Save notes").click()
    page.get_by_text("Saved", exact=True).wait_for()

    page.reload()
    assert "keep" in tags.inner_text()
    assert page.get_by_label("Notes").input_value() == "Too small: answers split across chunks."
    page.get_by_role("button", name="Remove tag keep").click()
    page.get_by_role("button", name="Remove tag keep").wait_for(state="detached")
    page.reload()
    assert "keep" not in tags.inner_text()
