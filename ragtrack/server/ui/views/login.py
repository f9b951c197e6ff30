"""Signing in to a server that has a token: ``/login`` and ``/logout``.

A browser cannot attach ``Authorization: Bearer`` to a link it follows, so the
sign-in form checks the token once and keeps it in an HttpOnly, SameSite=Strict
cookie that :class:`~ragtrack.server.auth.AuthMiddleware` accepts instead of
the header. On a server without a token both pages just lead home.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ragtrack.exceptions import AuthenticationError
from ragtrack.server.auth import TOKEN_COOKIE, Authenticator, NoAuthenticator
from ragtrack.server.ui._links import links_for
from ragtrack.server.ui._pages import render, ui_router

router = ui_router()

#: How long a browser stays signed in.
COOKIE_MAX_AGE = 30 * 24 * 3600


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


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
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
    home = links_for(request).home()
    response = RedirectResponse(f"{home}login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path=home)
    return response
