"""Security headers on every response.

* ``Content-Security-Policy``: scripts only from this server (no inline script,
  no ``on*=`` handler, nothing from a CDN), no framing (``frame-ancestors
  'none'``), no plugins. Styles may be inline: Plotly and Swagger UI set them
  from their scripts. Images may be ``data:``/``blob:`` URLs (Plotly's PNG
  export, Swagger UI's icons).
* ``X-Content-Type-Options: nosniff``: a browser never runs a response as a
  type it was not declared as (an artifact download sniffed as HTML).
* ``Referrer-Policy: same-origin``: run ids and filters in page URLs do not
  leak to other sites through links.
* ``X-Frame-Options: DENY``: ``frame-ancestors`` for browsers without CSP 2.

A response that sets one of these itself (an artifact download's sandbox
policy) keeps its own.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class SecurityHeadersMiddleware:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
