"""Who is calling: authenticators and the middleware that asks them.

One bearer token shared by a team is all there is today. The pieces are cut so
users and roles can come later without touching endpoints: an
:class:`Authenticator` turns the ``Authorization`` header into a
:class:`Principal` (or refuses), and the middleware puts that principal on
``request.state.principal`` for endpoints that will check roles. Browsers
using the web UI sign in once at ``/login``, which puts the token in an
HttpOnly cookie the middleware reads when there is no header.

The middleware runs before routing and before any body is read, so a caller
without credentials cannot make the server parse a large body. The token is
compared in constant time and never logged; uvicorn's access log records the
request line only, never headers.
"""

from __future__ import annotations

import abc
import hmac
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode

from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ragtrack.exceptions import AuthenticationError
from ragtrack.server._responses import ragtrack_error_response

#: Paths that stay open with a token configured (health checks, API docs, the
#: UI's sign-in page and its static files).
OPEN_PATHS = frozenset({"/healthz", "/api/v1/openapi.json", "/login"})
_OPEN_PREFIXES = ("/docs/", "/static/")

#: The cookie the UI's sign-in page sets: browsers cannot send a bearer header
#: when a user follows a link, so the token travels in an HttpOnly cookie,
#: ``SameSite=Strict`` so that no other site can make the browser use it.
TOKEN_COOKIE = "ragtrack_token"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``roles`` are unused until users exist."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)


#: The caller of a server without authentication.
ANONYMOUS = Principal("anonymous")


class Authenticator(abc.ABC):
    """Decides who sent a request from its ``Authorization`` header."""

    @abc.abstractmethod
    def authenticate(self, authorization: str | None) -> Principal:
        """The caller, or AuthenticationError (401) without valid credentials."""


class NoAuthenticator(Authenticator):
    """Everyone is :data:`ANONYMOUS` (no token configured)."""

    def authenticate(self, authorization: str | None) -> Principal:
        return ANONYMOUS


class BearerTokenAuthenticator(Authenticator):
    """Accepts ``Authorization: Bearer <token>`` with the one configured token.

    Example:
        >>> auth = BearerTokenAuthenticator("s3cret")
        >>> auth.authenticate("Bearer s3cret").name
        'token'
        >>> auth.authenticate("Bearer guess")
        Traceback (most recent call last):
        ...
        ragtrack.exceptions.AuthenticationError: invalid token: the bearer token does not match ...
    """

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the token must not be empty")
        self._token = token.encode()

    def __repr__(self) -> str:
        return "BearerTokenAuthenticator(token='***')"

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthenticationError(
                "this server requires a token: send 'Authorization: Bearer <token>' "
                "(the Python client reads it from RAGTRACK_TOKEN)"
            )
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
        # Headers arrive latin-1 decoded; compare the bytes that were sent.
        sent = credentials.strip().encode("latin-1")
        if not hmac.compare_digest(sent, self._token):
            raise AuthenticationError(
                "invalid token: the bearer token does not match the server's (the Python "
                "client sends RAGTRACK_TOKEN)"
            )
        return Principal("token")


def needs_auth(path: str) -> bool:
    """Whether ``path`` requires credentials when a token is configured: the
    API, ``/metrics`` and every UI page; not health checks, API docs, the
    sign-in page or static files.

    Example:
        >>> needs_auth("/api/v1/runs"), needs_auth("/runs/0123"), needs_auth("/healthz")
        (True, True, False)
        >>> needs_auth("/docs"), needs_auth("/static/ui/ragtrack.css")
        (False, False)
    """
    return not (path in OPEN_PATHS or path == "/docs" or path.startswith(_OPEN_PREFIXES))


def wants_page(scope: Scope) -> bool:
    """Whether a request is a browser asking for a UI page (not the API, not a
    JSON twin), which is sent to the sign-in page rather than given a 401."""
    path: str = scope["path"]
    return (
        scope.get("method") == "GET"
        and not path.startswith("/api/")
        and path != "/metrics"
        and not path.endswith(".json")
    )


class AuthMiddleware:
    """ASGI middleware: authenticate protected paths, 401 JSON otherwise."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization") or _cookie_credentials(scope)
        try:
            principal = self.authenticator.authenticate(header)
        except AuthenticationError as e:
            if needs_auth(scope["path"]):
                if wants_page(scope):
                    await _sign_in_redirect(scope)(scope, receive, send)
                else:
                    await ragtrack_error_response(e)(scope, receive, send)
                return
            principal = ANONYMOUS
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _cookie_credentials(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    cookies = SimpleCookie()
    try:
        cookies.load(raw)
    except CookieError:
        return None
    morsel = cookies.get(TOKEN_COOKIE)
    return f"Bearer {morsel.value}" if morsel is not None and morsel.value else None


def _sign_in_redirect(scope: Scope) -> RedirectResponse:
    target = scope["path"]
    if scope.get("query_string"):
        target += "?" + bytes(scope["query_string"]).decode("latin-1")
    root = str(scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(f"{root}/login?{urlencode({'next': target})}", status_code=303)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
