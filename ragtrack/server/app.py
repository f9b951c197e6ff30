"""The ASGI application: middleware, error handlers, routers and the OpenAPI
document, around one store.

``ragtrack server`` builds the app with :func:`create_app` in the process it
runs in, or, with ``--workers N``, has each uvicorn worker build its own with
:func:`app_from_env` from the settings it put in the environment. Workers keep
no state between requests: everything lives in the store.

Example:
    >>> from ragtrack.storage.sql import SqlStore
    >>> from fastapi.testclient import TestClient
    >>> client = TestClient(create_app(SqlStore("sqlite://")))
    >>> client.post("/api/v1/projects", json={"name": "search"}).status_code
    201
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.middleware import Middleware

from ragtrack._version import __version__
from ragtrack.server._backend import open_backends
from ragtrack.server._headers import SecurityHeadersMiddleware
from ragtrack.server._paths import EncodedSlashMiddleware
from ragtrack.server._responses import WireJSONResponse
from ragtrack.server.api import API_PREFIX, API_ROUTERS
from ragtrack.server.api.artifacts import UploadSlots
from ragtrack.server.auth import (
    OPEN_PATHS,
    AuthMiddleware,
    BearerTokenAuthenticator,
    NoAuthenticator,
    needs_auth,
)
from ragtrack.server.docs import docs_router
from ragtrack.server.errors import install_error_handlers
from ragtrack.server.health import health_router
from ragtrack.server.monitoring import (
    MULTIPROC_ENV,
    MetricsMiddleware,
    ServerMetrics,
    monitoring_router,
)
from ragtrack.server.settings import ServerSettings
from ragtrack.server.ui import install_ui
from ragtrack.storage import Store

if TYPE_CHECKING:
    from ragtrack.storage.artifacts import ArtifactStore

_DESCRIPTION = """\
The ragtrack tracking server: projects, experiments, runs, metrics, logs and
artifacts over one store. Every error is `{"error": {"code", "message", "field"}}`;
numbers in JSON bodies may be `NaN`, `Infinity` or `-Infinity`. With a token
configured, send `Authorization: Bearer <token>`.
"""


class RagtrackAPI(FastAPI):
    """FastAPI with ragtrack's OpenAPI document: request-validation errors are
    400s with the common error body (not FastAPI's 422), and the bearer token is
    declared when the server requires one."""

    secured: bool = False

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            _tidy_openapi(super().openapi(), self.secured)
        assert self.openapi_schema is not None
        return self.openapi_schema


def create_app(
    store: Store,
    artifacts: ArtifactStore | None = None,
    settings: ServerSettings | None = None,
    *,
    owns_backends: bool = False,
) -> FastAPI:
    """The server app over ``store`` (and ``artifacts``, without which artifact
    endpoints answer 404). With ``owns_backends`` the app closes both when it
    shuts down."""
    settings = settings or ServerSettings()
    metrics = ServerMetrics(store)
    authenticator = (
        BearerTokenAuthenticator(settings.auth_token) if settings.auth_token else NoAuthenticator()
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owns_backends:
                store.close()
                if artifacts is not None:
                    artifacts.close()
            if os.environ.get(MULTIPROC_ENV):
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    app = RagtrackAPI(
        title="ragtrack",
        version=__version__,
        description=_DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # our own /docs: Swagger UI served from this server (docs.py)
        redoc_url=None,
        default_response_class=WireJSONResponse,
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(AuthMiddleware, authenticator=authenticator),
            Middleware(EncodedSlashMiddleware),
        ],
    )
    app.secured = settings.auth_token is not None
    app.state.store = store
    app.state.artifacts = artifacts
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.authenticator = authenticator
    app.state.upload_slots = UploadSlots(settings.max_uploads)
    install_error_handlers(app)
    for router in (*API_ROUTERS, health_router, monitoring_router, docs_router):
        app.include_router(router)
        metrics.routes.extend(router.routes)
    install_ui(app)
    metrics.routes.extend(r for r in app.routes if isinstance(getattr(r, "path", None), str))
    return app


def app_from_env() -> FastAPI:
    """The app of one uvicorn worker, from the settings ``ragtrack server`` put in
    the environment (see :class:`ServerSettings`); it owns its store."""
    settings = ServerSettings.from_env()
    store, artifacts = open_backends(settings)
    return create_app(store, artifacts, settings, owns_backends=True)


def _tidy_openapi(schema: dict[str, Any], secured: bool) -> None:
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            operation.get("responses", {}).pop("422", None)
            if secured and needs_auth(path) and path not in OPEN_PATHS:
                operation["security"] = [{"bearer": []}]
    components = schema.setdefault("components", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    if secured:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
