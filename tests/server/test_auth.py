"""Bearer-token authentication: the API and /metrics need it, health and docs do not."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from fastapi import Request

from ragtrack.exceptions import AuthenticationError
from ragtrack.server import ServerSettings
from ragtrack.server.auth import ANONYMOUS, BearerTokenAuthenticator, needs_auth
from ragtrack.storage.sql import SqlStore

TOKEN = "s3cret-token-7f3a9c"
GOOD = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def store(sqlite_store: SqlStore) -> Iterator[SqlStore]:
    yield sqlite_store


@pytest.fixture
def settings() -> ServerSettings:
    return ServerSettings(auth_token=TOKEN)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}ö".encode()},
    ],
    ids=["none", "wrong", "empty", "basic", "no-scheme", "longer"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/projects"),
        ("POST", "/api/v1/runs"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/no-such-route"),
    ],
)
def test_without_the_token_is_401(
    api: Any, headers: dict[str, str], method: str, path: str
) -> None:
    response = api.call(method, path, headers=headers)
    api.check(response, status=401, code="UNAUTHENTICATED", field=None)
    assert response.headers["www-authenticate"] == "Bearer"


def test_with_the_token(api: Any) -> None:
    created = api.ok("POST", "/api/v1/runs", {"project": "p"}, headers=GOOD)
    assert api.ok("GET", f"/api/v1/runs/{created['id']}", headers=GOOD)["project"] == "p"
    lower = {"authorization": GOOD["Authorization"].replace("Bearer", "bearer")}
    assert api.call("GET", "/api/v1/projects", headers=lower).status_code == 200
    assert api.call("GET", "/metrics", headers=GOOD).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/docs", "/api/v1/openapi.json"])
def test_open_paths(api: Any, path: str) -> None:
    assert api.call("GET", path).status_code == 200


def test_openapi_declares_the_token(api: Any) -> None:
    schema = api.ok("GET", "/api/v1/openapi.json")
    assert schema["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer"}
    }
    assert schema["paths"]["/api/v1/runs"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_token_compared_in_constant_time(api: Any) -> None:
    with mock.patch("ragtrack.server.auth.hmac.compare_digest", wraps=hmac.compare_digest) as cmp:
        assert (
            api.call("GET", "/api/v1/projects", headers={"Authorization": "Bearer x"}).status_code
            == 401
        )
        assert api.call("GET", "/api/v1/projects", headers=GOOD).status_code == 200
    assert cmp.call_count == 2


def test_token_never_logged(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        api.call("GET", "/api/v1/projects", headers=GOOD)
        api.call("GET", "/api/v1/runs/nope", headers=GOOD)
        api.call("GET", "/api/v1/projects", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert caplog.records  # something was logged, and the token is not in it
    assert TOKEN not in caplog.text and GOOD["Authorization"] not in caplog.text


def test_authenticator() -> None:
    auth = BearerTokenAuthenticator("abc")
    assert auth.authenticate("Bearer abc").name == "token"
    assert auth.authenticate("bearer   abc ").name == "token"
    for header in (None, "", "Bearer", "Bearer abcd", "Token abc"):
        with pytest.raises(AuthenticationError):
            auth.authenticate(header)
    assert "abc" not in repr(auth)
    assert "abc" not in repr(ServerSettings(auth_token="abc"))
    with pytest.raises(ValueError):
        BearerTokenAuthenticator("")


def test_paths_that_need_auth() -> None:
    assert needs_auth("/api/v1/runs") and needs_auth("/metrics") and needs_auth("/api/v1")
    assert not needs_auth("/healthz") and not needs_auth("/docs")
    assert not needs_auth("/api/v1/openapi.json")


def test_the_principal_is_on_the_request(sqlite_store: SqlStore) -> None:
    from fastapi.testclient import TestClient

    from ragtrack.server import create_app

    seen = []
    for token, headers in ((None, {}), (TOKEN, GOOD)):
        app = create_app(sqlite_store, settings=ServerSettings(auth_token=token))

        @app.get("/api/v1/whoami")
        def whoami(request: Request) -> dict[str, str]:
            seen.append(request.state.principal)
            return {}

        with TestClient(app) as client:
            assert client.get("/api/v1/whoami", headers=headers).status_code == 200
    assert [p.name for p in seen] == [ANONYMOUS.name, "token"]
