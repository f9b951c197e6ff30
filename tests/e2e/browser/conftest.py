"""Fixtures for the browser tests: one real ``ragtrack ui`` process over the demo data
and one headless chromium per session, and a fresh page per test that fails the
test if the page logged a console error, threw, or had a request fail.

The browser is Debian's ``/usr/bin/chromium`` driven by ``playwright.sync_api``
(no pytest-playwright, no browser download). Without it (or without the
``playwright`` package) every test here skips with the reason; when ``CI`` is
set they fail instead, so CI cannot go green without running them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import ragtrack
from ragtrack.demo import log_demo_runs

if TYPE_CHECKING:
    from playwright.sync_api import (
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        Response,
    )

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is often 64 MB
    "--disable-background-networking",  # offline UI: no requests we did not make
    "--no-first-run",
]
PROJECT = "rag-demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class DemoRun:
    """What the tests need to know about one demo run to check a page."""

    id: str
    name: str
    experiment: str | None
    params: dict[str, Any]
    recall: float | None


@dataclass(frozen=True)
class UiServer:
    """A running ``ragtrack ui`` over ``log_demo_runs(dir, n_runs=12)``."""

    url: str
    dir: Path
    log: Path  # the server's output: tracebacks of 500s
    runs: list[DemoRun] = field(repr=False)

    def ranked(self, experiment: str | None = None) -> list[DemoRun]:
        """Runs with recall@10, best first (of ``experiment`` when given)."""
        runs = [r for r in self.runs if r.recall is not None]
        if experiment is not None:
            runs = [r for r in runs if r.experiment == experiment]
        return sorted(runs, key=lambda r: -(r.recall or 0.0))


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise RuntimeError(f"ragtrack exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"ragtrack at {url} did not answer /healthz in {timeout} s")


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """The demo data served by a real ``ragtrack ui --no-browser`` process on loopback.

    Its output goes to ``server.log`` beside the store (a pipe nobody reads
    could fill up and stall the server); a 500 in a test leaves its traceback there.
    """
    tmp = tmp_path_factory.mktemp("browser")
    store_dir = tmp / "store"
    log_demo_runs(store_dir, n_runs=12)
    api = ragtrack.Api(store_dir)
    try:
        runs = [
            DemoRun(r.id, r.name, r.experiment, _flatten(r.params), r.summary.get("recall@10"))
            for r in api.runs(PROJECT)
        ]
    finally:
        api.close()
    # `ragtrack ui`, what a new user runs (the same app as `ragtrack server`).
    args = ["--dir", str(store_dir), "ui", "--host", "127.0.0.1", "--no-browser"]
    log = tmp / "server.log"
    with serving(args, log) as url:
        yield UiServer(url, store_dir, log, runs)


@pytest.fixture(scope="session")
def serve() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """:func:`serving`, for tests that need a server of their own (test modules
    cannot import from this conftest: several share its name)."""
    return serving


@contextlib.contextmanager
def serving(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m ragtrack *args --port PORT`` on a free loopback port, until
    the block ends; its output goes to ``log``. Yields its URL once healthy."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ragtrack", *args, "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, env=env, start_new_session=True)
    try:
        _wait_healthy(process, url, log, timeout=30)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser tests must run in CI: {reason}")
    pytest.skip(f"browser tests need {reason}")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, or a skip (a failure when ``CI`` is set) saying what is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Debian's chromium at {CHROMIUM}: apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package: pip install -e '.[test]'")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_context(
    chromium: str, ui_server: UiServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    """One headless chromium for the session, pointed at the demo server.

    A persistent profile rather than a fresh context: its disk cache keeps V8's
    compiled code of Plotly.js (4.8 MB), which makes every chart page after the
    second load in 0.3 s instead of 1.3 s. The UI keeps nothing in cookies or
    storage that one test could leave for the next.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            base_url=ui_server.url,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()


@dataclass
class PageWatch:
    """What goes on in a page: every problem (the ``page`` fixture fails the test on
    any) and the requests still in flight (:meth:`settle` waits for them).

    A test that provokes an error response on purpose says so first with
    :meth:`expect_status` (e.g. a bad filter answered with 400).
    """

    problems: list[str] = field(default_factory=list)
    expected: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    in_flight: set[Request] = field(default_factory=set)
    page: Page | None = None

    def expect_status(self, status: int, url_pattern: str) -> None:
        """Allow responses with ``status`` whose URL matches the regex ``url_pattern``."""
        self.expected.append((status, re.compile(url_pattern)))

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until no request is in flight (cheaper than Playwright's networkidle,
        which always waits 500 ms more). A page that never settles (one polling a
        running run) is left as it is after ``timeout`` seconds."""
        assert self.page is not None
        deadline = time.monotonic() + timeout
        self.page.wait_for_timeout(50)  # requests a script starts on load or on a timer
        while self.in_flight and time.monotonic() < deadline:
            self.page.wait_for_timeout(25)

    def watch(self, page: Page) -> None:
        self.page = page
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_request_finished)
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_request(self, request: Request) -> None:
        self.in_flight.add(request)

    def _on_request_finished(self, request: Request) -> None:
        self.in_flight.discard(request)

    def _is_expected(self, status: int, url: str) -> bool:
        return any(s == status and p.search(url) for s, p in self.expected)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium reports every 4xx/5xx response as a console error too; an
        # expected one is not a problem (its response already passed the check).
        if "Failed to load resource" in message.text and self._console_status_expected(message):
            return
        self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def _console_status_expected(self, message: ConsoleMessage) -> bool:
        match = re.search(r"status of (\d{3})", message.text)
        url = str(message.location.get("url", ""))
        return match is not None and self._is_expected(int(match.group(1)), url)

    def _on_page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught exception in the page: {error}")

    def _on_request_failed(self, request: Request) -> None:
        self.in_flight.discard(request)
        if request.failure == "net::ERR_ABORTED":
            return  # a navigation cancelled a fetch still in flight: the page moved on
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400 and not self._is_expected(response.status, response.url):
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )


@pytest.fixture
def page_watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(
    browser_context: BrowserContext, ui_server: UiServer, page_watch: PageWatch
) -> Iterator[Page]:
    """A fresh 1280x800 page on the demo server (relative URLs work in goto)."""
    log_size = ui_server.log.stat().st_size
    new_page = browser_context.new_page()
    page_watch.watch(new_page)
    try:
        yield new_page
        page_watch.settle()  # a fetch still running may yet fail: count it
    finally:
        new_page.close()
    if page_watch.problems:
        message = "the page had errors:\n  " + "\n  ".join(page_watch.problems)
        with ui_server.log.open("rb") as log:
            log.seek(log_size)
            server_output = log.read().decode(errors="replace").strip()
        if server_output:
            message += f"\nthe server wrote meanwhile:\n{server_output[-4000:]}"
        pytest.fail(message)
