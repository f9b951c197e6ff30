"""``ragtrack ui``: in process with uvicorn's Server.run replaced (what it binds,
prints and opens), and once as a real process serving the demo store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import ragtrack
from ragtrack.cli import cli
from ragtrack.demo import log_demo_runs

ROOT = str(Path(ragtrack.__file__).resolve().parent.parent)


class FakeServing:
    """What the replaced ``uvicorn.Server.run`` saw, and what the browser was asked."""

    def __init__(self) -> None:
        self.server: Any = None
        self.served: list[tuple[Any, int]] = []  # (app, port)
        self.opened: list[tuple[str, bool]] = []  # (url, server started at that moment)
        self.browser_answer = True


@pytest.fixture
def serving(monkeypatch: pytest.MonkeyPatch) -> FakeServing:
    import uvicorn

    fake = FakeServing()

    def run(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        assert sockets is not None and len(sockets) == 1
        app: Any = server.config.app
        fake.server = server
        fake.served.append((app, sockets[0].getsockname()[1]))
        server.started = True
        for thread in threading.enumerate():  # the opener runs while the server is up
            if thread.name == "ragtrack-ui-browser":
                thread.join(5)
        app.state.store.close()  # what the app's shutdown would do

    def open_browser(url: str, *args: Any, **kwargs: Any) -> bool:
        fake.opened.append((url, fake.server is not None and fake.server.started))
        return fake.browser_answer

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setattr("webbrowser.open", open_browser)
    for name in ("RAGTRACK_URI", "RAGTRACK_DIR", "RAGTRACK_ARTIFACTS", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    return fake


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_help_lists_the_options() -> None:
    result = invoke("ui", "--help")
    assert result.exit_code == 0
    for option in ("--host", "--port", "--no-browser"):
        assert option in result.output


def test_serves_the_store_and_opens_the_browser_once_listening(
    tmp_path: Path, serving: FakeServing
) -> None:
    log_demo_runs(tmp_path, n_runs=3)
    port = free_port()
    result = invoke("--dir", str(tmp_path), "ui", "--port", str(port))
    assert result.exit_code == 0, result.output
    url = f"http://127.0.0.1:{port}/"
    assert result.output.splitlines()[0] == f"ragtrack UI: {url}"
    assert f"store: {tmp_path.resolve()}" in result.output
    assert "No runs yet" not in result.output
    ((app, served_port),) = serving.served
    assert served_port == port
    assert app.state.settings.artifacts == str(tmp_path.resolve() / "artifacts")
    assert app.state.settings.auth_token is None
    assert serving.opened == [(url, True)]  # after the server started, not before


def test_no_browser_and_no_browser_available(tmp_path: Path, serving: FakeServing) -> None:
    result = invoke("--dir", str(tmp_path), "ui", "--port", "0", "--no-browser")
    assert result.exit_code == 0, result.output
    assert serving.opened == []
    (_, port), *_ = serving.served
    assert f"ragtrack UI: http://127.0.0.1:{port}/" in result.output  # --port 0: the real port

    serving.browser_answer = False
    result = invoke("--dir", str(tmp_path), "ui", "--port", "0")
    assert result.exit_code == 0, result.output
    assert "Could not open a browser: open http://127.0.0.1:" in result.output


def test_without_a_display_it_says_where_to_point_a_browser(
    tmp_path: Path, serving: FakeServing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    result = invoke("--dir", str(tmp_path), "ui", "--port", "0")
    assert result.exit_code == 0, result.output
    assert "No display to open a browser on" in result.output and "ssh -L" in result.output
    assert serving.opened == []


def test_a_port_in_use_is_one_line(tmp_path: Path, serving: FakeServing) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("--dir", str(tmp_path / "store"), "ui", "--port", str(port))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: port {port} on 127.0.0.1 is already in use (another ragtrack ui or server?): "
        f"choose another with --port, e.g. --port {port + 1}\n"
    )
    assert not (tmp_path / "store").exists()  # nothing created for a UI that never started
    assert serving.served == []


def test_a_missing_store_is_created_and_says_how_to_log_runs(
    tmp_path: Path, serving: FakeServing
) -> None:
    # As `ragtrack server` and ragtrack.init do: the UI then shows runs as they come.
    store = tmp_path / "new"
    result = invoke("--dir", str(store), "ui", "--port", "0", "--no-browser")
    assert result.exit_code == 0, result.output
    assert (store / "ragtrack.db").exists()
    assert "No runs yet (a new, empty store): log one with ragtrack.init" in result.output
    assert "`ragtrack demo`" in result.output
    again = invoke("--dir", str(store), "ui", "--port", "0", "--no-browser")
    assert "No runs yet: log one" in again.output  # existing but empty


def test_errors(tmp_path: Path, serving: FakeServing, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = invoke("ui", env={"RAGTRACK_URI": "http://tracking:8650"})
    assert remote.exit_code == 2 and "serves the UI itself: open http://tracking:8650/" in (
        remote.output
    )
    bad_host = invoke("--dir", str(tmp_path), "ui", "--host", "no-such-host.invalid")
    assert bad_host.exit_code == 1 and "cannot listen on --host 'no-such-host.invalid'" in (
        bad_host.output
    )
    assert invoke("ui", "--port", "70000").exit_code == 2
    assert serving.served == []

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn fails
    missing = invoke("--dir", str(tmp_path), "ui")
    assert missing.exit_code == 1
    assert missing.output == (
        "Error: ragtrack ui needs 'uvicorn', which is not installed: "
        "pip install 'ragtrack[server]'\n"
    )


def test_warns_when_open_to_the_network(tmp_path: Path, serving: FakeServing) -> None:
    result = invoke("--dir", str(tmp_path), "ui", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 0, result.output
    assert "ragtrack UI: http://127.0.0.1:" in result.output  # the URL a local browser opens
    assert "Warning: listening on 0.0.0.0" in result.output


@pytest.mark.slow
def test_serves_the_demo_store_as_a_real_process(tmp_path: Path) -> None:
    log_demo_runs(tmp_path / "store", n_runs=3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    command = ["--dir", str(tmp_path / "store"), "ui", "--no-browser", "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragtrack", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # printed once the port is bound
        assert first.startswith("ragtrack UI: http://127.0.0.1:"), first + proc.stderr.read()
        url = first.removeprefix("ragtrack UI: ").strip()
        home = _get_when_up(url, proc)
        assert "rag-demo" in home
        from ragtrack.server.ui.views import runs_table

        if runs_table.router.routes:  # the runs table page exists
            assert "<table" in _get(f"{url}projects/rag-demo/runs")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        body: str = response.read().decode()
        return body


def _get_when_up(url: str, proc: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            return _get(url)
        except OSError:  # URLError and refused connections while uvicorn starts
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
