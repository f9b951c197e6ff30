"""The REST API under ``/api/v1``: one router module per resource, each endpoint
one call to the store (``docs/server.md`` lists them; ``/docs`` shows them live)."""

from __future__ import annotations

from fastapi import APIRouter

from ragtrack.server.api._common import API_PREFIX
from ragtrack.server.api.artifacts import artifacts_router
from ragtrack.server.api.experiments import experiments_router
from ragtrack.server.api.logs import logs_router
from ragtrack.server.api.metrics import metrics_router
from ragtrack.server.api.projects import projects_router
from ragtrack.server.api.runs import runs_router

#: Every API router; their routes carry the :data:`API_PREFIX` themselves.
API_ROUTERS: tuple[APIRouter, ...] = (
    projects_router,
    experiments_router,
    runs_router,
    metrics_router,
    logs_router,
    artifacts_router,
)

__all__ = ["API_PREFIX", "API_ROUTERS"]
