"""The projects list and a project's experiments, in a real browser."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import UiServer
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow


def test_the_home_page_lists_the_demo_project(page: Page) -> None:
    page.goto("/")
    expect_heading = page.get_by_role("heading", name="Projects", level=1)
    assert expect_heading.is_visible()
    projects = page.get_by_role("table", name="Projects")
    row = projects.get_by_role("row").filter(has_text="rag-demo")
    assert row.get_by_role("cell").nth(1).inner_text() == "15"
    row.get_by_role("link", name="rag-demo").click()
    page.wait_for_url(re.compile(r"/projects/rag-demo$"))
    experiments = page.get_by_role("table", name="Experiments of rag-demo")
    names = experiments.get_by_role("row").all_inner_texts()
    assert any(n.startswith("chunking") for n in names), names
    assert any(n.startswith("reranker") for n in names), names


def test_the_project_page_shows_each_experiments_best_run_and_failures(
    page: Page, ui_server: UiServer
) -> None:
    best = ui_server.ranked("chunking")[0]
    page.goto("/projects/rag-demo")
    experiments = page.get_by_role("table", name="Experiments of rag-demo")
    chunking = experiments.get_by_role("row").filter(
        has=page.get_by_role("link", name="chunking", exact=True)
    )
    cell = chunking.locator("td.best-runs")
    assert cell.get_by_text("recall@10 (max)").is_visible()
    assert best.recall is not None and f"{best.recall:.4g}" in cell.inner_text()
    reranker = experiments.get_by_role("row").filter(
        has=page.get_by_role("link", name="reranker", exact=True)
    )
    reranker.get_by_role("link", name="1 failed").click()
    page.wait_for_url(re.compile(r"/runs\?experiment=reranker&filter="))
    rows = page.get_by_role("table", name=re.compile(r"^Runs of rag-demo")).locator("tbody tr")
    assert rows.count() == 1 and "failed" in rows.inner_text()
    page.goto("/projects/rag-demo")
    cell.get_by_role("link", name=best.name).first.click()
    page.wait_for_url(re.compile(rf"/runs/{best.id}$"))


def test_importance_is_one_click_from_the_runs_table_and_the_run_page(
    page: Page, ui_server: UiServer
) -> None:
    page.goto("/projects/rag-demo/runs?experiment=chunking")
    page.get_by_role("link", name="Importance", exact=True).click()
    page.wait_for_url(re.compile(r"/projects/rag-demo/importance\?experiment=chunking$"))
    best = ui_server.ranked("chunking")[0]
    page.goto(f"/runs/{best.id}")
    page.get_by_role("link", name="Importance", exact=True).click()
    page.wait_for_url(re.compile(r"/projects/rag-demo/importance\?experiment=chunking$"))
    assert page.get_by_role("heading", level=1).is_visible()
