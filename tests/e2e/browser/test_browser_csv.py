"""CSV downloads in a real browser: what a spreadsheet opens is data, never a formula.

Run names, tags and params are whatever a user (or a colleague's script) logged,
so a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
would run as a formula where the CSV is opened. Each download is saved and read
back with the csv module: such cells start with a single quote (OWASP's advice),
numbers stay numbers, and rows carry the run id, since names are not unique.
The runs live in their own project so the demo's counts hold.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from ragtrack.entities import MetricSeries
from ragtrack.storage import open_store

if TYPE_CHECKING:
    from conftest import UiServer
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.slow

PROJECT = "csv-check"
HOSTILE_NAME = '=HYPERLINK("http://evil.example","x")'
HOSTILE_PARAMS = {
    "cmd": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\tx",
    "plus": "+1+2",
    "minus": "-2+3",
}


@dataclass(frozen=True)
class CsvRuns:
    ids: list[str]  # two runs of the same hostile name


@pytest.fixture(scope="module")
def csv_runs(ui_server: UiServer) -> Iterator[CsvRuns]:
    store = open_store(ui_server.dir, create=False)
    try:
        ids = []
        for i, loss in enumerate((-0.5, -1.25e-7)):
            run = store.create_run(project=PROJECT, name=HOSTILE_NAME, config=HOSTILE_PARAMS)
            series = MetricSeries.from_lists([0, 1], [1.0, loss], [1.0e9, 1.0e9 + 1])
            store.log_metrics(run.id, {"loss": series})
            store.set_summary(run.id, {"=score": 1.0 + i})
            ids.append(run.id)
        yield CsvRuns(ids)
    finally:
        store.close()


def download(page: Page, button: Locator) -> list[list[str]]:
    with page.expect_download() as info:
        button.click()
    path = info.value.path()
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(io.StringIO(f.read())))


def assert_no_formula(rows: list[list[str]]) -> None:
    number = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert number.match(cell), f"a formula reached the CSV: {cell!r} in {row}"


def test_the_runs_csv_neutralises_formulas_keeps_numbers_and_has_run_ids(
    page: Page, csv_runs: CsvRuns
) -> None:
    columns = "metrics.loss,metrics.=score," + ",".join(f"params.{k}" for k in HOSTILE_PARAMS)
    page.goto(f"/projects/{PROJECT}/runs?columns={columns}&sort=created")
    rows = download(page, page.get_by_role("button", name="CSV", exact=True))
    assert_no_formula(rows)
    header, body = rows[0], rows[1:]
    assert header[:2] == ["run_id", "name"]
    assert "'metrics.=score" not in header  # headers are ours: 'metrics.' first, never a formula
    assert [r[0] for r in body] == csv_runs.ids
    by = {h: [r[i] for r in body] for i, h in enumerate(header)}
    assert by["name"] == ["'" + HOSTILE_NAME] * 2
    assert by["metrics.loss"] == ["-0.5", "-1.25e-07"]  # negative numbers are numbers
    assert by["params.cmd"] == ["'" + HOSTILE_PARAMS["cmd"]] * 2
    assert by["params.plus"] == ["'+1+2"] * 2
    assert by["params.minus"] == ["'-2+3"] * 2


def test_compare_csvs_neutralise_formulas_and_name_each_run_by_id(
    page: Page, csv_runs: CsvRuns
) -> None:
    page.goto(f"/compare?runs={','.join(csv_runs.ids)}")
    params = download(page, page.get_by_role("button", name="Download all params as CSV"))
    assert_no_formula(params)
    assert params[0] == ["run_id", *csv_runs.ids]
    assert params[1] == ["param", "'" + HOSTILE_NAME, "'" + HOSTILE_NAME]
    assert ["plus", "'+1+2", "'+1+2"] in params
    assert ["tab", "'\tx", "'\tx"] in params

    summary = download(page, page.locator("#summary-csv"))
    assert_no_formula(summary)
    assert summary[0] == ["run_id", *csv_runs.ids]
    assert ["'=score", "1", "2"] in summary

    card = page.get_by_role("button", name="Download loss as CSV")
    card.scroll_into_view_if_needed()
    page.locator(".chart-card[data-key='loss'] .chart-status").filter(
        has_text="of 2 runs"
    ).wait_for()
    curve = download(page, card)
    assert_no_formula(curve)
    assert curve[0][:2] == ["run_id", "run"]
    assert {r[0] for r in curve[1:]} == set(csv_runs.ids)
    assert {r[1] for r in curve[1:]} == {"'" + HOSTILE_NAME}
    assert sorted(float(r[4]) for r in curve[1:]) == [-0.5, -1.25e-7, 1.0, 1.0]
