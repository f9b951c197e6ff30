"""Names with ``/`` in URL path segments.

Project and experiment names may contain ``/`` (``team/search``); clients send
it escaped as ``%2F`` inside one path segment. ASGI servers hand the app a
*decoded* path, where that slash would split the segment and match no route
(or the wrong one), so :class:`EncodedSlashMiddleware` re-decodes the raw path
segment by segment, standing in NUL for an escaped slash, and the API routes
turn it back into ``/`` in their path parameters (:func:`restore_slashes`).
NUL cannot be part of any valid name, so a path holding both ``%2F`` and
``%00`` is refused rather than guessed at.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.server._responses import ragtrack_error_response

_PLACEHOLDER = "\x00"
_MARK = "ragtrack.encoded_slash"


class EncodedSlashMiddleware:
    """Keep ``%2F`` inside its path segment (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and b"%2f" in raw.lower():
            if b"%00" in raw:
                error = InvalidArgumentError(
                    "a URL path may not contain an escaped NUL (%00)", field="path"
                )
                await ragtrack_error_response(error)(scope, receive, send)
                return
            segments = (
                unquote_to_bytes(s).decode("utf-8", "replace").replace("/", _PLACEHOLDER)
                for s in bytes(raw).decode("latin-1").split("/")
            )
            # In place, not a copy: the metrics middleware outside reads the route
            # that routing records in this scope.
            scope["path"] = "/".join(segments)
            scope[_MARK] = True
        await self.app(scope, receive, send)


def restore_slashes(scope: Scope) -> None:
    """Turn the stand-ins in a routed request's path parameters back into ``/``."""
    if scope.get(_MARK):
        scope["path_params"] = {
            key: value.replace(_PLACEHOLDER, "/") if isinstance(value, str) else value
            for key, value in scope.get("path_params", {}).items()
        }
