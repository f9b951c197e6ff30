"""The runs table in a real browser: find it, filter, sort, keyboard use.

A new user with the demo data opens rag-demo's runs from the home page, types a
filter (a bad one shows what is wrong), sorts by recall@10 with one click on the
header and sees the best run (512-token chunks) first.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import PageWatch, UiServer
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.slow

RUNS = "/projects/rag-demo/runs"


def runs_table(page: Page) -> Locator:
    # The caption names the table ("Runs of rag-demo, ... sorted by ...").
    return page.get_by_role("table", name=re.compile(r"^Runs of rag-demo"))


def body_rows(page: Page) -> Locator:
    return runs_table(page).locator("tbody").get_by_role("row")


def column(page: Page, label: str) -> list[str]:
    """The texts of one column, found by its header's label."""
    headers = [h.strip() for h in runs_table(page).get_by_role("columnheader").all_inner_texts()]
    # Sorted headers end in an arrow drawn by CSS; compare the label only.
    index = [h.rstrip(" ▲▼") for h in headers].index(label)
    cells = body_rows(page).locator(f"td:nth-child({index + 1})")
    return [text.strip() for text in cells.all_inner_texts()]


def test_a_new_user_finds_the_runs_of_the_demo_project(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="rag-demo").click()
    page.get_by_role("link", name="All 15 runs").click()
    page.wait_for_url(re.compile(r"/projects/rag-demo/runs$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Runs of rag-demo"
    assert body_rows(page).count() == 15
    assert page.get_by_text("1–15 of 15 runs").is_visible()
    assert "failed" in column(page, "Status")


def test_a_filter_typed_in_the_search_box_narrows_the_rows(page: Page, ui_server: UiServer) -> None:
    expected = sorted(r.name for r in ui_server.runs if r.params.get("chunker.size") == 1024)
    page.goto(RUNS)
    box = page.get_by_role("searchbox", name="Filter")
    box.fill("params.chunker.size = 1024")
    box.press("Enter")
    page.wait_for_url(re.compile(r"filter=params.chunker.size"))
    assert sorted(column(page, "Name")) == expected
    assert page.get_by_text(f"1–{len(expected)} of {len(expected)} runs").is_visible()
    assert page.get_by_role("searchbox", name="Filter").input_value() == (
        "params.chunker.size = 1024"
    )
    page.get_by_role("link", name="Clear filter").click()
    page.wait_for_url(re.compile(r"/runs$"))
    assert body_rows(page).count() == 15


def test_a_bad_filter_says_what_is_wrong(page: Page, page_watch: PageWatch) -> None:
    # The page renders the form with the message (200: the page watch fails the test on any
    # failed load or console error); scripts get the 400 from its JSON twin.
    page.goto(RUNS)
    box = page.get_by_role("searchbox", name="Filter")
    box.fill("metrics.recall@10 >")
    page.get_by_role("button", name="Apply").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "The filter cannot be used" in alert.inner_text()
    assert "expected a value" in alert.inner_text()
    assert page.get_by_role("searchbox", name="Filter").get_attribute("aria-invalid") == "true"
    page.get_by_text("No runs shown: fix the filter above.").wait_for()
    assert body_rows(page).count() == 0


def test_one_click_on_recall_sorts_the_best_run_first(page: Page, ui_server: UiServer) -> None:
    best = ui_server.ranked()
    page.goto(RUNS)
    runs_table(page).get_by_role("link", name="recall@10", exact=True).click()
    page.wait_for_url(re.compile(r"sort=-metrics.recall%4010"))
    header = runs_table(page).get_by_role("columnheader", name="recall@10")
    assert header.get_attribute("aria-sort") == "descending"
    names = column(page, "Name")
    assert names[: len(best)] == [r.name for r in best]
    assert column(page, "chunker.size")[0] == "512"
    recalls = [float(v) for v in column(page, "recall@10") if v]
    assert recalls == sorted(recalls, reverse=True)
    assert names[-1] == "rerank-bge-reranker-large"  # the failed run has no recall: last


def test_the_keyboard_reaches_the_rows_moves_between_them_and_opens_a_run(page: Page) -> None:
    page.goto(f"{RUNS}?sort=-metrics.recall@10")
    names = column(page, "Name")
    page.get_by_role("button", name="CSV").focus()

    def focused_run() -> str | None:
        """The name of the run whose link has the focus, if any."""
        name: str | None = page.evaluate(
            "document.activeElement.matches('#runs-table tbody a.run-link')"
            " ? document.activeElement.textContent : null"
        )
        return name

    # Tab: past the select-all box and the sort links, to the first run.
    for _ in range(60):
        page.keyboard.press("Tab")
        if focused_run() is not None:
            break
    assert focused_run() == names[0]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert focused_run() == names[2]
    page.keyboard.press("ArrowUp")
    assert focused_run() == names[1]
    page.keyboard.press("Space")  # selects the run (two are needed to compare)
    assert runs_table(page).get_by_role("checkbox", name=f"Select {names[1]}").is_checked()
    assert page.get_by_role("button", name="Compare (1)").is_disabled()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]+"))
    assert page.get_by_role("heading", level=1).inner_text() == names[1]


def test_a_misspelled_key_says_no_run_has_it_and_offers_the_fix(
    page: Page, ui_server: UiServer
) -> None:
    page.goto(RUNS)
    box = page.get_by_role("searchbox", name="Filter")
    box.fill("metrics.recal@10 > 0.6")
    box.press("Enter")
    page.wait_for_url(re.compile(r"filter=metrics.recal"))
    assert body_rows(page).count() == 0
    note = page.locator("#filter-warnings")
    assert note.get_attribute("role") == "status"
    assert note.inner_text().startswith(
        "No run has metrics.recal@10; did you mean metrics.recall@10"
    )
    assert page.get_by_role("alert").count() == 0  # a warning, not an error
    note.get_by_role("link", name="metrics.recall@10").click()
    page.wait_for_url(re.compile(r"filter=metrics.recall(@|%40)10"))
    expected = [r for r in ui_server.runs if r.recall is not None and r.recall > 0.6]
    assert body_rows(page).count() == len(expected) > 0
    assert page.locator("#filter-warnings").count() == 0


def test_group_by_in_the_filter_languages_form_groups_by_that_param(page: Page) -> None:
    page.goto(f"{RUNS}?group_by=params.chunker.size")
    groups = page.get_by_role("table", name="Grouped by chunker.size")
    labels = groups.locator("tbody").get_by_role("rowheader").all_inner_texts()
    assert [label.strip() for label in labels] == ["256", "512", "1024"]
    assert page.get_by_label("Group by").input_value() == "chunker.size"


def test_the_name_column_stays_in_view_when_a_wide_table_scrolls_sideways(
    page: Page, ui_server: UiServer
) -> None:
    keys = sorted({k for r in ui_server.runs for k in r.params})
    columns = ",".join(["tags", *(f"params.{k}" for k in keys)])
    page.goto(f"{RUNS}?columns={columns}&sort=name")
    wrap = page.locator(".table-wrap").filter(has=runs_table(page))
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth + 600")  # wide enough to scroll
    first = body_rows(page).first.get_by_role("link")
    before = first.bounding_box()
    assert before is not None
    wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    after = first.bounding_box()
    assert after is not None and abs(after["x"] - before["x"]) < 1
    # Pinned and on top: the point at the name's centre is the name, not a cell under it.
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('a')?.textContent",
        [after["x"] + after["width"] / 2, after["y"] + after["height"] / 2],
    )
    assert on_top == first.inner_text()
    assert "Tags" in column_labels(page)


def column_labels(page: Page) -> list[str]:
    return [h.strip() for h in runs_table(page).get_by_role("columnheader").all_inner_texts()]
