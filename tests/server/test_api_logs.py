"""Console logs over HTTP."""

from __future__ import annotations

from typing import Any

API = "/api/v1"


def test_append_and_read_logs(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/logs"
    assert api.ok("POST", path, {"stream": "stdout", "text": "step 1\n"}) is None
    api.ok("POST", path, {"stream": "stderr", "text": "warn ✓\n", "batch_id": "b1"})
    api.ok("POST", path, {"stream": "stderr", "text": "warn ✓\n", "batch_id": "b1"})  # a retry
    api.ok("POST", path, {"stream": "stdout", "text": "step 2\n"})
    assert api.ok("GET", path) == {"text": "step 1\nwarn ✓\nstep 2\n"}
    assert api.ok("GET", path, params={"stream": "stderr"}) == {"text": "warn ✓\n"}
    assert api.ok("GET", path, params={"offset": 12}) == {"text": "✓\nstep 2\n"}
    assert api.ok("GET", path, params={"offset": 3, "stream": "stdout"}) == {
        "text": "p 1\nstep 2\n"
    }
    for bad in ("-1", "x"):
        api.error("GET", path, params={"offset": bad}, status=400, code="INVALID_ARGUMENT")


def test_log_errors(api: Any) -> None:
    run = api.run()
    path = f"{API}/runs/{run['id']}/logs"
    api.error(
        "POST",
        path,
        {"stream": "stdin", "text": "x"},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.stream",
    )
    api.error(
        "POST", path, {"stream": "stdout"}, status=400, code="INVALID_ARGUMENT", field="body.text"
    )
    api.error(
        "POST",
        path,
        {"stream": "stdout", "text": "x", "batch_id": "b" * 65},
        status=400,
        code="INVALID_ARGUMENT",
        field="body.batch_id",
    )
    api.error(
        "GET",
        path,
        params={"stream": "both"},
        status=400,
        code="INVALID_ARGUMENT",
        field="query.stream",
    )
