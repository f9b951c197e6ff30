"""What a failed write means, and the warnings that say so once.

One rule for the SDK's background writer, the spool's replay thread and
``ragtrack sync``:

* **retry** — the store could not take the write now: it is unreachable,
  answered 503/502/504, 408, 429 or a non-JSON 5xx (all
  :class:`~ragtrack.exceptions.StoreError`), or refused the credentials (fixable
  by the user). The write is kept and sent again.
* **gone** — :class:`~ragtrack.exceptions.RunNotFoundError`: the run was deleted
  (or its experiment) while a process still logged to it. That is permanent:
  later writes of the run are dropped, with one warning.
* **rejected** — anything else, including an HTTP 500 that carries a ragtrack
  error body: the store refused *this* write. It is kept aside (the spool's
  ``dead`` table) or dropped, reported once, and never holds up the writes after it.

Example:
    >>> from ragtrack.exceptions import InvalidArgumentError, StoreUnavailableError
    >>> outcome_of(StoreUnavailableError("down")), outcome_of(InvalidArgumentError("NUL"))
    (<Outcome.RETRY: 'retry'>, <Outcome.REJECTED: 'rejected'>)
"""

from __future__ import annotations

import enum
import logging
import threading

from ragtrack.exceptions import (
    AuthenticationError,
    PermissionDeniedError,
    RagtrackError,
    RunNotFoundError,
    StoreError,
)

logger = logging.getLogger("ragtrack")


class Outcome(enum.Enum):
    """What to do with a write that raised."""

    RETRY = "retry"  #: keep it and send it again later
    GONE = "gone"  #: its run does not exist any more: drop it and the run's later writes
    REJECTED = "rejected"  #: refused for good: keep it aside, go on with the next


def outcome_of(error: BaseException) -> Outcome:
    """Which :class:`Outcome` a write that raised ``error`` has."""
    if isinstance(error, (StoreError, AuthenticationError, PermissionDeniedError)):
        return Outcome.RETRY
    if isinstance(error, RunNotFoundError):
        return Outcome.GONE
    return Outcome.REJECTED


def describe(error: BaseException) -> str:
    """``CODE: message`` of an error, for warnings and the spool's ``dead`` table."""
    if isinstance(error, RagtrackError):
        return f"{error.code}: {error.message}"
    return f"{type(error).__name__}: {error}"


_lock = threading.Lock()
_said: set[tuple[str, ...]] = set()


def warn_once(key: tuple[str, ...], message: str, *args: object) -> bool:
    """Log ``message`` as a warning unless one with ``key`` was logged already by
    this process; returns whether it was logged. The writer and the spool both
    see a deleted run or a rejected write, and the user should read it once."""
    with _lock:
        if key in _said:
            return False
        _said.add(key)
    logger.warning(message, *args)
    return True


def warn_run_gone(run_id: str, where: str, label: str | None = None) -> bool:
    """The one warning about a run deleted while this process wrote to it."""
    name = f"run {run_id}" + (f" ({label})" if label else "")
    return warn_once(
        ("gone", run_id),
        "ragtrack: %s no longer exists in %s: it was deleted while this process was "
        "logging to it; its further writes are dropped",
        name,
        where,
    )


def warn_rejected(run_id: str, what: str, error: BaseException, where: str, kept: str) -> bool:
    """The one warning per run and reason about a write the store refused."""
    code = getattr(error, "code", type(error).__name__)
    return warn_once(
        ("rejected", run_id, str(code)),
        "ragtrack: %s rejected %s of run %s (%s); %s. Later writes of the run go on; "
        "further rejections for the same reason are not reported again",
        where,
        what,
        run_id,
        describe(error),
        kept,
    )
