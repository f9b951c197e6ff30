"""``/api/v1/runs/{run_id}/metrics``: metric batches in, keys and histories out."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from starlette.responses import Response

from ragtrack.analysis import downsample_series
from ragtrack.server.api._common import MetricsDep, StoreDep, router, wire
from ragtrack.server.api.pagination import Page
from ragtrack.server.api.schemas import HistoryOut, KeysOut, MetricBatch, PointsOut
from ragtrack.storage.rest import _wire

metrics_router = router("metrics")


@metrics_router.post("/runs/{run_id}/metrics", response_model=PointsOut)
def log_metrics(run_id: str, body: MetricBatch, store: StoreDep, metrics: MetricsDep) -> Response:
    """Append points to the run's series; a ``batch_id`` the run has seen is a no-op,
    so a client may resend a batch it is unsure about."""
    batch, batch_id = _wire.batch_from_json(body.model_dump())
    store.log_metrics(run_id, batch, batch_id)
    points = sum(len(s) for s in batch.values())
    metrics.ingested_points.inc(points)
    return wire({"points": points})


@metrics_router.get("/runs/{run_id}/metrics", response_model=KeysOut)
def list_metric_keys(run_id: str, store: StoreDep, page: Page) -> Response:
    """Keys of every series logged to the run, sorted."""
    keys, next_cursor = page.slice(store.list_metric_keys(run_id))
    return wire({"keys": keys, "next_cursor": next_cursor})


@metrics_router.get("/runs/{run_id}/metrics/history", response_model=HistoryOut)
def get_history(
    run_id: str,
    key: Annotated[str, Query(description="The metric key (may contain '/').")],
    store: StoreDep,
    max_points: Annotated[
        int | None,
        Query(
            ge=2,
            description="Downsample (LTTB over step, value) to at most this many points, "
            "keeping the first and last.",
        ),
    ] = None,
    encoding: Annotated[
        Literal["json", "base64"], Query(description="How the arrays are written.")
    ] = "json",
) -> Response:
    """Every point of one series by step (an unknown key has none), or a
    downsampled view of it for charts."""
    series = store.get_history(run_id, key)
    total = len(series)
    if max_points is not None:
        series = downsample_series(series, max_points)
    return wire(
        {
            "key": key,
            "total_points": total,
            "downsampled": len(series) < total,
            **_wire.series_to_json(series, encoding),
        }
    )
