"""/metrics: request counts by route template, latency, ingested points, pool gauges."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from ragtrack.server import ServerSettings
from ragtrack.server.monitoring import UNMATCHED
from ragtrack.storage.sql import SqlStore

API = "/api/v1"
TOKEN = "t0ken"


@pytest.fixture
def store(sqlite_store: SqlStore) -> Iterator[SqlStore]:
    yield sqlite_store


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_requests_are_counted_by_route_template(api: Any) -> None:
    runs = [api.run() for _ in range(3)]
    for run in runs:
        api.ok("GET", f"{API}/runs/{run['id']}")
        api.ok(
            "POST",
            f"{API}/runs/{run['id']}/metrics",
            {"series": {"loss": {"steps": [0, 1], "values": [1.0, 2.0], "timestamps": [1.0, 2.0]}}},
        )
    api.call("GET", f"{API}/runs/nope")
    api.call("GET", "/no/such/page")
    api.call("PUT", f"{API}/runs/{runs[0]['id']}/artifacts/a/b/c.txt", content=b"x")

    response = api.call("GET", "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    count = 'ragtrack_http_requests_total{method="%s",route="%s",status="%s"}'
    assert samples[count % ("GET", "/api/v1/runs/{run_id}", "200")] == 3
    assert samples[count % ("GET", "/api/v1/runs/{run_id}", "404")] == 1
    assert samples[count % ("POST", "/api/v1/runs", "201")] == 3
    assert samples[count % ("GET", UNMATCHED, "404")] == 1
    assert samples[count % ("PUT", "/api/v1/runs/{run_id}/artifacts/{path:path}", "201")] == 1
    assert not any(run["id"] in name for run in runs for name in samples)  # no raw paths
    histogram = (
        'ragtrack_http_request_duration_seconds_count{method="GET",route="/api/v1/runs/{run_id}"}'
    )
    assert samples[histogram] == 4
    assert samples["ragtrack_ingested_points_total"] == 6
    assert samples["ragtrack_db_pool_size"] >= 1
    assert samples["ragtrack_db_pool_checked_out"] == 0


def test_unauthenticated_requests_are_labelled_by_route(store: SqlStore) -> None:
    from fastapi.testclient import TestClient

    from ragtrack.server import create_app

    app = create_app(store, settings=ServerSettings(auth_token=TOKEN))
    with TestClient(app) as client:
        client.get(f"{API}/runs/abc")
        client.delete(f"{API}/projects")  # no such method
        text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    samples = _samples(text)
    count = 'ragtrack_http_requests_total{method="%s",route="%s",status="%s"}'
    assert samples[count % ("GET", "/api/v1/runs/{run_id}", "401")] == 1
    assert samples[count % ("DELETE", "/api/v1/projects", "401")] == 1


def test_each_app_has_its_own_registry(store: SqlStore) -> None:
    from fastapi.testclient import TestClient

    from ragtrack.server import create_app

    with TestClient(create_app(store)) as one, TestClient(create_app(store)) as two:
        one.get("/healthz")
        assert re.search(r'route="/healthz"', one.get("/metrics").text)
        assert not re.search(r'route="/healthz"', two.get("/metrics").text)
