"""What every router shares: the store dependencies, the route class, and the
error responses listed in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request

from ragtrack.exceptions import NotFoundError
from ragtrack.server._requests import WireRoute
from ragtrack.server._responses import WireJSONResponse
from ragtrack.server.api.schemas import ErrorBody
from ragtrack.server.monitoring import ServerMetrics
from ragtrack.storage import Store
from ragtrack.storage.artifacts import ArtifactStore

#: Prefix of every API route. Routers carry it themselves (rather than getting it
#: from include_router) so that every route knows its full path: the metrics label
#: requests by it.
API_PREFIX = "/api/v1"

_ERROR = {"model": ErrorBody}
#: Error statuses any API call may answer (documented once per operation).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_ERROR, "description": "Invalid argument (the error names the field)"},
    401: {**_ERROR, "description": "Missing or invalid token"},
    404: {**_ERROR, "description": "Not found"},
    409: {**_ERROR, "description": "Already exists, or confirmation required"},
    413: {**_ERROR, "description": "Request body too large"},
    503: {**_ERROR, "description": "Store unavailable; safe to retry"},
}


def router(tag: str) -> APIRouter:
    """A router whose routes enforce the body limit and document the errors."""
    return APIRouter(
        prefix=API_PREFIX, route_class=WireRoute, tags=[tag], responses=ERROR_RESPONSES
    )


# The dependencies are coroutines though they wait for nothing: FastAPI runs a
# plain function dependency in the thread pool, a thread hop (~0.2-0.4 ms on a
# busy 2-core machine) per dependency per request.
async def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def _artifacts(request: Request) -> ArtifactStore:
    artifacts: ArtifactStore | None = request.app.state.artifacts
    if artifacts is None:
        raise NotFoundError(
            "this server keeps no artifacts: start it with --artifacts DIR_OR_URL",
            field="artifacts",
        )
    return artifacts


async def _metrics(request: Request) -> ServerMetrics:
    metrics: ServerMetrics = request.app.state.metrics
    return metrics


StoreDep = Annotated[Store, Depends(_store)]
ArtifactsDep = Annotated[ArtifactStore, Depends(_artifacts)]
MetricsDep = Annotated[ServerMetrics, Depends(_metrics)]


def wire(content: Any, status_code: int = 200) -> WireJSONResponse:
    """A JSON response rendered by the wire format (NaN-safe)."""
    return WireJSONResponse(content, status_code=status_code)
