"""Background threads that leave Ctrl-C and SIGTERM to the job's main thread.

Python runs signal handlers in the main thread, but the kernel hands a
process-directed signal to any thread that does not block it. When it picks one
of ours, the handler only runs once the main thread next executes Python code:
a training loop blocked in ``time.sleep``, a socket or a C extension would not
see its KeyboardInterrupt (or ragtrack's SIGTERM handler) until that call
returns. So every thread ragtrack starts blocks SIGINT and SIGTERM for itself.

Subprocesses started from such a thread (``git`` while capturing metadata)
inherit the mask: they are short, and killed outright on their timeout.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

_LEFT_TO_MAIN = {signal.SIGINT, signal.SIGTERM}


def daemon_thread(
    target: Callable[..., object], *, name: str, args: tuple[Any, ...] = ()
) -> threading.Thread:
    """A daemon thread (not started) running ``target(*args)`` with SIGINT and
    SIGTERM blocked, so the kernel delivers them to the main thread.

    Example:
        >>> done = []
        >>> t = daemon_thread(done.append, name="example", args=(1,))
        >>> t.start(); t.join(); done
        [1]
    """

    def run() -> None:
        if hasattr(signal, "pthread_sigmask"):  # not on Windows, which has no such choice
            signal.pthread_sigmask(signal.SIG_BLOCK, _LEFT_TO_MAIN)
        target(*args)

    return threading.Thread(target=run, name=name, daemon=True)
