"""A run that is still going, in a real browser: its page follows it without a reload.

The test writes to the same store the server reads (SQLite in WAL mode is safe
across processes), as a training script would, and waits for the page to show
it: new points on the chart, new console lines with Follow on, and the status
when the run ends. The run lives in its own project so the demo's counts hold.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from test_browser_run_page import plotted

from ragtrack.entities import MetricSeries, RunStatus
from ragtrack.storage import Store, open_store

if TYPE_CHECKING:
    from conftest import PageWatch, UiServer
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

#: The page polls every 3 s (logs every 2 s); allow a few rounds on a busy machine.
PATIENCE_S = 15.0


@pytest.fixture
def store(ui_server: UiServer) -> Iterator[Store]:
    store = open_store(ui_server.dir, create=False)
    yield store
    store.close()


def _points(start: int, stop: int) -> MetricSeries:
    steps = list(range(start, stop))
    return MetricSeries.from_lists(
        steps, [1.0 / (1 + s) for s in steps], [time.time()] * len(steps)
    )


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"the page did not show {what} within {PATIENCE_S} s")


def test_a_running_run_updates_live(page: Page, store: Store) -> None:
    run = store.create_run(project="live-demo", name="still-training")
    store.log_metrics(run.id, {"train/loss": _points(0, 10)})
    store.append_logs(run.id, "stdout", "epoch 1 done\n")

    page.goto(f"/runs/{run.id}#charts")
    chart = page.get_by_role("img", name="Chart of train/loss")
    assert plotted(chart)[0]["points"] == 10

    store.log_metrics(run.id, {"train/loss": _points(10, 40)})
    store.heartbeat(run.id)
    _eventually(lambda: plotted(chart)[0]["points"] == 40, "the 30 new points")

    page.get_by_role("tab", name=re.compile(r"^Logs")).click()
    log = page.get_by_label("Console output")
    _eventually(lambda: "epoch 1 done" in log.inner_text(), "the first log line")
    assert page.get_by_label("Follow").is_checked()
    store.append_logs(run.id, "stdout", "epoch 2 done\n")
    _eventually(lambda: "epoch 2 done" in log.inner_text(), "the tailed log line")

    assert "running" in page.locator("#run-status").inner_text()
    store.update_run(run.id, status=RunStatus.COMPLETED)
    _eventually(lambda: "completed" in page.locator("#run-status").inner_text(), "the end")


def test_the_paused_note_goes_when_polling_recovers(
    page: Page, store: Store, page_watch: PageWatch
) -> None:
    run = store.create_run(project="live-demo", name="flaky-network")
    store.heartbeat(run.id)
    page.goto(f"/runs/{run.id}")
    note = page.locator("#live-note")
    assert note.inner_text() == "Live: updating every 3 s"

    # The server (or a proxy) answers the page's polls with 503 for a while.
    twin = re.compile(rf"/runs/{run.id}\.json\?fields=")
    page_watch.expect_status(503, twin.pattern)
    body = (
        '{"error": {"code": "STORE_UNAVAILABLE", "message": "database restarting", "field": null}}'
    )
    page.route(
        twin, lambda route: route.fulfill(status=503, body=body, content_type="application/json")
    )
    _eventually(
        lambda: "Live updates paused: database restarting" in note.inner_text(), "the pause"
    )

    page.unroute(twin)
    store.heartbeat(run.id)
    _eventually(lambda: note.inner_text() == "Live: updating every 3 s", "the recovery")
    store.update_run(run.id, status=RunStatus.COMPLETED)
    _eventually(lambda: note.inner_text() == "", "the end of the live updates")
