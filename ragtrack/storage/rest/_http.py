"""The REST store's HTTP transport: one urllib3 pool, JSON in and out, and the
server's error bodies turned back into the ragtrack exceptions they came from.

Failures split in two. What the server *answered* with an error body
(``{"error": {"code", "message", "field"}}``) is re-raised as the class its code
names (:func:`ragtrack.exceptions.error_class`). Everything that says "the
server cannot answer right now" — connection refused or reset, timeouts, HTTP
502, 503, 504, 408 and 429, any 5xx without a ragtrack error body (a proxy's HTML
page) — is a :class:`~ragtrack.exceptions.StoreUnavailableError`, which the
spooling layer keeps and replays. A 500 *with* a ragtrack error body is the
server refusing that request (a bug or bad input it did not catch): it is
re-raised like a 4xx, so one bad write never stalls the writes behind it.
Reads (GET, DELETE) are retried here a few times first; writes are not,
because the spool retries them with their batch ids.

Example:
    >>> t = HttpTransport("http://127.0.0.1:1/prefix/")
    >>> t.base_url
    'http://127.0.0.1:1/prefix'
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import urllib3

from ragtrack._env import seconds_from_env
from ragtrack._version import __version__
from ragtrack.exceptions import (
    AuthenticationError,
    InvalidArgumentError,
    InvalidFilterError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RagtrackError,
    StoreError,
    StoreUnavailableError,
    error_class,
)
from ragtrack.storage.rest import _wire

#: Seconds to wait for a TCP connection to the server.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for a response (``$RAGTRACK_HTTP_TIMEOUT`` overrides).
DEFAULT_READ_TIMEOUT = 60.0
#: Pauses before each retry of a read that found the server unavailable: a
#: restarting server or a dropped keep-alive connection usually answers on the
#: next try, while a server that is down fails within a second.
RETRY_DELAYS = (0.05, 0.2, 0.5)

#: A query parameter's value: a list repeats the name, ``None`` leaves it out.
QueryValue = str | int | Sequence[str] | None
#: Methods that are retried here; writes go back to the caller (and the spool).
_RETRIED = frozenset({"GET", "DELETE"})
#: Connections kept per server: SDK flushes, heartbeats and reader threads at once.
MAX_CONNECTIONS = 16

_JSON_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": f"ragtrack/{__version__}",
}
_FILTER_MESSAGE = re.compile(r"(?s)(.*?) at position (\d+):\n  (.*)\n *\^\Z")


def read_timeout_from_env() -> float:
    """``$RAGTRACK_HTTP_TIMEOUT`` seconds, default 60."""
    return seconds_from_env("RAGTRACK_HTTP_TIMEOUT", DEFAULT_READ_TIMEOUT)


def server_url(url: str) -> str:
    """``url`` checked and normalised: no trailing ``/``, no ``user:password@``
    (credentials go in the token, and URLs are shown in messages).

    Example:
        >>> server_url("HTTP://u:secret@Tracking:8650/ragtrack/")
        'http://tracking:8650/ragtrack'
    """
    try:
        parsed = urllib3.util.parse_url(url)
    except urllib3.exceptions.LocationParseError as e:
        raise InvalidArgumentError(f"invalid server URL {url!r}: {e}", field="uri") from e
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https") or not parsed.host:
        raise InvalidArgumentError(
            f"invalid server URL {url!r}: use http(s)://host:port[/prefix]", field="uri"
        )
    if parsed.query or parsed.fragment:
        raise InvalidArgumentError(
            f"invalid server URL {url!r}: it may not have a query or fragment", field="uri"
        )
    port = f":{parsed.port}" if parsed.port else ""
    return f"{scheme}://{parsed.host}{port}{(parsed.path or '').rstrip('/')}"


def quote(segment: str) -> str:
    """One path segment, every reserved character escaped (``/`` included).

    ``.`` and ``..`` are escaped too, or clients and proxies would resolve them.

    Example:
        >>> quote("a/b c"), quote("..")
        ('a%2Fb%20c', '%2E%2E')
    """
    if segment in (".", ".."):
        return segment.replace(".", "%2E")
    return urllib.parse.quote(segment, safe="")


class HttpTransport:
    """JSON requests to one server; thread-safe, connections are kept alive.

    Args:
        url: the server, ``http(s)://host:port`` with an optional path prefix
            (a server behind a proxy at ``https://example.org/ragtrack``).
        token: sent as ``Authorization: Bearer <token>``; never shown in messages.
        read_timeout: seconds to wait for a response (default
            ``$RAGTRACK_HTTP_TIMEOUT`` or 60).
    """

    def __init__(
        self, url: str, token: str | None = None, *, read_timeout: float | None = None
    ) -> None:
        self.base_url = server_url(url)
        self._headers = dict(_JSON_HEADERS)
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.read_timeout = read_timeout if read_timeout is not None else read_timeout_from_env()
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=MAX_CONNECTIONS,
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=self.read_timeout),
            retries=False,
        )

    def __repr__(self) -> str:
        return f"<HttpTransport {self.base_url}>"

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one request and return the parsed JSON answer (``None`` for no body).

        ``path`` starts with ``/`` and is already quoted (see :func:`quote`);
        ``query`` values of ``None`` are left out, a list repeats its name
        (``metric=a&metric=b``); ``body`` is JSON-encoded unless it is
        ``bytes`` (a body encoded already).
        """
        if query:
            pairs = [(k, v) for k, v in query.items() if v is not None]
            if pairs:
                path = f"{path}?{urllib.parse.urlencode(pairs, doseq=True)}"
        payload = body if body is None or isinstance(body, bytes) else _wire.dumps(body)
        delays = RETRY_DELAYS if method in _RETRIED else ()
        attempt = 0
        while True:
            try:
                return self._send(method, path, payload)
            except _RetryableError as e:
                if attempt >= len(delays):
                    raise e.error from e.__cause__
                time.sleep(delays[attempt])
                attempt += 1

    def release(self) -> None:
        """Close pooled connections; the next request opens new ones."""
        self._pool.clear()

    def _send(self, method: str, path: str, payload: bytes | None) -> Any:
        url = self.base_url + path
        try:
            response = self._pool.urlopen(
                method, url, body=payload, headers=self._headers, redirect=False
            )
        except urllib3.exceptions.ReadTimeoutError as e:
            # Not retried: the server may still be working on it, and waiting the
            # read timeout again and again would stall the caller for minutes.
            reason = f"no answer within {self.read_timeout:g} s (RAGTRACK_HTTP_TIMEOUT)"
            raise self._unavailable(method, path, reason) from e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise _RetryableError(self._unavailable(method, path, _reason(e))) from e
        status, data = response.status, response.data
        if 200 <= status < 300:
            if not data:
                return None
            try:
                return _wire.loads(data)
            except InvalidArgumentError as e:
                raise StoreError(
                    f"{method} {self.base_url}{path.split('?', 1)[0]} answered HTTP {status} "
                    f"with a body that is not JSON; is {self.base_url} a ragtrack server?"
                ) from e
        error = self._error(method, path, status, data)
        if isinstance(error, StoreUnavailableError):
            raise _RetryableError(error)
        raise error

    def _unavailable(self, method: str, path: str, reason: str) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"the ragtrack server at {self.base_url} is unavailable "
            f"({method} {path.split('?', 1)[0]}: {reason})"
        )

    def _error(self, method: str, path: str, status: int, data: bytes) -> RagtrackError:
        payload = error_payload(data)
        if is_unavailable(status, payload):
            detail = f"HTTP {status}" + (f": {payload[1]}" if payload else "")
            return self._unavailable(method, path, detail)
        if payload is None:
            # Not the ragtrack server talking: a proxy, or a different service.
            cls = _STATUS_CLASSES.get(status, StoreError)
            return cls(
                f"{method} {self.base_url}{path.split('?', 1)[0]} answered HTTP {status} "
                f"without a ragtrack error body; is {self.base_url} a ragtrack server?"
            )
        return rebuild_error(*payload)


