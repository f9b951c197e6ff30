"""uvicorn's HTTP/1.1 protocol, answering the requests it refuses itself in the
API's error shape.

uvicorn answers a request it cannot parse — a URL beyond what its parser takes
(about 64 KiB with httptools), a malformed request line or header — with a
plain-text 400 before the app sees it. Clients of the API read
``{"error": {"code", "message", "field"}}`` from every failure, so these get it
too: 414 ``URI_TOO_LONG`` when the URL is what overflowed, else 400.
``ragtrack server`` and ``ragtrack ui`` run uvicorn with :func:`http_protocol`
(an import string, so ``--workers`` processes load it too).
"""

from __future__ import annotations

import importlib.util
import json

#: A URL this long that the parser refused is "too long" rather than "malformed".
LONG_URL = 8192


def refusal(url_length: int) -> bytes:
    """The whole response to a request the parser refused (the connection closes).

    Example:
        >>> refusal(0).split(b"\\r\\n")[0]
        b'HTTP/1.1 400 Bad Request'
        >>> refusal(70_000).split(b"\\r\\n")[0]
        b'HTTP/1.1 414 URI Too Long'
    """
    error: dict[str, str | None]
    if url_length > LONG_URL:
        status = b"414 URI Too Long"
        error = {
            "code": "URI_TOO_LONG",
            "message": f"the request URL is too long (over {url_length:,} bytes were read): "
            f"send a long filter or list of ids in several shorter requests",
            "field": "url",
        }
    else:
        status = b"400 Bad Request"
        error = {
            "code": "INVALID_ARGUMENT",
            "message": "the request is not valid HTTP/1.1 (its request line or headers)",
            "field": None,
        }
    body = json.dumps({"error": error}).encode()
    head = (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
    )
    return head + body


_HAS_HTTPTOOLS = importlib.util.find_spec("httptools") is not None

if _HAS_HTTPTOOLS:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
        """httptools' protocol with :func:`refusal` in place of its plain-text 400."""

        def send_400_response(self, msg: str) -> None:
            self.transport.write(refusal(len(self.url)))
            self.transport.close()


def http_protocol() -> str:
    """What to pass as ``uvicorn.run(http=...)``: this module's protocol, or
    uvicorn's own choice where httptools is not installed."""
    if not _HAS_HTTPTOOLS:  # pragma: no cover - uvicorn[standard] installs it
        return "auto"
    return f"{__name__}:JsonErrorHttpToolsProtocol"
