"""Turning exceptions into what a shell user sees: ``Error: ...`` and an exit code.

Exit codes (documented in docs/cli.md, stable across versions):

* 0 - success.
* 1 - the command could not do its job: a run or project that does not exist, a
  store that cannot be opened or migrated, a refused confirmation, an unexpected
  error.
* 2 - the user's input is wrong: click usage errors (unknown option, missing
  argument) and :class:`~ragtrack.exceptions.InvalidArgumentError` (a bad filter
  or order-by, an ambiguous run id prefix, ...). Fix the command and retry.

Example:
    >>> from ragtrack.exceptions import RunNotFoundError
    >>> err = translate(RunNotFoundError("no run with id 'abcd'"))
    >>> err.exit_code, err.format_message()
    (1, "no run with id 'abcd'")
"""

from __future__ import annotations

import click

from ragtrack.exceptions import InvalidArgumentError, RagtrackError


class CommandFailed(click.ClickException):
    """The command could not do its job; printed as ``Error: <message>``, exit 1."""

    exit_code = 1


class BadInput(click.ClickException):
    """The user's input is wrong; printed as ``Error: <message>``, exit 2.

    Unlike :class:`click.UsageError` no usage line is printed: the message (a
    filter with a caret under the problem, say) is the useful part.
    """

    exit_code = 2


def translate(error: BaseException) -> click.ClickException:
    """The click exception to raise for ``error``, which the user did not ask to debug."""
    if isinstance(error, InvalidArgumentError):
        return BadInput(error.message)
    if isinstance(error, RagtrackError):
        return CommandFailed(error.message)
    message = str(error).strip()
    detail = f": {message}" if message else ""
    return CommandFailed(
        f"unexpected {type(error).__name__}{detail} (run with --debug for the traceback)"
    )
