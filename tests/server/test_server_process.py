"""``ragtrack server`` as a real process: it starts, serves, stops, and refuses a
database it must not migrate."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import ragtrack

pytestmark = pytest.mark.slow

ROOT = str(Path(ragtrack.__file__).resolve().parent.parent)
TOKEN = "e2e-token-5b1f0c"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return {**env, **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _request(url: str, method: str = "GET", body: Any = None, token: str | None = TOKEN) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


@contextmanager
def server(*args: str, **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragtrack", "server", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_env(**env),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"the server exited with {proc.returncode}:\n{out}\n{err}")
            try:
                if _request(f"{url}/healthz", token=None)["status"] == "ok":
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_serves_a_store_directory(tmp_path: Path) -> None:
    with server("--store", str(tmp_path / "store"), RAGTRACK_SERVER_TOKEN=TOKEN) as (url, proc):
        health = _request(f"{url}/healthz", token=None)
        assert health["version"] == ragtrack.__version__ and health["schema"]
        run = _request(f"{url}/api/v1/runs", "POST", {"project": "e2e", "config": {"a": 1}})
        assert _request(f"{url}/api/v1/runs/{run['id']}")["config"] == {"a": 1}
        with pytest.raises(urllib.error.HTTPError) as refused:
            _request(f"{url}/api/v1/projects", token=None)
        assert refused.value.code == 401
        assert json.loads(refused.value.read())["error"]["code"] == "UNAUTHENTICATED"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"on {url}" in out and f"{url}/docs" in out
    assert '"POST /api/v1/runs HTTP/1.1" 201' in out  # uvicorn's access log
    assert TOKEN not in out + err
    # What the server wrote is in the store directory, artifacts beside it.
    assert ragtrack.Api(dir=tmp_path / "store").run(run["id"]).config == {"a": 1}


def test_several_workers_share_the_store_and_the_metrics(tmp_path: Path) -> None:
    with server("--store", str(tmp_path / "store"), "--workers", "2") as (url, _):
        for i in range(6):
            _request(f"{url}/api/v1/runs", "POST", {"project": "e2e", "name": f"r{i}"}, token=None)
        assert len(_request(f"{url}/api/v1/runs", token=None)["runs"]) == 6
        request = urllib.request.Request(f"{url}/metrics")
        with urllib.request.urlopen(request, timeout=30) as response:
            metrics = response.read().decode()
    line = 'ragtrack_http_requests_total{method="POST",route="/api/v1/runs",status="201"} 6.0'
    assert line in metrics  # summed over both workers


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragtrack", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=_env(**env),
        timeout=120,
    )


def test_refuses_an_unmigrated_postgresql_database(tmp_path: Path, postgres_databases: Any) -> None:
    url = postgres_databases.create()  # empty: no schema at all
    result = _run("server", "--store", url, "--artifacts", str(tmp_path), "--port", "0")
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert f"ragtrack db upgrade --uri {url}" in result.stderr
    assert "Traceback" not in result.stderr


def _stalled(
    url: str, request_line: str, content_type: str, part: bytes, length: int = 100_000
) -> socket.socket:
    """A raw connection that sends a request's headers and the start of a
    ``length``-byte body, then nothing."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"{request_line} HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: {url}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    )
    sock.sendall(head.encode() + part)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _assert_only_a_complete_upload_is_stored(url: str, run_id: str, store: Path) -> None:
    """No stalled upload left anything, and a complete one still gets through."""
    assert _request(f"{url}/api/v1/runs/{run_id}/artifacts", token=None)["artifacts"] == []
    request = urllib.request.Request(
        f"{url}/api/v1/runs/{run_id}/artifacts/ok.bin", data=b"y" * 1000, method="PUT"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["size"] == 1000
    assert [p.name for p in (store / "artifacts").rglob("*") if p.is_file()] == ["ok.bin"]


def test_stalled_uploads_time_out_without_starving_other_requests(tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ("--store", str(store), "--body-timeout", "3", "--max-uploads", "64")
    with server(*args) as (url, _):
        run = _request(f"{url}/api/v1/runs", "POST", {"project": "e2e"}, token=None)
        octets, form = "application/octet-stream", "application/x-www-form-urlencoded"
        stalled = [
            *(
                _stalled(url, f"PUT /api/v1/runs/{run['id']}/artifacts/part{i}.bin", octets, b"x")
                for i in range(55)
            ),
            # JSON bodies and the sign-in form hold no thread, but a connection each.
            *(_stalled(url, "POST /api/v1/runs", "application/json", b'{"pr') for _ in range(5)),
            _stalled(url, "POST /login", form, b"token=", length=1000),
        ]
        try:
            time.sleep(0.5)  # every upload is in the server, waiting for its body
            # The server still answers everyone else (before: every worker thread
            # waited for an upload's body, and these hung).
            assert _request(f"{url}/healthz", token=None)["status"] == "ok"
            assert _request(f"{url}/api/v1/runs/{run['id']}", token=None)["id"] == run["id"]
            answers = [_answer(sock) for sock in stalled]
        finally:
            for sock in stalled:
                sock.close()
        # Each stalled request got a 408 in the JSON error shape and was closed.
        for answer in answers:
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
            assert json.loads(body)["error"]["code"] == "REQUEST_TIMEOUT"
        # Nothing partial was stored, and the store still takes a complete upload.
        _assert_only_a_complete_upload_is_stored(url, run["id"], store)


def test_uploads_beyond_the_default_limit_wait_then_get_503(tmp_path: Path) -> None:
    # The scenario at the default --max-uploads (32): 45 stalled uploads.
    store = tmp_path / "store"
    with server("--store", str(store), "--body-timeout", "2") as (url, _):
        run = _request(f"{url}/api/v1/runs", "POST", {"project": "e2e"}, token=None)
        octets = "application/octet-stream"

        def upload(name: str) -> socket.socket:
            return _stalled(url, f"PUT /api/v1/runs/{run['id']}/artifacts/{name}", octets, b"x")

        holders = [upload(f"held{i}.bin") for i in range(32)]
        time.sleep(0.3)  # the first 32 hold every upload slot
        extras = [upload(f"extra{i}.bin") for i in range(13)]
        try:
            time.sleep(0.3)
            # Everyone else is still served while all 45 are in the server.
            assert _request(f"{url}/healthz", token=None)["status"] == "ok"
            assert _request(f"{url}/api/v1/runs/{run['id']}", token=None)["id"] == run["id"]
            # The holders keep their slots alive (a byte now and then) for longer
            # than the extras may wait for one: the extras get 503, safe to retry.
            until = time.monotonic() + 3.0
            while time.monotonic() < until:
                for sock in holders:
                    sock.sendall(b"x")
                time.sleep(0.5)
            extra_answers = [_answer(sock) for sock in extras]
            # Then the holders stall for good and time out.
            held_answers = [_answer(sock) for sock in holders]
        finally:
            for sock in holders + extras:
                sock.close()
        for answers, status, code in (
            (extra_answers, b"503", "STORE_UNAVAILABLE"),
            (held_answers, b"408", "REQUEST_TIMEOUT"),
        ):
            for answer in answers:
                head, _, body = answer.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
                assert json.loads(body)["error"]["code"] == code
        # Nothing partial was stored, and a freed slot takes a complete upload.
        _assert_only_a_complete_upload_is_stored(url, run["id"], store)


_SKEWED_CLIENT = """
import sys, time
real_time = time.time
time.time = lambda: real_time() + float(sys.argv[1])  # this machine's clock is off
import ragtrack
run = ragtrack.init(project="clock", uri=sys.argv[2], capture=False)
print(run.id, flush=True)
step = 0
while True:
    run.log({"loss": 1.0 / (step + 1)}, step=step)
    step += 1
    time.sleep(0.05)
"""


def _run_status(url: str, run_id: str) -> tuple[str, float]:
    run = _request(f"{url}/api/v1/runs/{run_id}", token=None)
    return run["status"], run["heartbeat_at"]


@pytest.mark.parametrize("skew", [-60.0, 3600.0], ids=["client-behind", "client-ahead"])
def test_heartbeats_are_judged_by_the_servers_clock(tmp_path: Path, skew: float) -> None:
    env = {"RAGTRACK_HEARTBEAT_TIMEOUT": "4"}
    with server("--store", str(tmp_path / "store"), **env) as (url, _):
        client = subprocess.Popen(
            [sys.executable, "-c", _SKEWED_CLIENT, str(skew), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=_env(RAGTRACK_HEARTBEAT_INTERVAL="0.5"),
        )
        try:
            assert client.stdout is not None
            run_id = client.stdout.readline().strip()
            assert run_id, client.communicate(timeout=30)
            # Alive and beating: running, whatever the client's clock says.
            for _ in range(3):
                time.sleep(1.5)
                status, beat = _run_status(url, run_id)
                assert status == "running" and abs(beat - time.time()) < 3, (status, beat)
        finally:
            client.kill()
            client.communicate(timeout=30)
        # Killed: crashed once the server's clock passes the timeout (before, a
        # client an hour ahead left the run "running" for an hour).
        deadline = time.monotonic() + 30
        while _run_status(url, run_id)[0] != "crashed":
            assert time.monotonic() < deadline, _run_status(url, run_id)
            time.sleep(0.5)


def _raw(url: str, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send raw bytes, read the answer: status line, headers, body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        answer = _answer(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status.encode(), headers, body


def test_requests_the_http_parser_refuses_get_the_json_error_shape(tmp_path: Path) -> None:
    with server("--store", str(tmp_path / "store")) as (url, _):
        long_url = b"/api/v1/runs?filter=" + b"a" * 100_000
        status, headers, body = _raw(url, b"GET " + long_url + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 414"), (status, body[:200])
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "URI_TOO_LONG"
        status, headers, body = _raw(url, b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 400"), (status, body[:200])
        error = json.loads(body)["error"]
        assert error["code"] == "INVALID_ARGUMENT" and set(error) == {"code", "message", "field"}
        assert _request(f"{url}/healthz", token=None)["status"] == "ok"  # still serving
