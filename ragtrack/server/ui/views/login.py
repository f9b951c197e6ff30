"""Signing in to a server that has a token: ``/login`` and ``/logout``.

A browser cannot attach ``Authorization: Bearer`` to a link it follows, so the
sign-in form checks the token once and keeps it in an HttpOnly, SameSite=Strict
cookie that :class:`~ragtrack.server.auth.AuthMiddleware` accepts instead of
the header. On a server without a token both pages just lead home.

Both posts are guarded as any form that changes who is signed in must be: the
body is read only up to :data:`MAX_FORM_BYTES` (anyone may post here, before
signing in), and only from this server's own pages: ``SameSite=Strict`` keeps
other *sites* out, but a page on another port of the same host is the same site.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ragtrack.exceptions import AuthenticationError, PayloadTooLargeError, PermissionDeniedError
from ragtrack.server._requests import timed_chunks
from ragtrack.server._responses import ragtrack_error_response
from ragtrack.server.auth import TOKEN_COOKIE, Authenticator, NoAuthenticator
from ragtrack.server.ui._links import links_for
from ragtrack.server.ui._pages import render, ui_router

router = ui_router()

#: How long a browser stays signed in.
COOKIE_MAX_AGE = 30 * 24 * 3600

#: The largest sign-in form: a token and a path to go back to.
MAX_FORM_BYTES = 8 * 1024


def safe_next(target: str | None, home: str) -> str:
    """``target`` when it is a path on this server, else ``home`` (no open redirects).

    Example:
        >>> safe_next("/runs/abc?x=1", "/"), safe_next("//evil.example/", "/")
        ('/runs/abc?x=1', '/')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    return target


def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


@router.get("/login")
def login_form(request: Request) -> Response:
    home = links_for(request).home()
    target = safe_next(request.query_params.get("next"), home)
    if isinstance(_authenticator(request), NoAuthenticator):
        return RedirectResponse(target, status_code=303)
    return render(request, "login.html", status_code=200, next=target, error=None)


def same_origin(request: Request) -> bool:
    """Whether a form post comes from a page of this server.

    The browser's ``Sec-Fetch-Site`` says so when sent (every current browser
    does): only ``same-origin`` passes; ``same-site`` is a page on another port
    of this host, ``cross-site`` one elsewhere. It holds behind a reverse proxy,
    which passes the header on but may rewrite ``Host`` (nginx's default
    ``proxy_pass`` sends the upstream's name).

    Without it, the ``Origin`` (or, without one, the ``Referer``) must name the
    host the request was sent to; a post with neither is refused. The scheme is
    not compared: behind a proxy that ends TLS the server sees ``http`` while
    the page was ``https``. ``X-Forwarded-Host`` is not consulted: the server
    trusts no proxy header for its host, and any client can send one.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() == "same-origin"
    source = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    if not source or not host or source == "null":
        return False
    return urlsplit(source).netloc.lower() == host.lower()


def _cross_site(action: str) -> Response:
    return ragtrack_error_response(
        PermissionDeniedError(
            f"{action} is accepted only from this server's own pages (the browser's "
            f"Sec-Fetch-Site is not same-origin, or without it the request's Origin or "
            f"Referer names another host, or neither was sent)"
        )
    )


async def _form(request: Request) -> dict[str, list[str]] | None:
    """The posted form, or ``None`` when it is larger than :data:`MAX_FORM_BYTES`
    (never read further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return None
    body = bytearray()
    async for chunk in timed_chunks(request, "the sign-in form"):
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return parse_qs(body.decode("utf-8", "replace"))


@router.post("/login")
async def login(request: Request) -> Response:
    if not same_origin(request):
        return _cross_site("signing in")
    form = await _form(request)
    if form is None:
        too_large = ragtrack_error_response(
            PayloadTooLargeError(
                f"a sign-in form is at most {MAX_FORM_BYTES:,} bytes", field="body"
            )
        )
        too_large.headers["Connection"] = "close"  # the rest of the body is not read
        return too_large
    token = (form.get("token") or [""])[0].strip()
    home = links_for(request).home()
    target = safe_next((form.get("next") or [""])[0], home)
    try:
        _authenticator(request).authenticate(f"Bearer {token}")
    except AuthenticationError as e:
        message = "Enter the server's token." if not token else e.message
        return render(request, "login.html", status_code=401, next=target, error=message)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path=home,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    if not same_origin(request):
        return _cross_site("signing out")
    home = links_for(request).home()
    response = RedirectResponse(f"{home}login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path=home)
    return response
