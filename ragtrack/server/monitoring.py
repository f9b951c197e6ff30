"""Prometheus metrics of the server, served at ``/metrics``.

Each app has its own :class:`~prometheus_client.CollectorRegistry` (tests build
many apps in one process). Requests are labelled by method, *route template*
(``/api/v1/runs/{run_id}``, never the raw path, which would give a time series
per run) and status.

With several uvicorn workers, ``ragtrack server`` sets up prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, a fresh temporary directory):
counters and histograms are summed over the workers at scrape time, and the
pool gauges add up the last value each live worker saw.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragtrack.server._backend import pool_status
from ragtrack.storage import Store

#: Env var that switches prometheus_client to multiprocess mode (read at import).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Route label of requests that matched no route (404s).
UNMATCHED = "<unmatched>"


class ServerMetrics:
    """The server's metrics, registered in a registry of their own."""

    def __init__(self, store: Store) -> None:
        self.store = store
        #: The app's routes, for labelling requests that routing never saw.
        self.routes: list[BaseRoute] = []
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ragtrack_http_requests",
            "HTTP requests served, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "ragtrack_http_request_duration_seconds",
            "Time to serve an HTTP request (until the response is sent), by route template.",
            ("method", "route"),
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.ingested_points = Counter(
            "ragtrack_ingested_points",
            "Metric points received in metric batches (a retried batch counts again).",
            registry=self.registry,
        )
        self.pool_checked_out = Gauge(
            "ragtrack_db_pool_checked_out",
            "Database connections in use.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.pool_size = Gauge(
            "ragtrack_db_pool_size",
            "Database connections the pool keeps open.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        self.update_pool()

    def update_pool(self) -> None:
        status = pool_status(self.store)
        if status is not None:
            self.pool_checked_out.set(status[0])
            self.pool_size.set(status[1])

    def exposition(self) -> bytes:
        """The text format of every metric (summed over workers in multiprocess mode)."""
        self.update_pool()
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware timing every HTTP request and counting its status."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception that escapes becomes a 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope, self.metrics.routes)
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - start)


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The path template of the route that serves ``scope`` (``UNMATCHED`` if none).

    Routing records the route in the scope; requests that never reach routing
    (refused by the auth middleware) or match no method are looked up in ``routes``.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    partial = None
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return str(getattr(candidate, "path", UNMATCHED))
        if match == Match.PARTIAL and partial is None:
            partial = str(getattr(candidate, "path", UNMATCHED))
    return partial or UNMATCHED


monitoring_router = APIRouter(include_in_schema=False)


@monitoring_router.get("/metrics")
def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: Prometheus text format (needs the token, if one is set)."""
    metrics: ServerMetrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