#: Answers that mean "try again later", body or not: overloaded or restarting,
#: or (408) the server gave up waiting for a slow request body.
_UNAVAILABLE_STATUSES = frozenset({408, 429, 502, 503, 504})


def is_unavailable(status: int, payload: tuple[str, str, str | None] | None) -> bool:
    """Whether an error answer means "try again later" rather than "not this request".

    Example:
        >>> is_unavailable(503, None), is_unavailable(500, None)
        (True, True)
        >>> is_unavailable(500, ("INTERNAL_ERROR", "bug", None)), is_unavailable(404, None)
        (False, False)
    """
    if status in _UNAVAILABLE_STATUSES:
        return True
    return status >= 500 and (payload is None or payload[0] == StoreUnavailableError.code)


def rebuild_error(code: str, message: str, field: str | None) -> RagtrackError:
    """The exception a server raised, from its error body.

    Example:
        >>> e = rebuild_error("INVALID_FILTER", "unexpected end at position 3:\\n  a <\\n     ^",
        ...                   "filter")
        >>> type(e).__name__, e.position, e.text
        ('InvalidFilterError', 3, 'a <')
    """
    cls = error_class(code)
    try:
        error = cls(message, field=field)
    except TypeError:
        # A class with its own constructor, e.g. InvalidFilterError(reason, text,
        # position): keep the message exactly as raised, then recover what it holds.
        error = cls.__new__(cls)
        RagtrackError.__init__(error, message, field=field)
        if isinstance(error, InvalidFilterError):
            match = _FILTER_MESSAGE.match(message)
            reason, position, text = match.groups() if match else (message, "0", "")
            error.reason, error.text, error.position = reason, text, int(position)
    if cls is RagtrackError and code != RagtrackError.code:
        error.code = code  # a code this client does not know yet
    return error


_STATUS_CLASSES: dict[int, type[RagtrackError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    413: PayloadTooLargeError,
}


class _RetryableError(Exception):
    """Carries a StoreUnavailableError through the retry loop of ``request``."""

    def __init__(self, error: StoreUnavailableError) -> None:
        super().__init__(error.message)
        self.error = error


def error_payload(data: bytes) -> tuple[str, str, str | None] | None:
    try:
        error = _wire.loads(data)["error"]
        code, message, field = error["code"], error["message"], error.get("field")
    except (InvalidArgumentError, TypeError, KeyError, AttributeError):
        return None
    if not isinstance(code, str) or not isinstance(message, str):
        return None
    return code, message, field if isinstance(field, str) else None


def _reason(error: BaseException) -> str:
    # urllib3 wraps the socket error; the innermost one says what happened.
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    return text.split(": ", 1)[-1] if text.startswith("<") else text
