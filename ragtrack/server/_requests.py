"""Request bodies: the size limit (413), the read timeout (408) and well-formed
text, before FastAPI parses JSON.

Every API route uses :class:`WireRoute`, whose requests read their body through
:class:`LimitedRequest`. Only JSON bodies are read that way; artifact uploads
stream the body and are not limited in size. Every body, uploads included, is
read through :func:`timed_chunks`: a client that stops sending for the server's
``--body-timeout`` seconds gets 408 and its connection is closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import anyio
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ragtrack.exceptions import (
    InvalidArgumentError,
    PayloadTooLargeError,
    RagtrackError,
    RequestTimeoutError,
)
from ragtrack.server._paths import restore_slashes

# A \uD800-\uDFFF escape: a surrogate, legitimate only as half of a pair.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


class BodyError(HTTPException):
    """A ragtrack error found while reading the body.

    FastAPI turns any other exception raised while it reads a body into a bare
    400, so these travel as an HTTPException and are unwrapped by the handler.
    """

    def __init__(self, error: RagtrackError) -> None:
        super().__init__(status_code=error.http_status, detail=error.message)
        self.error = error


class LimitedRequest(Request):
    """A request whose :meth:`body` refuses more than the server's limit."""

    _checked_body: bytes | None = None

    async def body(self) -> bytes:
        if self._checked_body is None:
            limit: int = self.app.state.settings.max_body_bytes
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BodyError(_too_large(limit))
            chunks, size = [], 0
            try:
                async for chunk in timed_chunks(self, "the request body"):
                    size += len(chunk)
                    if size > limit:
                        raise BodyError(_too_large(limit))
                    chunks.append(chunk)
            except RequestTimeoutError as e:
                raise BodyError(e) from None
            body = b"".join(chunks)
            if _SURROGATE_ESCAPE.search(body):
                try:
                    _check_no_lone_surrogate(body)
                except RecursionError:
                    raise BodyError(too_deep()) from None
            self._checked_body = body
        return self._checked_body

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise BodyError(too_deep()) from None
        # Refused here, not when validating or storing meets Python's recursion
        # limit: a RecursionError anywhere else is a bug (500), not the input's fault.
        if nesting_depth(value) > MAX_BODY_DEPTH:
            raise BodyError(too_deep())
        return value


#: The deepest nesting of lists and objects a JSON body may have.
MAX_BODY_DEPTH = 100


def nesting_depth(value: Any) -> int:
    """How many lists and objects deep ``value`` goes, without recursing.

    Example:
        >>> nesting_depth({"a": [1, {"b": []}]}), nesting_depth(3)
        (4, 0)
    """
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth)
        # Scalars are skipped here, not pushed: a batch body holds many of them.
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def too_deep() -> InvalidArgumentError:
    """The error for a JSON body nested deeper than the server can follow."""
    return InvalidArgumentError(
        f"the request body is nested too deeply (more than {MAX_BODY_DEPTH} levels of lists "
        f"or objects): flatten it",
        field="body",
    )


async def timed_chunks(request: Request, what: str) -> AsyncIterator[bytes]:
    """The chunks of ``request``'s body as they arrive; RequestTimeoutError (408)
    when none arrives for the server's ``body_timeout`` seconds. ``what`` names
    the body in that error ("the upload of 'model.bin'")."""
    timeout: float = request.app.state.settings.body_timeout
    chunks = request.stream()
    while True:
        try:
            with anyio.fail_after(timeout):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeoutError(
                f"{what} sent nothing for {timeout:g} s (ragtrack server --body-timeout); "
                f"nothing of it was stored",
                field="body",
            ) from None
        yield chunk


class WireRoute(APIRoute):
    """An API route whose requests are :class:`LimitedRequest` (and whose path
    parameters may hold escaped slashes, see ``_paths.py``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            restore_slashes(request.scope)
            return await handler(LimitedRequest(request.scope, request.receive))

        return limited


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request body is larger than this server's limit of {limit:,} bytes "
        f"(ragtrack server --max-body-mb)",
        field="body",
    )


def _check_no_lone_surrogate(body: bytes) -> None:
    # JSON may spell a lone surrogate (a "\ud800" escape); it is no character,
    # cannot be stored as UTF-8 and would fail deep inside the database driver.
    try:
        text = json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return  # not JSON at all: FastAPI reports that
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError(
            InvalidArgumentError(
                "the request body holds a lone UTF-16 surrogate escape (\\ud800-\\udfff "
                "not part of a pair), which is not a character",
                field="body",
            )
        ) from None
