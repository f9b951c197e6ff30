"""What every UI page shares: the entry pages, JSON twins, error pages, static
files (Plotly.js from the installed package: the UI works offline), links under
a URL prefix, and the number/time formatting users read."""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import pytest

from ragtrack.server.ui._links import Links
from ragtrack.server.ui._templates import format_duration, format_number, format_time
from ragtrack.storage import Store

DEMO = "rag-demo"


def test_home_lists_projects_with_run_counts(ui_client: Any) -> None:
    page = ui_client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'href="/projects/{DEMO}"' in page.text and ">15</a>" in page.text
    twin = ui_client.get("/index.json").json()
    assert twin == {
        "projects": [
            {"name": DEMO, "created_at": twin["projects"][0]["created_at"], "run_count": 15}
        ]
    }


def test_project_page_shows_experiments_and_their_definitions(
    ui_client: Any, ui_store: Store
) -> None:
    page = ui_client.get(f"/projects/{DEMO}")
    assert page.status_code == 200
    assert f'href="/projects/{DEMO}/runs?experiment=chunking"' in page.text
    assert "recall@10 (max)" in page.text and "latency_ms (min)" in page.text
    assert "fiqa-2018-mini" in page.text and "All 15 runs" in page.text
    twin = ui_client.get(f"/projects/{DEMO}.json").json()
    assert [e["name"] for e in twin["experiments"]] == ["chunking", "reranker"]
    assert [e["run_count"] for e in twin["experiments"]] == [12, 3]
    assert twin["runs_outside_experiments"] == 0
    assert twin["links"]["runs"] == f"/projects/{DEMO}/runs"


@pytest.mark.parametrize("suffix", ["", ".json"])
def test_unknown_project_is_a_404_in_both_forms(ui_client: Any, suffix: str) -> None:
    response = ui_client.get(f"/projects/nope{suffix}")
    assert response.status_code == 404
    if suffix:
        assert response.json()["error"]["code"] == "PROJECT_NOT_FOUND"
    else:
        assert "text/html" in response.headers["content-type"]
        assert "Not found" in response.text and "nope" in response.text


def test_names_are_escaped_and_slashes_stay_in_their_segment(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from ragtrack.server import create_app
    from ragtrack.storage.sql import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path / 'x.db'}")
    name = "team/<script>alert(1)</script>"
    store.create_run(project=name)
    with TestClient(create_app(store)) as client:
        home = client.get("/").text
        assert "<script>alert(1)" not in home and "&lt;script&gt;alert(1)" in home
        link = Links().project(name)
        assert link == "/projects/team%2F%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
        page = client.get(link)
        assert page.status_code == 200 and "&lt;script&gt;" in page.text
    store.close()


def test_static_files_and_plotly_are_served_from_the_package(ui_client: Any) -> None:
    css = ui_client.get("/static/ui/ragtrack.css")
    assert css.status_code == 200 and ".status-failed" in css.text
    js = ui_client.get("/static/ui/ragtrack.js")
    assert js.status_code == 200 and "window.ragtrack" in js.text
    plotly = ui_client.get("/static/vendor/plotly.min.js")
    bundled = resources.files("plotly") / "package_data" / "plotly.min.js"
    assert plotly.status_code == 200 and plotly.content == bundled.read_bytes()
    assert "max-age" in plotly.headers["cache-control"]
    assert ui_client.get("/static/ui/../../app.py").status_code == 404
    assert ui_client.get("/static/ui/nope.js").status_code == 404


def test_pages_reference_nothing_off_the_server(ui_client: Any) -> None:
    # Offline: every script and stylesheet is ours (no CDN), and each one resolves.
    import re

    for path in ("/", f"/projects/{DEMO}"):
        html = ui_client.get(path).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not url.startswith(("http:", "https:", "//")), url
            if url.startswith("/static/"):
                assert ui_client.get(url).status_code == 200, url


def test_ui_pages_stay_out_of_the_api_document(ui_client: Any) -> None:
    paths = ui_client.get("/api/v1/openapi.json").json()["paths"]
    assert all(p.startswith(("/api/v1", "/healthz", "/metrics")) for p in paths), paths


def test_links_keep_a_url_prefix() -> None:
    links = Links("/rt")
    assert links.home() == "/rt/"
    assert links.json(links.home()) == "/rt/index.json"
    assert links.runs("p", columns="metrics.a@1,params.b") == (
        "/rt/projects/p/runs?columns=metrics.a%401%2Cparams.b"
    )
    assert links.json(links.runs("p", page=2)) == "/rt/projects/p/runs.json?page=2"
    assert links.compare(["a", "b"]) == "/rt/compare?runs=a%2Cb"
    assert (
        links.artifact("r1", "model dir/w.bin") == "/rt/api/v1/runs/r1/artifacts/model%20dir/w.bin"
    )
    assert links.static("x.css") == "/rt/static/ui/x.css"
    assert links.runs("p", filter="", experiment=None) == "/rt/projects/p/runs"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (7, "7"),
        (0.5, "0.5"),
        (0.123456, "0.1235"),
        (12.3456789, "12.3457"),
        (3.0, "3"),
        (2.5e-7, "2.5e-07"),
        (1.5e9, "1.5e+09"),
        (math.nan, "NaN"),
        (math.inf, "∞"),
        (-math.inf, "-∞"),
        ("bge", "bge"),
    ],
)
def test_number_format(value: Any, text: str) -> None:
    assert format_number(value) == text


def test_time_and_duration_format() -> None:
    assert format_time(None) == "" and format_time(86400.5) == "1970-01-02 00:00:00 UTC"
    assert [format_duration(s) for s in (None, 0.25, 9.96, 61, 3 * 3600 + 5 * 60, 90000)] == [
        "",
        "250 ms",
        "10.0 s",
        "1m 01s",
        "3h 05m",
        "1d 1h",
    ]


def test_every_page_has_a_json_twin() -> None:
    # Principle 8: a page a user opens is data a script can read at path + ".json".
    from starlette.routing import Route

    from ragtrack.server.ui import UI_ROUTERS

    paths = {r.path for router in UI_ROUTERS for r in router.routes if isinstance(r, Route)}
    pages = {p for p in paths if not p.endswith(".json") and p not in ("/login", "/logout")}
    assert {
        "/",
        "/projects/{project}",
        "/projects/{project}/runs",
        "/runs/{run_id}",
        "/compare",
        "/projects/{project}/importance",
    } <= pages
    for path in pages:
        twin = "/index.json" if path == "/" else f"{path}.json"
        assert twin in paths, f"{path} has no JSON twin"
