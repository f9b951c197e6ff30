"""Every URL of the web UI, built in one place so that a URL prefix (an app
mounted under ``root_path`` behind a proxy) works on every page and in every
link a page's JSON twin hands out.

Example:
    >>> links = Links("/tracking")
    >>> links.runs("team/search", experiment="chunking", sort="-metrics.recall@10")
    '/tracking/projects/team%2Fsearch/runs?experiment=chunking&sort=-metrics.recall%4010'
    >>> links.json(links.run("0123abcd"))
    '/tracking/runs/0123abcd.json'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request

#: Where the UI's own static files and the vendored Plotly.js are served.
STATIC_PREFIX = "/static/ui"
PLOTLY_PATH = "/static/vendor/plotly.min.js"


def _segment(name: str) -> str:
    # A name may hold '/', which must stay inside its segment (see server/_paths.py).
    return quote(name, safe="")


def _query(params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v is not None and v != "" and v is not False}
    return "?" + urlencode(kept, doseq=True) if kept else ""


@dataclass(frozen=True)
class Links:
    """URL builder of the UI; ``root`` is the app's ``root_path`` ('' or '/prefix')."""

    root: str = ""

    def home(self) -> str:
        return f"{self.root}/"

    def project(self, project: str) -> str:
        return f"{self.root}/projects/{_segment(project)}"

    def runs(self, project: str, **query: Any) -> str:
        """The runs table; ``query`` keys are the table's URL parameters."""
        return f"{self.project(project)}/runs{_query(query)}"

    def importance(self, project: str, **query: Any) -> str:
        return f"{self.project(project)}/importance{_query(query)}"

    def run(self, run_id: str, **query: Any) -> str:
        return f"{self.root}/runs/{_segment(run_id)}{_query(query)}"

    def run_data(self, run_id: str, name: str, **query: Any) -> str:
        """A run page's data endpoint: ``series.json`` or ``logs.json``."""
        return f"{self.root}/runs/{_segment(run_id)}/{name}{_query(query)}"

    def compare(self, run_ids: Iterable[str], **query: Any) -> str:
        return f"{self.root}/compare{_query({'runs': ','.join(run_ids), **query})}"

    def compare_series(self, run_ids: Iterable[str], **query: Any) -> str:
        return f"{self.root}/compare/series.json{_query({'runs': ','.join(run_ids), **query})}"

    def static(self, name: str) -> str:
        return f"{self.root}{STATIC_PREFIX}/{name}"

    def plotly(self) -> str:
        return f"{self.root}{PLOTLY_PATH}"

    def api(self, path: str) -> str:
        """A REST API URL, ``path`` starting with ``/`` after ``/api/v1``."""
        return f"{self.root}/api/v1{path}"

    def artifact(self, run_id: str, path: str) -> str:
        return self.api(f"/runs/{_segment(run_id)}/artifacts/{quote(path)}")

    def json(self, url: str) -> str:
        """The JSON twin of a page URL: ``.json`` before the query string."""
        path, sep, query = url.partition("?")
        if path.endswith("/"):
            path += "index"
        return f"{path}.json{sep}{query}"


def links_for(request: Request) -> Links:
    """The links of the app serving ``request``."""
    return Links(str(request.scope.get("root_path", "")).rstrip("/"))
