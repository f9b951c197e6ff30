"""Pages and their JSON twins, built from one context object.

A page builder reads the request (path and query parameters) and the store and
returns a context: a dataclass with ``to_json()``. :func:`page` registers the
HTML page, rendered from a template with ``ctx``, and its JSON twin at the same
path plus ``.json``, which returns ``ctx.to_json()``. Both come from the same
builder, so what a script reads is what the page shows.

A builder that fails raises a RagtrackError: the page becomes an error page
with the error's status, the twin the API's JSON error. A page that shows a
problem in place (the runs table with a bad filter) instead returns a context
with ``http_status``: its twin answers with that status, while the page itself
answers 200 (it rendered fine, and a 4xx page load is logged as an error in the
browser's console).

Example:
    >>> from fastapi import APIRouter
    >>> router = ui_router()
    >>> @page(router, "/hello/{name}", "hello.html")
    ... def hello(request, store):
    ...     return Hello(request.path_params["name"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ragtrack.exceptions import InvalidArgumentError, RagtrackError
from ragtrack.server._requests import WireRoute
from ragtrack.server._responses import WireJSONResponse
from ragtrack.server.ui._links import Links, links_for
from ragtrack.server.ui._templates import environment
from ragtrack.storage import Store


class Context(Protocol):
    """What a page builder returns."""

    def to_json(self) -> dict[str, Any]: ...


Builder = Callable[[Request, Store], Context]


def ui_router() -> APIRouter:
    """A router for UI routes: kept out of the API's OpenAPI document."""
    return APIRouter(route_class=WireRoute, include_in_schema=False)


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the UI's globals (``links``, ``request``)."""
    links = links_for(request)
    html = environment().get_template(template).render(links=links, request=request, **context)
    return HTMLResponse(html, status_code=status_code)


def error_page(request: Request, error: RagtrackError) -> HTMLResponse:
    """The page shown instead of one that failed: the error's status and message."""
    return render(request, "error.html", status_code=error.http_status, error=error)


def page(router: APIRouter, path: str, template: str) -> Callable[[Builder], Builder]:
    """Register ``builder`` as the HTML page at ``path`` and its JSON twin."""
    json_path = "/index.json" if path == "/" else f"{path}.json"

    def register(builder: Builder) -> Builder:
        # Sync endpoints: Starlette runs them in its thread pool, so a slow store
        # call never blocks the event loop.
        def html(request: Request) -> Response:
            try:
                ctx = builder(request, store_of(request))
            except RagtrackError as e:
                return error_page(request, e)
            return render(request, template, ctx=ctx)

        def json(request: Request) -> Response:
            ctx = builder(request, store_of(request))
            return WireJSONResponse(ctx.to_json(), status_code=getattr(ctx, "http_status", 200))

        # The twin first: '/runs/{run_id}' would otherwise take 'abc.json' as an id.
        router.add_api_route(json_path, json, methods=["GET"], name=f"{builder.__name__}_json")
        router.add_api_route(path, html, methods=["GET"], name=builder.__name__)
        return builder

    return register


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter in ``[low, high]``; an error naming it otherwise.

    Example:
        A request with ``?page=0`` and ``query_int(request, "page", 1, 1, 10**6)``
        raises ``InvalidArgumentError('page must be an integer from 1 to 1000000, got '0'')``.
    """
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidArgumentError(
            f"{name} must be an integer from {low} to {high}, got {raw!r}", field=name
        )
    return value


def query_float(request: Request, name: str, default: float, low: float, high: float) -> float:
    """A finite float query parameter in ``[low, high]``; an error naming it otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails both comparisons
        raise InvalidArgumentError(
            f"{name} must be a number from {low:g} to {high:g}, got {raw!r}", field=name
        )
    return value


def query_list(request: Request, name: str) -> list[str]:
    """A comma-separated (or repeated) query parameter, blanks dropped, order kept."""
    items: list[str] = []
    for raw in request.query_params.getlist(name):
        items.extend(part.strip() for part in raw.split(","))
    return list(dict.fromkeys(item for item in items if item))


__all__ = [
    "Builder",
    "Context",
    "Links",
    "error_page",
    "page",
    "query_float",
    "query_int",
    "query_list",
    "render",
    "store_of",
    "ui_router",
]
