"""The one exception hierarchy of ragtrack.

Every error a user can act on is a :class:`RagtrackError` with a stable ``code``.
Boundaries translate it: the CLI prints a one-line message and exits with 1 (2 for
usage errors), the REST API maps ``http_status`` to the response (and
the REST client re-raises the class named by ``code``, see :func:`error_class`), and driver
errors are re-raised as ragtrack errors with ``raise ... from e``.

Example:
    >>> try:
    ...     raise RunNotFoundError("no run with id 'abc'")
    ... except RagtrackError as e:
    ...     print(e.code, e.http_status)
    RUN_NOT_FOUND 404
"""

from __future__ import annotations


class RagtrackError(Exception):
    """Base class of every error ragtrack raises on purpose."""

    code: str = "INTERNAL_ERROR"
    http_status: int = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidArgumentError(RagtrackError, ValueError):
    """A value passed by the user is malformed; the message names it and why."""

    code = "INVALID_ARGUMENT"
    http_status = 400


class InvalidFilterError(InvalidArgumentError):
    """A runs filter or order-by expression cannot be parsed.

    ``position`` is the 0-based offset of the offending character in ``text``.
    """

    code = "INVALID_FILTER"

    def __init__(self, reason: str, text: str, position: int) -> None:
        caret = " " * position + "^"
        super().__init__(f"{reason} at position {position}:\n  {text}\n  {caret}", field="filter")
        self.reason = reason
        self.text = text
        self.position = position


class NotFoundError(RagtrackError, LookupError):
    """Something the user named does not exist."""

    code = "NOT_FOUND"
    http_status = 404


class RunNotFoundError(NotFoundError):
    code = "RUN_NOT_FOUND"


class ExperimentNotFoundError(NotFoundError):
    code = "EXPERIMENT_NOT_FOUND"


class ArtifactNotFoundError(NotFoundError):
    code = "ARTIFACT_NOT_FOUND"


class ProjectNotFoundError(NotFoundError):
    code = "PROJECT_NOT_FOUND"


class StoreNotFoundError(NotFoundError):
    """A reader named an embedded store directory that holds no store."""

    code = "STORE_NOT_FOUND"


class AlreadyExistsError(InvalidArgumentError):
    """Creating something (a run with a chosen id, an experiment) that exists."""

    code = "ALREADY_EXISTS"
    http_status = 409


class ConfirmationRequiredError(InvalidArgumentError):
    """A destructive call needs an explicit confirmation; the message says what it
    would delete."""

    code = "CONFIRMATION_REQUIRED"
    http_status = 409


class PayloadTooLargeError(InvalidArgumentError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class RequestTimeoutError(InvalidArgumentError):
    """A request body stopped arriving (the server's ``--body-timeout``)."""

    code = "REQUEST_TIMEOUT"
    http_status = 408


class AuthenticationError(RagtrackError):
    """A server call without valid credentials."""

    code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDeniedError(RagtrackError):
    """Valid credentials that may not do this (roles come with users)."""

    code = "PERMISSION_DENIED"
    http_status = 403


class AmbiguousIdError(InvalidArgumentError):
    """A run id prefix matches more than one run."""

    code = "AMBIGUOUS_ID"


class RunFinishedError(RagtrackError):
    """Logging was attempted on a run that has already finished."""

    code = "RUN_FINISHED"
    http_status = 409


class StoreError(RagtrackError):
    """The storage backend failed (disk full, database locked for too long, ...)."""

    code = "STORE_ERROR"
    http_status = 503


class SchemaVersionError(StoreError):
    """The store's schema is newer or older than this ragtrack understands."""

    code = "SCHEMA_VERSION"


class StoreUnavailableError(StoreError):
    """The store cannot be reached right now (server down, network, HTTP 5xx).

    Writes that fail with it are safe to retry: the spooling layer keeps them
    and sends them again (every write is idempotent).
    """

    code = "STORE_UNAVAILABLE"


def error_class(code: str) -> type[RagtrackError]:
    """The exception class for an error ``code`` (what a REST client re-raises).

    Example:
        >>> error_class("RUN_NOT_FOUND").__name__
        'RunNotFoundError'
        >>> error_class("SOMETHING_NEW").__name__
        'RagtrackError'
    """
    return _BY_CODE.get(code, RagtrackError)


def _subclasses(cls: type[RagtrackError]) -> list[type[RagtrackError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_subclasses(sub))
    return out


_BY_CODE: dict[str, type[RagtrackError]] = {c.code: c for c in _subclasses(RagtrackError)}
