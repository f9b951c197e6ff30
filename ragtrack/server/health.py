"""``GET /healthz``: is the server up, its database reachable and at the schema
this server needs (for load balancers and the client's ``RestStore.health``).

The revision is read on every call (one small query): a database migrated by
another process, or emptied, while this server runs makes every request fail,
and the health check must say so rather than "ok"."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ragtrack._version import __version__
from ragtrack.exceptions import SchemaVersionError, StoreError, StoreUnavailableError
from ragtrack.server._backend import checked_schema_revision
from ragtrack.server._responses import WireJSONResponse, ragtrack_error_response
from ragtrack.server.api.schemas import ErrorBody, Health
from ragtrack.server.errors import logger

health_router = APIRouter(tags=["server"])


@health_router.get(
    "/healthz",
    response_model=Health,
    responses={
        503: {
            "model": ErrorBody,
            "description": "The database is unreachable, or not at the schema this server needs",
        }
    },
)
def healthz(request: Request) -> Response:
    """``{"status": "ok", "schema": <database revision>, "version": <ragtrack version>}``;
    503 STORE_UNAVAILABLE when the database cannot be reached, 503 SCHEMA_VERSION
    when its schema is not the one this server needs. Needs no token."""
    try:
        revision = checked_schema_revision(request.app.state.store)
    except SchemaVersionError as e:
        logger.error("health check failed: %s", e.message)
        return ragtrack_error_response(e)
    except (StoreError, sa.exc.SQLAlchemyError, OSError) as e:
        # Details go to the log only: /healthz answers anyone.
        logger.warning("health check failed: %s: %s", type(e).__name__, e)
        error = StoreUnavailableError(f"the database is unreachable ({type(e).__name__})")
        return ragtrack_error_response(error)
    return WireJSONResponse({"status": "ok", "schema": revision, "version": __version__})
