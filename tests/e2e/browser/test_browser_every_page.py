"""What every page owes its users, checked on each page kind of the demo data.

Each page loads without a console error, a failed request or an uncaught
exception (the ``page`` fixture fails the test otherwise), fits a 1280 px wide
window (wide tables scroll inside their own box, not the page), and names every
control for assistive technology.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import PageWatch, UiServer
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.slow

RUNS = "/projects/rag-demo/runs"


def _compare(s: UiServer) -> str:
    best, second = s.ranked("chunking")[:2]
    return f"/compare?runs={best.id},{second.id}"


PAGES: dict[str, Callable[[UiServer], str]] = {
    "projects": lambda s: "/",
    "project": lambda s: "/projects/rag-demo",
    "runs": lambda s: f"{RUNS}?sort=-metrics.recall@10",
    "runs grouped": lambda s: f"{RUNS}?experiment=chunking&group_by=chunker.size",
    "run": lambda s: f"/runs/{s.ranked()[0].id}",
    "failed run": lambda s: f"/runs/{next(r.id for r in s.runs if r.recall is None)}#logs",
    "compare": _compare,
    "importance": lambda s: "/projects/rag-demo/importance?experiment=chunking&metric=recall@10",
}

# Form controls and buttons without an accessible name (a close approximation of
# the accessible-name computation: label, aria-label(ledby), title, text).
_UNNAMED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, [role=tab], a[href]'))
  .filter(el => {
    const text = (s) => (s || '').trim();
    const labels = el.labels ? Array.from(el.labels).map(l => text(l.textContent)).join('') : '';
    const named = labels || text(el.getAttribute('aria-label'))
      || el.getAttribute('aria-labelledby') || text(el.getAttribute('title'))
      || (!el.matches('input, select, textarea') && text(el.textContent))
      || (el.matches('a') && el.querySelector('img[alt], svg[aria-label]'));
    return !named;
  })
  .map(el => el.outerHTML.slice(0, 160))"""


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_loads_cleanly_fits_and_labels_its_controls(
    page: Page, page_watch: PageWatch, ui_server: UiServer, name: str
) -> None:
    page.goto(PAGES[name](ui_server))
    page_watch.settle()
    assert page.get_by_role("heading", level=1).count() == 1
    # The run page's tabs: show each (no reload) and check what it shows.
    tabs: list[Locator | None] = [*page.get_by_role("tab").all()]
    for tab in tabs or [None]:
        shown = name
        if tab is not None:
            tab.click()
            page_watch.settle()
            shown = f"{name} {tab.get_attribute('id')}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"{shown}: the page is {width} px wide; tables should scroll"
    assert page.evaluate(_UNNAMED) == []


def test_an_unknown_run_shows_a_not_found_page(page: Page, page_watch: PageWatch) -> None:
    page_watch.expect_status(404, r"/runs/0000dead")
    response = page.goto("/runs/0000deadbeef")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert "0000deadbeef" in page.get_by_role("alert").inner_text()
    page.get_by_role("link", name="Back to the projects").click()
    page.wait_for_url(re.compile(r"/$"))
