"""Bearer-token authentication: the API, /metrics and the UI need it; health, docs, the
sign-in page and static files do not. Browsers sign in once and carry a cookie."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
from fastapi import Request

from ragtrack.exceptions import AuthenticationError
from ragtrack.server import ServerSettings
from ragtrack.server.auth import ANONYMOUS, TOKEN_COOKIE, BearerTokenAuthenticator, needs_auth
from ragtrack.storage.sql import SqlStore

TOKEN = "s3cret-token-7f3a9c"
GOOD = {"Authorization": f"Bearer {TOKEN}"}
_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://testserver"}
_OWN_PAGE = {"Origin": "http://testserver"}


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


@pytest.mark.parametrize(
    "path", ["/healthz", "/docs", "/api/v1/openapi.json", "/login", "/static/ui/ragtrack.css"]
)
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
    assert needs_auth("/") and needs_auth("/runs/abc") and needs_auth("/projects/p/runs.json")
    assert not needs_auth("/login") and not needs_auth("/static/ui/ragtrack.js")
    assert needs_auth("/docsx") and needs_auth("/static")


def test_a_ui_page_sends_the_browser_to_sign_in(api: Any) -> None:
    response = api.call("GET", "/projects/p/runs?sort=-created", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fprojects%2Fp%2Fruns%3Fsort%3D-created"
    page = api.call("GET", response.headers["location"])
    assert page.status_code == 200 and 'name="token"' in page.text
    # A JSON twin is for scripts: a 401 like the API, not a redirect.
    api.check(api.call("GET", "/index.json"), status=401, code="UNAUTHENTICATED", field=None)


def test_sign_in_sets_a_cookie_that_opens_the_ui_and_api(api: Any) -> None:
    wrong = api.call("POST", "/login", content="token=guess&next=/", headers=_FORM)
    assert wrong.status_code == 401 and "does not match" in wrong.text
    assert TOKEN_COOKIE not in wrong.cookies
    ok = api.call(
        "POST",
        "/login",
        content=f"token={TOKEN}&next=/index.json",
        headers=_FORM,
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/index.json"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert api.call("GET", "/index.json").status_code == 200  # the client kept the cookie
    assert api.call("GET", "/api/v1/projects").status_code == 200
    api.call("POST", "/logout", headers=_OWN_PAGE)
    assert api.call("GET", "/index.json").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil"])
def test_sign_in_never_redirects_off_the_server(api: Any, target: str) -> None:
    response = api.call(
        "POST",
        "/login",
        content=f"token={TOKEN}&next={quote(target)}",
        headers=_FORM,
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_without_a_token_sign_in_leads_home(sqlite_store: SqlStore) -> None:
    from fastapi.testclient import TestClient

    from ragtrack.server import create_app

    with TestClient(create_app(sqlite_store)) as client:
        response = client.get("/login?next=/projects/p", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/projects/p"


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


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver:8080"},  # another port: the same site, not the same origin
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "http://testserver:8080/attack.html"},
        {},
    ],
    ids=["other-port", "other-site", "null", "other-referer", "none"],
)
def test_sign_in_and_out_only_from_the_servers_own_pages(api: Any, headers: dict[str, str]) -> None:
    signed_in = api.call(
        "POST", "/login", content=f"token={TOKEN}&next=/", headers=_FORM, follow_redirects=False
    )
    assert signed_in.status_code == 303
    form = {"Content-Type": _FORM["Content-Type"], **headers}
    refused = api.call("POST", "/logout", headers=headers, follow_redirects=False)
    api.check(refused, status=403, code="PERMISSION_DENIED")
    assert "set-cookie" not in refused.headers
    assert api.call("GET", "/index.json").status_code == 200  # still signed in
    forged = api.call(
        "POST", "/login", content=f"token={TOKEN}&next=/", headers=form, follow_redirects=False
    )
    api.check(forged, status=403, code="PERMISSION_DENIED")
    assert "set-cookie" not in forged.headers
    # A page of this server that sends only a Referer (no Origin) signs out.
    own = {"Referer": "http://testserver/projects/p/runs"}
    assert api.call("POST", "/logout", headers=own, follow_redirects=False).status_code == 303
    assert api.call("GET", "/index.json").status_code == 401


def test_the_sign_in_form_is_read_only_up_to_a_few_kilobytes(api: Any) -> None:
    big = f"token={TOKEN}&next=/&pad=".encode() + b"x" * 2**20
    declared = api.call("POST", "/login", content=big, headers=_FORM)
    api.check(declared, status=413, code="PAYLOAD_TOO_LARGE", field="body")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield f"token={TOKEN}&pad=".encode()
        for _ in range(64):
            yield b"x" * 4096

    streamed = api.call("POST", "/login", content=chunks(), headers=_FORM)
    api.check(streamed, status=413, code="PAYLOAD_TOO_LARGE", field="body")
    assert TOKEN_COOKIE not in streamed.cookies


def test_sign_in_and_out_work_behind_a_proxy_that_rewrites_host(api: Any) -> None:
    # nginx's default proxy_pass: the browser's page is https://tracker.example,
    # the server sees Host: the upstream's name; the browser says same-origin.
    proxied = {
        "Host": "127.0.0.1:5000",
        "Origin": "https://tracker.example",
        "Sec-Fetch-Site": "same-origin",
    }
    form = {"Content-Type": _FORM["Content-Type"], **proxied}
    signed_in = api.call(
        "POST", "/login", content=f"token={TOKEN}&next=/", headers=form, follow_redirects=False
    )
    assert signed_in.status_code == 303, signed_in.text
    assert TOKEN_COOKIE in signed_in.cookies
    assert api.call("GET", "/index.json").status_code == 200
    # X-Forwarded-Host is anyone's to send: it does not make a cross-site post same-origin.
    forwarded = {"Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"}
    refused = api.call("POST", "/logout", headers=forwarded, follow_redirects=False)
    api.check(refused, status=403, code="PERMISSION_DENIED")
    out = api.call("POST", "/logout", headers=proxied, follow_redirects=False)
    assert out.status_code == 303, out.text
    assert api.call("GET", "/index.json").status_code == 401


@pytest.mark.parametrize("site", ["same-site", "cross-site", "none"])
def test_sec_fetch_site_other_than_same_origin_is_refused(api: Any, site: str) -> None:
    signed_in = api.call(
        "POST", "/login", content=f"token={TOKEN}&next=/", headers=_FORM, follow_redirects=False
    )
    assert signed_in.status_code == 303
    # Origin names this host (a page on another port sends its own Origin, but
    # the browser's Sec-Fetch-Site is what tells the ports apart).
    headers = {**_OWN_PAGE, "Sec-Fetch-Site": site}
    refused = api.call("POST", "/logout", headers=headers, follow_redirects=False)
    api.check(refused, status=403, code="PERMISSION_DENIED")
    form = {"Content-Type": _FORM["Content-Type"], **headers}
    forged = api.call(
        "POST", "/login", content=f"token={TOKEN}&next=/", headers=form, follow_redirects=False
    )
    api.check(forged, status=403, code="PERMISSION_DENIED")
    assert api.call("GET", "/index.json").status_code == 200  # still signed in
