"""Ending runs that their script did not finish: at interpreter exit, after an
uncaught exception, and on SIGTERM.

Installed once per process, on the first ``ragtrack.init``.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

from ragtrack.entities import RunStatus

if TYPE_CHECKING:
    from ragtrack.sdk.run import Run

logger = logging.getLogger("ragtrack")

_active: list[Run] = []
_installed = False
_uncaught: tuple[type[BaseException], BaseException, TracebackType | None] | None = None


def register(run: Run) -> None:
    _install()
    _active.append(run)


def unregister(run: Run) -> None:
    if run in _active:
        _active.remove(run)


def current_run() -> Run | None:
    """The most recently started run that has not finished, if any."""
    return _active[-1] if _active else None


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(_finish_all_at_exit)
    previous_hook = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        global _uncaught
        _uncaught = (exc_type, exc, tb)
        previous_hook(exc_type, exc, tb)

    sys.excepthook = excepthook
    # Only take over SIGTERM when nobody else handles it (a framework may have).
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _finish_all(status: RunStatus, error: str | None) -> None:
    for run in reversed(list(_active)):
        try:
            run.finish(status, error)
        except Exception:
            logger.exception("ragtrack: could not finish run %s", run.id)


def _finish_all_at_exit() -> None:
    from ragtrack.sdk.run import status_for

    if _uncaught is not None:
        _finish_all(*status_for(*_uncaught))
    else:
        _finish_all(RunStatus.COMPLETED, None)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _finish_all(RunStatus.STOPPED, "stopped by SIGTERM")
    # Die the way SIGTERM would have killed us, so parents see the usual status.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
