"""Take the web UI screenshots in docs/screenshots/ from fresh demo data.

Logs ``ragtrack demo``'s runs into a temporary store, serves it with a real
``ragtrack ui --no-browser`` on a free loopback port, and saves a 1280x800 PNG of each
page that docs/ui.md shows, driving Debian's chromium through Playwright (the
same set-up as tests/e2e/browser). Run it again whenever a page changes:

    .venv/bin/python tools/screenshots.py            # -> docs/screenshots/*.png
    .venv/bin/python tools/screenshots.py --out /tmp/shots

The demo data is seeded, so the pictures only change when the pages do (run
ids, dates and durations differ from one run of the script to the next).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ragtrack
from ragtrack.demo import log_demo_runs

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
PROJECT = "rag-demo"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@dataclass(frozen=True)
class Shot:
    """One screenshot: the file name, the page URL (relative) and what to wait for."""

    name: str
    url: str
    wait_for: str | None = None  # a CSS selector that appears once the page has drawn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(store_dir: Path) -> Iterator[str]:
    """``ragtrack ui`` over ``store_dir``; yields its URL once /healthz answers."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ragtrack", "--dir", str(store_dir), "ui"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-browser"]
    log = (store_dir / "server.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                log.close()
                output = (store_dir / "server.log").read_text(errors="replace")
                raise SystemExit(f"ragtrack ui exited with {process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"ragtrack ui at {url} did not start in 30 s") from None
                time.sleep(0.05)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        log.close()


def shots(store_dir: Path) -> list[Shot]:
    """The pages to photograph, with the demo's two best chunking runs compared."""
    api = ragtrack.Api(store_dir)
    try:
        ranked = api.runs(
            PROJECT, filter='experiment = "chunking"', order_by="-metrics.recall@10", limit=2
        )
        best, second = (r.id for r in ranked)
    finally:
        api.close()
    plot = ".js-plotly-plot .main-svg"
    runs = f"/projects/{PROJECT}/runs?experiment=chunking"
    # The columns that tell the demo's story, so that they fit in 1280 px.
    columns = "metrics.recall@10,metrics.ndcg@10,metrics.faithfulness,metrics.latency_ms,"
    columns += "params.chunker.size,params.retriever.embedding_model,params.retriever.top_k"
    compare = f"/compare?runs={best},{second}&metric=recall@10"
    return [
        Shot("projects", "/"),
        Shot("project", f"/projects/{PROJECT}"),
        Shot("runs-table", f"{runs}&sort=-metrics.recall@10&columns={columns}"),
        Shot("runs-grouped", f"{runs}&group_by=chunker.size&columns={columns}"),
        Shot("run-overview", f"/runs/{best}"),
        Shot("run-charts", f"/runs/{best}#charts", plot),
        Shot("compare", compare),
        # Charts below the fold load when scrolled into view: jump to them.
        Shot("compare-curves", f"{compare}#curves", f"#curves {plot}"),
        Shot(
            "importance",
            f"/projects/{PROJECT}/importance?experiment=chunking&metric=recall@10",
            plot,
        ),
    ]


def take(url: str, planned: list[Shot], out: Path) -> list[Path]:
    """Save one PNG per shot into ``out``; return the files written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            for shot in planned:
                page.goto(shot.url)
                page.wait_for_load_state("networkidle")
                if shot.wait_for:
                    page.wait_for_selector(shot.wait_for)
                page.wait_for_timeout(300)  # Plotly's transitions settle
                path = out / f"{shot.name}.png"
                page.screenshot(path=str(path))
                written.append(path)
                if errors:
                    print(f"warning: {shot.url}: {'; '.join(errors)}", file=sys.stderr)
                    errors.clear()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for the PNGs")
    args = parser.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"needs Debian's chromium at {CHROMIUM}: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="ragtrack-shots-") as tmp:
        store_dir = Path(tmp)
        log_demo_runs(store_dir, n_runs=12)
        with serve(store_dir) as url:
            for path in take(url, shots(store_dir), args.out):
                print(path)


if __name__ == "__main__":
    main()
