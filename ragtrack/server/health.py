"""``GET /healthz``: is the server up and its database reachable (for load
balancers and the client's ``RestStore.health``)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ragtrack._version import __version__
from ragtrack.exceptions import StoreError, StoreUnavailableError
from ragtrack.server._backend import schema_revision
from ragtrack.server._responses import WireJSONResponse, ragtrack_error_response
from ragtrack.server.api.schemas import ErrorBody, Health
from ragtrack.server.errors import logger

health_router = APIRouter(tags=["server"])


@health_router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": ErrorBody, "description": "The database is unreachable"}},
)
def healthz(request: Request) -> Response:
    """``{"status": "ok", "schema": <database revision>, "version": <ragtrack version>}``;
    503 STORE_UNAVAILABLE when the database cannot be reached. Needs no token."""
    try:
        revision = schema_revision(request.app.state.store)
    except (StoreError, sa.exc.SQLAlchemyError, OSError) as e:
        # Details go to the log only: /healthz answers anyone.
        logger.warning("health check failed: %s: %s", type(e).__name__, e)
        error = StoreUnavailableError(f"the database is unreachable ({type(e).__name__})")
        return ragtrack_error_response(error)
    return WireJSONResponse({"status": "ok", "schema": revision, "version": __version__})
