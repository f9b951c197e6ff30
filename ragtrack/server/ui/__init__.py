"""The web UI: server-rendered pages over the store, each with a JSON twin.

Pages live in ``views/`` (one module per page kind), templates in
``templates/``, our own JS and CSS in ``static/``; Plotly.js is served from the
installed ``plotly`` package so the UI works offline. Chart and analysis data
come from :mod:`ragtrack.analysis` (computed apart from drawing). Every URL is
built by :class:`~ragtrack.server.ui._links.Links`.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from ragtrack.exceptions import NotFoundError
from ragtrack.server.ui._links import PLOTLY_PATH, STATIC_PREFIX
from ragtrack.server.ui.views import compare, importance, login, projects, run_page, runs_table

#: Every page router, in registration order.
UI_ROUTERS = (
    login.router,
    projects.router,
    runs_table.router,
    run_page.router,
    compare.router,
    importance.router,
)


def install_ui(app: FastAPI) -> None:
    """Add the UI's pages, static files and Plotly.js to ``app``."""
    for router in UI_ROUTERS:
        app.include_router(router)
    app.add_api_route(PLOTLY_PATH, _plotly_js, methods=["GET"], include_in_schema=False)
    static = StaticFiles(packages=[("ragtrack.server.ui", "static")])
    app.mount(STATIC_PREFIX, static, name="ui-static")


def _plotly_js(request: Request) -> Response:
    try:
        path = resources.files("plotly") / "package_data" / "plotly.min.js"
    except ModuleNotFoundError as e:
        raise NotFoundError(
            "charts need the plotly package, which is not installed: "
            "pip install 'ragtrack[server]'",
            field="plotly",
        ) from e
    return FileResponse(
        str(path),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


__all__ = ["UI_ROUTERS", "install_ui"]
