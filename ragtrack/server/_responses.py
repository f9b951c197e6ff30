"""JSON responses rendered with the wire format, so NaN and Infinity survive.

FastAPI's own serialisation would turn a NaN metric into ``null`` (or fail), so
every endpoint returns a :class:`WireJSONResponse` built from ``_wire.*_to_json``;
the ``response_model`` an endpoint declares is for the OpenAPI document only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

from ragtrack.exceptions import RagtrackError
from ragtrack.storage.rest import _wire


class WireJSONResponse(JSONResponse):
    """``application/json`` rendered by :func:`ragtrack.storage.rest._wire.dumps`."""

    def render(self, content: Any) -> bytes:
        return _wire.dumps(content)


def error_response(
    code: str,
    message: str,
    status: int,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> WireJSONResponse:
    """The one error shape: ``{"error": {"code", "message", "field"}}``."""
    return WireJSONResponse(
        {"error": {"code": code, "message": message, "field": field}},
        status_code=status,
        headers=headers,
    )


def ragtrack_error_response(error: RagtrackError) -> WireJSONResponse:
    """The response for a ragtrack error: its ``http_status``, ``code`` and ``field``."""
    headers = None
    if error.http_status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif error.http_status == 408:
        # The rest of the body may never come: close rather than wait for it.
        headers = {"Connection": "close"}
    return error_response(error.code, error.message, error.http_status, error.field, headers)
