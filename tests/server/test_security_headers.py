"""Security headers on every response, artifact downloads that never render,
the API docs served whole by the server, and templates without inline scripts
(what the Content-Security-Policy requires; tests/e2e/browser checks the pages
under it in a real browser)."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest

from ragtrack.server._headers import SECURITY_HEADERS


@pytest.fixture
def store(sqlite_store: Any) -> Any:
    return sqlite_store


def test_every_response_carries_the_security_headers(api: Any) -> None:
    run = api.run()
    for path in ("/", f"/runs/{run['id']}", "/api/v1/projects", "/healthz", "/docs", "/nope"):
        response = api.call("GET", path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline' " not in policy.split("script-src")[1]
    assert "frame-ancestors 'none'" in policy


def test_artifact_downloads_are_attachments_that_never_render(api: Any) -> None:
    run = api.run()
    base = f"/api/v1/runs/{run['id']}/artifacts"
    api.ok("PUT", f"{base}/report.html", content=b"<script>alert(document.cookie)</script>")
    response = api.call("GET", f"{base}/report.html")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith('attachment; filename="report.html"')
    assert response.headers["content-security-policy"].startswith("sandbox")


def test_api_docs_come_from_this_server(api: Any) -> None:
    page = api.call("GET", "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(urls) >= 3
    assert "<script>" not in page.text  # every script has a src
    swagger = resources.files("swagger_ui") / "static"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = api.call("GET", url)
        assert asset.status_code == 200, url
        if url.startswith("/docs/assets/"):
            assert asset.content == (swagger / url.rsplit("/", 1)[1]).read_bytes()
    assert 'data-openapi-url="/api/v1/openapi.json"' in page.text
    api.error("GET", "/docs/assets/swagger-editor.js", status=404, code="NOT_FOUND")


def test_templates_and_scripts_hold_no_inline_code() -> None:
    ui = resources.files("ragtrack.server.ui")
    for template in (ui / "templates").iterdir():
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text, template.name
    for script in (ui / "static").iterdir():
        if script.name.endswith(".js"):
            text = script.read_text()
            assert not re.search(r"\beval\(|new Function\(", text), script.name


def test_the_documented_policy_is_the_one_sent() -> None:
    from pathlib import Path

    from ragtrack.server._headers import CONTENT_SECURITY_POLICY

    docs = Path(__file__).resolve().parents[2] / "docs" / "server.md"
    assert f"`{CONTENT_SECURITY_POLICY}`" in docs.read_text()
