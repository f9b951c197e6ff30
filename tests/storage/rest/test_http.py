"""The REST store's transport against a scripted stdlib HTTP server: what each
kind of answer (or silence) becomes on the client."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
from live_server import serve_handler

from ragtrack.exceptions import (
    AmbiguousIdError,
    AuthenticationError,
    InvalidFilterError,
    PayloadTooLargeError,
    RagtrackError,
    RunNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from ragtrack.storage.rest import RestStore
from ragtrack.storage.rest._http import HttpTransport, quote, rebuild_error

Answer = tuple[int, str, bytes]  # status, content type, body


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """What the stub answers: ``answer(seen)`` per request; requests are kept."""

    answer: Callable[[Seen], Answer] = lambda seen: (200, "application/json", b"{}")
    seen: list[Seen] = field(default_factory=list)


def _json(status: int, body: object) -> Answer:
    return status, "application/json", json.dumps(body).encode()


def _error(status: int, code: str, message: str, field: str | None = None) -> Answer:
    return _json(status, {"error": {"code": code, "message": message, "field": field}})


@pytest.fixture
def stub() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
            script.seen.append(seen)
            status, content_type, body = script.answer(seen)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_handler(Handler) as url:
        yield url, script


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_requests_carry_prefix_token_quoting_and_json(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.answer = lambda seen: _json(200, {"ok": True, "nan": float("nan")})
    transport = HttpTransport(url + "/tracking/", token="s3cret")
    got = transport.request(
        "POST",
        f"/api/v1/projects/{quote('ü/ x')}",
        query={"a": "b&c", "skip": None},
        body={"v": float("inf")},
    )
    assert got["ok"] is True and got["nan"] != got["nan"]
    (seen,) = script.seen
    assert seen.path == "/tracking/api/v1/projects/%C3%BC%2F%20x?a=b%26c"
    assert seen.headers["Authorization"] == "Bearer s3cret"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.body == b'{"v":Infinity}'


def test_connections_are_kept_alive(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.answer = lambda seen: _json(200, {})
    transport = HttpTransport(url)
    for _ in range(5):
        transport.request("GET", "/x")
    assert transport._pool.connection_from_url(url).num_connections == 1


def test_no_content_is_none(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.answer = lambda seen: (204, "application/json", b"")
    assert HttpTransport(url).request("POST", "/x", body={}) is None


@pytest.mark.parametrize(
    ("answer", "cls", "words"),
    [
        (_error(404, "RUN_NOT_FOUND", "no run with id 'x'", "run_id"), RunNotFoundError, "no run"),
        (_error(400, "AMBIGUOUS_ID", "'abcd' matches 2 runs"), AmbiguousIdError, "matches"),
        (_error(401, "UNAUTHENTICATED", "missing token"), AuthenticationError, "missing token"),
        ((401, "text/html", b"<html>no</html>"), AuthenticationError, "ragtrack server"),
        ((413, "text/html", b"too big"), PayloadTooLargeError, "HTTP 413"),
        ((404, "text/html", b"nginx"), StoreError, "HTTP 404"),
        ((200, "text/html", b"<html>login</html>"), StoreError, "not JSON"),
    ],
)
def test_answers_become_the_error_the_server_raised(
    stub: tuple[str, Script], answer: Answer, cls: type[Exception], words: str
) -> None:
    url, script = stub
    script.answer = lambda seen: answer
    with pytest.raises(cls, match=words) as info:
        HttpTransport(url).request("POST", "/x", body={})
    assert not isinstance(info.value, StoreUnavailableError)
    assert len(script.seen) == 1


def test_an_error_keeps_its_field(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.answer = lambda seen: _error(404, "RUN_NOT_FOUND", "no run with id 'x'", "run_id")
    with pytest.raises(RunNotFoundError) as info:
        HttpTransport(url).request("GET", "/x")
    assert (info.value.message, info.value.field) == ("no run with id 'x'", "run_id")


def test_filter_errors_keep_their_position() -> None:
    original = InvalidFilterError("expected a value", "params.lr < ", 12)
    error = rebuild_error(original.code, original.message, original.field)
    assert isinstance(error, InvalidFilterError)
    assert (error.message, error.field) == (original.message, "filter")
    assert (error.reason, error.text, error.position) == ("expected a value", "params.lr < ", 12)


def test_unknown_codes_keep_the_code() -> None:
    error = rebuild_error("QUOTA_EXCEEDED", "too many runs", None)
    assert type(error) is RagtrackError and error.code == "QUOTA_EXCEEDED"


@pytest.mark.parametrize(
    "answer",
    [
        (502, "text/html", b"<html>Bad Gateway</html>"),
        (503, "application/json", b'{"error": {"code": "STORE_ERROR", "message": "db down"}}'),
        (500, "text/html", b"<html>Internal Server Error</html>"),
        (504, "application/json", b'{"error": {"code": "INTERNAL_ERROR", "message": "slow"}}'),
        (429, "text/plain", b"slow down"),
        (408, "application/json", b'{"error": {"code": "REQUEST_TIMEOUT", "message": "slow"}}'),
    ],
)
def test_reads_are_retried_then_unavailable(
    stub: tuple[str, Script], answer: Answer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ragtrack.storage.rest._http.RETRY_DELAYS", (0.0, 0.0, 0.0))
    url, script = stub
    script.answer = lambda seen: answer
    with pytest.raises(StoreUnavailableError, match=f"HTTP {answer[0]}") as info:
        HttpTransport(url, token="s3cret").request("GET", "/api/v1/runs/x")
    assert url in info.value.message and "s3cret" not in info.value.message
    assert len(script.seen) == 4


def test_a_500_with_an_error_body_is_the_servers_answer_not_an_outage(
    stub: tuple[str, Script],
) -> None:
    # Retrying a request the server fails on (a NUL it could not store) would
    # fail the same way for ever, and stall every write queued behind it.
    url, script = stub
    body = b'{"error": {"code": "INTERNAL_ERROR", "message": "internal server error (DataError)"}}'
    script.answer = lambda seen: (500, "application/json", body)
    transport = HttpTransport(url)
    for method in ("GET", "POST"):
        with pytest.raises(RagtrackError, match="DataError") as info:
            transport.request(method, "/api/v1/runs/x/logs")
        assert not isinstance(info.value, StoreError) and info.value.code == "INTERNAL_ERROR"
    assert len(script.seen) == 2  # not retried


def test_writes_are_not_retried(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.answer = lambda seen: (503, "text/plain", b"")
    for method in ("POST", "PATCH"):
        with pytest.raises(StoreUnavailableError):
            HttpTransport(url).request(method, "/x", body={})
    assert len(script.seen) == 2


def test_a_read_that_fails_once_succeeds(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.answer = lambda seen: (
        (502, "text/plain", b"") if len(script.seen) == 1 else _json(200, {"n": 1})
    )
    assert HttpTransport(url).request("GET", "/x") == {"n": 1}
    assert len(script.seen) == 2


def test_server_down_is_unavailable_quickly() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    store = RestStore(url, token="s3cret")
    started = time.perf_counter()
    with pytest.raises(StoreUnavailableError, match="unavailable") as info:
        store.get_run("abc")
    assert time.perf_counter() - started < 3
    assert url in info.value.message and "s3cret" not in info.value.message
    with pytest.raises(StoreUnavailableError, match="refused"):
        store.create_run(project="p")


def test_read_timeout_is_unavailable_and_not_retried(stub: tuple[str, Script]) -> None:
    url, script = stub

    def slow(seen: Seen) -> Answer:
        time.sleep(0.5)
        return _json(200, {})

    script.answer = slow
    with pytest.raises(StoreUnavailableError, match=r"no answer within 0\.2 s"):
        HttpTransport(url, read_timeout=0.2).request("GET", "/x")
    assert len(script.seen) == 1


def test_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGTRACK_HTTP_TIMEOUT", "2.5")
    assert HttpTransport("http://h").read_timeout == 2.5
    monkeypatch.setenv("RAGTRACK_HTTP_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="RAGTRACK_HTTP_TIMEOUT"):
        HttpTransport("http://h")


@pytest.mark.parametrize("bad", ["ftp://h", "http://", "http://h/?q=1", "http://h/#x"])
def test_bad_server_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="server URL"):
        HttpTransport(bad)


def test_release_reconnects(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.answer = lambda seen: _json(200, {"status": "ok"})
    store = RestStore(url)
    assert store.health() == {"status": "ok"}
    store.release()
    assert store.health() == {"status": "ok"}
    assert [s.path for s in script.seen] == ["/healthz", "/healthz"]


def test_listings_follow_cursors_and_map_offsets(stub: tuple[str, Script]) -> None:
    from urllib.parse import parse_qs, urlsplit

    from ragtrack.storage.rest import _wire

    url, script = stub
    total = 2500

    def runs(seen: Seen) -> Answer:
        query = {k: v[0] for k, v in parse_qs(urlsplit(seen.path).query).items()}
        start = _wire.decode_cursor(query.get("cursor"))
        end = min(total, start + int(query["limit"]))
        page = [{"id": f"r{i}"} for i in range(start, end)]
        cursor = _wire.encode_cursor(end) if end < total else None
        return _json(200, {"runs": page, "next_cursor": cursor})

    script.answer = runs
    store = RestStore(url)
    store_pages = store._pages("/api/v1/runs", "runs", {}, limit=None, offset=10)
    assert [r["id"] for r in store_pages] == [f"r{i}" for i in range(10, total)]
    assert len(script.seen) == 3
    script.seen.clear()
    two = store._pages("/api/v1/runs", "runs", {}, limit=1500, offset=5)
    assert [r["id"] for r in two] == [f"r{i}" for i in range(5, 1505)]
    assert ["limit=1000" in s.path for s in script.seen] == [True, False]
    assert "limit=500" in script.seen[1].path


@pytest.mark.parametrize("batch_id", [None, "b-1"])
def test_batch_bodies_match_the_wire_format(batch_id: str | None) -> None:
    import numpy as np

    from ragtrack.entities import MetricSeries
    from ragtrack.storage.rest import _wire
    from ragtrack.storage.rest._store import batch_body

    batch = {
        'a "quoted"/ключ': MetricSeries.from_lists([0, 5], [float("nan"), -0.0], [1.7e9, 2e9]),
        "empty": MetricSeries.from_lists([], [], []),
        "big": MetricSeries(np.arange(10_000), np.linspace(0, 1, 10_000), np.full(10_000, 1.7e9)),
    }
    body = batch_body(batch, batch_id)
    assert _wire.loads(body) == _wire.loads(_wire.dumps(_wire.batch_to_json(batch, batch_id)))
    series, got_id = _wire.batch_from_json(_wire.loads(body))
    assert got_id == batch_id and series == batch
