"""Exceptions to JSON error responses: the API's side of the one error hierarchy.

Every error body is ``{"error": {"code": ..., "message": ..., "field": ...}}``
(see docs/server.md, "Errors"):

* a :class:`~ragtrack.exceptions.RagtrackError` gets its own ``http_status``
  and ``code`` (the REST client re-raises the same class from the code);
* a request that does not match an endpoint's parameters or body model gets
  400 ``INVALID_ARGUMENT`` naming the field (``body.config``, ``query.limit``);
* unknown routes 404 ``NOT_FOUND``, wrong methods 405 ``METHOD_NOT_ALLOWED``;
* a database that cannot be reached 503 ``STORE_UNAVAILABLE`` (safe to retry);
* a table or column missing from the database 503 ``SCHEMA_VERSION`` with the
  ``ragtrack db upgrade`` command (the schema changed under the running server);
* anything else is a bug: 500 ``INTERNAL_ERROR``, logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from ragtrack.exceptions import RagtrackError, SchemaVersionError, StoreUnavailableError
from ragtrack.server._backend import schema_changed
from ragtrack.server._requests import BodyError
from ragtrack.server._responses import error_response, ragtrack_error_response

logger = logging.getLogger("ragtrack.server")

_HTTP_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}

# Driver errors that mean "the database is unreachable or busy", should the store
# let one through: a retry may succeed, so they are 503s, not bugs.
_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)

# PostgreSQL's undefined_table and undefined_column, and SQLite's messages for them.
_MISSING_SQLSTATES = frozenset({"42P01", "42703"})
_MISSING_SQLITE = ("no such table", "no such column")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every failure the JSON error shape."""
    app.add_exception_handler(RagtrackError, _ragtrack_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(sa.exc.DBAPIError, _database_error)
    app.add_exception_handler(sa.exc.TimeoutError, _database_error)
    app.add_exception_handler(Exception, _unexpected)


def validation_field(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "config", 0)`` -> ``"body.config.0"``.

    Example:
        >>> validation_field(("query", "limit"))
        'query.limit'
    """
    return ".".join(str(part) for part in loc)


async def _ragtrack_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RagtrackError)
    return ragtrack_error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if not errors:  # pragma: no cover - FastAPI always names at least one
        return error_response("INVALID_ARGUMENT", "invalid request", 400)
    first = errors[0]
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "")
        return error_response(
            "INVALID_ARGUMENT",
            f"the request body is not valid JSON: {reason} at position {first['loc'][-1]}",
            400,
            "body",
        )
    loc = tuple(first.get("loc", ()))
    field = validation_field(loc)
    message = f"{field}: {first.get('msg', 'invalid value')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return error_response("INVALID_ARGUMENT", message, 400, field)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, BodyError):
        return ragtrack_error_response(exc.error)
    status = exc.status_code
    if status == 404:
        message = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        allowed = _allowed_methods(request)
        if allowed:
            headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
            return error_response("METHOD_NOT_ALLOWED", message, 405, None, headers)
    else:
        message = str(exc.detail)
    code = _HTTP_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "INVALID_ARGUMENT")
    field = "body" if status in (400, 413) else None
    return error_response(code, message, status, field, exc.headers)


def schema_problem(exc: BaseException) -> str | None:
    """What the database lacks, when ``exc`` is a missing table or column (the
    schema changed under the server), else ``None``."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return None
    orig = exc.orig
    first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    if getattr(orig, "sqlstate", None) in _MISSING_SQLSTATES:
        return first_line
    if isinstance(exc, sa.exc.OperationalError) and (
        first_line.startswith(_MISSING_SQLITE)
        or (first_line.startswith("table ") and "has no column" in first_line)
    ):
        return first_line
    return None


async def _database_error(request: Request, exc: Exception) -> Response:
    problem = schema_problem(exc)
    if problem is not None:
        settings = getattr(request.app.state, "settings", None)
        location: str = settings.store if settings is not None else ""
        logger.error(
            "database schema problem during %s %s: %s", request.method, request.url.path, problem
        )
        return ragtrack_error_response(
            SchemaVersionError(schema_changed(f"the database has {problem}", location))
        )
    if isinstance(exc, _UNAVAILABLE):
        return await _unavailable(request, exc)
    return await _unexpected(request, exc)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes on this path: routing raises 405 from the
    first route whose path matches, whose methods alone would make a wrong
    ``Allow`` (``GET`` for ``/api/v1/projects``, which takes ``POST`` too)."""
    methods: set[str] = set()
    # The app's routes, flat (included routers are nested in app.router.routes).
    metrics = getattr(request.app.state, "metrics", None)
    for route in metrics.routes if metrics is not None else ():
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    error = StoreUnavailableError(f"the database is unavailable: {type(exc).__name__}; retry later")
    return ragtrack_error_response(error)


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.error("internal error during %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        "INTERNAL_ERROR",
        f"internal server error ({type(exc).__name__}); the server log has the traceback",
        500,
    )
