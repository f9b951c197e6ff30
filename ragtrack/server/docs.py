"""``/docs``: the interactive API documentation (Swagger UI), served whole by
this server.

FastAPI's own page loads Swagger UI from a CDN, unpinned, into the server's
origin — blank offline, and whatever that CDN serves runs with the user's
cookie. Here the page, its script (``static/docs.js``, no inline script, for
the Content-Security-Policy) and Swagger UI's files come from this server;
Swagger UI's from the installed ``swagger-ui-py`` package (the ``[server]``
extra), like Plotly.js from ``plotly``.
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from ragtrack.exceptions import NotFoundError
from ragtrack.server.ui._links import links_for

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"

#: The Swagger UI files the page uses, and their types.
_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}

docs_router = APIRouter(include_in_schema=False)


@docs_router.get(DOCS_PATH)
def docs_page(request: Request) -> Response:
    """The Swagger UI page over ``/api/v1/openapi.json``."""
    links = links_for(request)
    root = html.escape(links.root)
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ragtrack API</title>
<link rel="icon" href="{root}{ASSETS_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="{root}{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(links.api("/openapi.json"))}"></div>
<script src="{root}{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{html.escape(links.static("docs.js"))}"></script>
</body>
</html>
"""
    return HTMLResponse(page)


@docs_router.get(ASSETS_PATH + "/{name}")
def docs_asset(name: str) -> Response:
    """One of Swagger UI's files, from the installed package."""
    if name not in _ASSETS:
        raise NotFoundError(f"no such file of the API documentation: {name!r}", field="name")
    return FileResponse(
        swagger_ui_dir() / name,
        media_type=_ASSETS[name],
        headers={"Cache-Control": "public, max-age=86400"},
    )


def swagger_ui_dir() -> Path:
    """Where the installed ``swagger-ui-py`` keeps Swagger UI's files (found
    without importing the package, which would pull in its web integrations)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError(
            "the API documentation page needs the swagger-ui-py package, which is not "
            "installed: pip install 'ragtrack[server]'",
            field="swagger_ui",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "static"
