"""The projects list and a project's experiments, in a real browser."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
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
