"""``/api/v1/runs``: create, search, read, change, finish and delete runs, and
their params, summary and metadata."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.requests import Request
from starlette.responses import Response

from ragtrack.server.api._common import MetricsDep, StoreDep, router, wire
from ragtrack.server.api.pagination import Page
from ragtrack.server.api.schemas import (
    ConfigOut,
    ConfigPatch,
    CountOut,
    Heartbeat,
    MetadataOut,
    MetadataPatch,
    RunCreate,
    RunFinish,
    RunIdOut,
    RunOut,
    RunPage,
    RunPatch,
    SummaryPatch,
)
from ragtrack.storage.artifacts import ArtifactStore
from ragtrack.storage.rest import _wire

runs_router = router("runs")

ProjectQuery = Annotated[str | None, Query(description="Only runs of this project.")]
FilterQuery = Annotated[
    str | None, Query(description="A filter expression (docs/filter.md), e.g. metrics.loss < 0.5")
]
OrderQuery = Annotated[
    str | None,
    Query(description="Comma-separated fields, '-' for descending, e.g. -metrics.recall@10"),
]


@runs_router.post("/runs", status_code=201, response_model=RunOut)
def create_run(body: RunCreate, store: StoreDep) -> Response:
    """Create a run (and its project and experiment on first use); an existing
    ``run_id`` gives 409 ALREADY_EXISTS."""
    run = store.create_run(
        project=body.project,
        experiment=body.experiment,
        name=body.name,
        run_id=body.run_id,
        config=body.config,
        tags=body.tags,
        notes=body.notes,
        status=body.status,
        created_at=body.created_at,
        metadata=body.metadata,
    )
    return wire(_wire.run_to_json(run), 201)


@runs_router.get("/runs", response_model=RunPage)
def search_runs(
    store: StoreDep,
    page: Page,
    project: ProjectQuery = None,
    filter: FilterQuery = None,
    order_by: OrderQuery = None,
) -> Response:
    """Runs matching a filter, newest first unless ``order_by`` says otherwise;
    a filter that does not parse gives 400 INVALID_FILTER (field ``filter``).
    On the first page, ``warnings`` names each key in the filter that no run
    has, with the nearest known keys (a typo matches nothing, silently)."""
    runs = store.search_runs(project, filter, order_by, limit=page.limit + 1, offset=page.offset)
    warnings = store.filter_warnings(project, filter) if page.offset == 0 else []
    return wire(
        {
            "runs": [_wire.run_to_json(r) for r in runs[: page.limit]],
            "next_cursor": page.next_cursor(len(runs) > page.limit),
            "warnings": [w.to_json() for w in warnings],
        }
    )


@runs_router.get("/run-count", response_model=CountOut)
def count_runs(
    store: StoreDep, project: ProjectQuery = None, filter: FilterQuery = None
) -> Response:
    """How many runs match the filter. (Not under ``/runs/``, where it would
    hide a run whose id is ``count``.)"""
    return wire({"count": store.count_runs(project, filter)})


@runs_router.get("/run-ids/{prefix}", response_model=RunIdOut)
def resolve_run_id(prefix: str, store: StoreDep) -> Response:
    """The full id of the one run whose id is or starts with ``prefix`` (4+
    characters); 400 AMBIGUOUS_ID when several match, 404 when none does."""
    return wire({"id": store.resolve_run_id(prefix)})


@runs_router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, store: StoreDep) -> Response:
    """One run: status, times, config, tags, metric summaries."""
    return wire(_wire.run_to_json(store.get_run(run_id)))


@runs_router.patch("/runs/{run_id}", response_model=RunOut)
def update_run(run_id: str, body: RunPatch, store: StoreDep) -> Response:
    """Change status, name, notes, end time or error, and add or remove tags:
    all or nothing (a bad value anywhere changes nothing)."""
    store.edit_run(
        run_id,
        status=body.status,
        name=body.name,
        notes=body.notes,
        ended_at=body.ended_at,
        error=body.error,
        add_tags=body.tags_add,
        remove_tags=body.tags_remove,
    )
    return wire(_wire.run_to_json(store.get_run(run_id)))


@runs_router.delete("/runs/{run_id}", status_code=204, response_class=Response)
def delete_run(run_id: str, request: Request, store: StoreDep) -> Response:
    """Delete a run, everything logged to it and its artifacts."""
    artifacts: ArtifactStore | None = request.app.state.artifacts
    if artifacts is not None:
        store.get_run(run_id)  # 404 before touching artifacts
        artifacts.delete_run(run_id)
    store.delete_run(run_id)
    return Response(status_code=204)


@runs_router.post("/runs/{run_id}/finish", status_code=204, response_class=Response)
def finish_run(run_id: str, body: RunFinish, store: StoreDep, metrics: MetricsDep) -> Response:
    """End a run: a last metric batch, explicit summary values, then the status."""
    batch, batch_id = None, None
    if body.batch is not None:
        batch, batch_id = _wire.batch_from_json(body.batch.model_dump(), "batch")
    store.finish_run(
        run_id,
        status=body.status,
        error=body.error,
        batch=batch,
        batch_id=batch_id,
        summary=body.summary,
    )
    if batch:
        metrics.ingested_points.inc(sum(len(s) for s in batch.values()))
    return Response(status_code=204)


@runs_router.post("/runs/{run_id}/heartbeat", status_code=204, response_class=Response)
def heartbeat(run_id: str, store: StoreDep, body: Heartbeat | None = None) -> Response:
    """Record that the run's process is alive (``at`` defaults to now)."""
    store.heartbeat(run_id, body.at if body is not None else None)
    return Response(status_code=204)


@runs_router.get("/runs/{run_id}/params", response_model=ConfigOut)
def get_params(run_id: str, store: StoreDep) -> Response:
    """The run's nested config."""
    return wire({"config": dict(store.get_run(run_id).config)})


@runs_router.patch("/runs/{run_id}/params", status_code=204, response_class=Response)
def log_params(run_id: str, body: ConfigPatch, store: StoreDep) -> Response:
    """Deep-merge values into the run's config (later values win)."""
    store.log_params(run_id, body.config)
    return Response(status_code=204)


@runs_router.patch("/runs/{run_id}/summary", status_code=204, response_class=Response)
def set_summary(run_id: str, body: SummaryPatch, store: StoreDep) -> Response:
    """Set explicit summary values (they win over a metric's last value)."""
    store.set_summary(run_id, body.values)
    return Response(status_code=204)


@runs_router.get("/runs/{run_id}/metadata", response_model=MetadataOut)
def get_metadata(run_id: str, store: StoreDep) -> Response:
    """The run's system metadata (git, environment, hardware, ...)."""
    return wire({"metadata": store.get_metadata(run_id)})


@runs_router.patch("/runs/{run_id}/metadata", status_code=204, response_class=Response)
def set_metadata(run_id: str, body: MetadataPatch, store: StoreDep) -> Response:
    """Shallow-merge system metadata."""
    store.set_metadata(run_id, body.metadata)
    return Response(status_code=204)
