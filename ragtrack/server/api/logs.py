"""``/api/v1/runs/{run_id}/logs``: captured console output."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from starlette.responses import Response

from ragtrack.server.api._common import StoreDep, router, wire
from ragtrack.server.api.schemas import LogsIn, LogsOut
from ragtrack.storage._input import MAX_COUNT

logs_router = router("logs")


@logs_router.post("/runs/{run_id}/logs", status_code=204, response_class=Response)
def append_logs(run_id: str, body: LogsIn, store: StoreDep) -> Response:
    """Append console text to one stream; idempotent per ``batch_id``."""
    store.append_logs(run_id, body.stream, body.text, body.batch_id)
    return Response(status_code=204)


@logs_router.get("/runs/{run_id}/logs", response_model=LogsOut)
def read_logs(
    run_id: str,
    store: StoreDep,
    stream: Annotated[
        Literal["stdout", "stderr"] | None, Query(description="Only this stream.")
    ] = None,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_COUNT,
            description="Skip this many characters (what a reader already has).",
        ),
    ] = 0,
) -> Response:
    """The captured text in the order it was written, from character ``offset`` on."""
    return wire({"text": store.read_logs(run_id, stream, offset)})
