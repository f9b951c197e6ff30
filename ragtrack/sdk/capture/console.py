"""A tee of the process's ``sys.stdout`` and ``sys.stderr`` into the run's log.

Only Python-level text writes are seen: output written to ``sys.stdout.buffer``,
to file descriptors 1 and 2 directly (C extensions) or by child processes still
reaches the terminal but is not recorded. Redirecting the descriptors would catch
those too, at the price of breaking ``isatty`` and interleaving with the
terminal; the Python-level tee keeps the user's console exactly as it was.

A ``logging.StreamHandler`` created before the run started (``logging.basicConfig``
before ``ragtrack.init``, or a library that sets up its own handler on import)
holds the original ``sys.stderr`` and is not recorded either; configure logging
after ``ragtrack.init`` to have it captured.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any, TextIO, cast

DEFAULT_LIMIT_BYTES = 10 * 2**20
LIMIT_MARKER = (
    "\n[ragtrack: console capture limit of {limit} bytes reached; further output not recorded]\n"
)

_STREAMS = ("stdout", "stderr")


class ConsoleCapture:
    """Records what the process prints while still printing it.

    :meth:`start` replaces ``sys.stdout`` and ``sys.stderr`` by proxies that
    forward every call to the original stream and record the text written;
    :meth:`drain` hands the recorded text over in order. After ``limit_bytes``
    (UTF-8) have been recorded, recording stops, output keeps flowing, and one
    limit marker is recorded in place of the rest. All methods are thread-safe.

    Example:
        >>> capture = ConsoleCapture()
        >>> capture.start()
        >>> print("epoch 1")  # doctest: +SKIP
        epoch 1
        >>> capture.stop()
        >>> capture.drain()  # doctest: +SKIP
        [('stdout', 'epoch 1\\n')]
    """

    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self._limit = limit_bytes
        # Reentrant: a signal handler that prints runs in the thread that may hold the lock.
        self._lock = threading.RLock()
        self._pieces: list[tuple[str, list[str]]] = []
        self._captured_bytes = 0
        self._limit_reached = False
        self._recording = False
        self._originals: dict[str, TextIO] = {}
        self._proxies: dict[str, _TeeStream] = {}

    @property
    def captured_bytes(self) -> int:
        """UTF-8 bytes recorded since construction, the limit marker excluded."""
        return self._captured_bytes

    @property
    def limit_reached(self) -> bool:
        return self._limit_reached

    def start(self) -> None:
        """Install the proxies; does nothing if already started."""
        with self._lock:
            if self._recording:
                return
            self._recording = True
            for name in _STREAMS:
                original = getattr(sys, name)
                if original is None:  # pythonw and some embedded interpreters have no console
                    continue
                proxy = _TeeStream(original, name, self)
                self._originals[name] = original
                self._proxies[name] = proxy
                setattr(sys, name, cast(TextIO, proxy))

    def stop(self) -> None:
        """Stop recording and put the original streams back.

        A stream is restored only while it is still our proxy: if something else
        wrapped it since, replacing that would undo its work, so our proxy stays
        in its chain and merely forwards from now on. What was recorded before
        stopping can still be drained.
        """
        with self._lock:
            self._recording = False
            for name, proxy in self._proxies.items():
                # Deactivated, not just unhooked, so a later start() cannot record twice.
                proxy._tee_active = False
                if getattr(sys, name) is proxy:
                    setattr(sys, name, self._originals[name])
            self._proxies.clear()
            self._originals.clear()

    def drain(self) -> list[tuple[str, str]]:
        """Return and forget what was recorded since the last drain.

        Returns ``(stream, text)`` pairs in the order written, ``stream`` being
        ``"stdout"`` or ``"stderr"``; consecutive writes to one stream come as one pair.

        Example:
            >>> ConsoleCapture().drain()
            []
        """
        with self._lock:
            pieces, self._pieces = self._pieces, []
        return [(stream, "".join(parts)) for stream, parts in pieces]

    def _record(self, stream: str, text: str) -> None:
        # Every print of the training script comes through here: return early, without
        # the lock, once nothing more will be recorded (checked again under the lock).
        if not text or self._limit_reached or not self._recording:
            return
        if text.isascii():
            size = len(text)
        else:
            try:
                size = len(text.encode("utf-8"))
            except UnicodeEncodeError:
                # Lone surrogates cannot be stored as UTF-8; record what would be stored.
                data = text.encode("utf-8", "replace")
                text, size = data.decode("utf-8"), len(data)
        with self._lock:
            if not self._recording or self._limit_reached:
                return
            room = self._limit - self._captured_bytes
            if size > room:
                text = text.encode("utf-8")[:room].decode("utf-8", "ignore")  # whole characters
                size = len(text.encode("utf-8"))
                self._limit_reached = True
            if text:
                self._append(stream, text)
                self._captured_bytes += size
            if self._limit_reached:
                self._append(stream, LIMIT_MARKER.format(limit=self._limit))

    def _append(self, stream: str, text: str) -> None:
        # Parts are joined at drain time: tqdm-style output makes thousands of tiny writes.
        if self._pieces and self._pieces[-1][0] == stream:
            self._pieces[-1][1].append(text)
        else:
            self._pieces.append((stream, [text]))


class _TeeStream:
    """Stands in for ``sys.stdout``/``sys.stderr``: records writes, delegates everything else.

    Deliberately not an ``io.TextIOBase`` subclass: its methods (``fileno``,
    ``isatty``, ``encoding``...) would shadow the original stream's, whereas
    ``__getattr__`` hands every attribute we do not define to the original.
    """

    def __init__(self, original: TextIO, name: str, capture: ConsoleCapture) -> None:
        self._tee_original = original
        self._tee_name = name
        self._tee_capture = capture
        self._tee_active = True

    def write(self, text: str) -> int:
        written = self._tee_original.write(text)
        # After forwarding, so that a stream that rejects the text records nothing.
        if self._tee_active and isinstance(text, str):
            self._tee_capture._record(self._tee_name, text)
        return written

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_tee_"):  # not yet set, e.g. while copying: avoid recursing
            raise AttributeError(name)
        return getattr(self._tee_original, name)

    def __repr__(self) -> str:
        return f"<ragtrack console tee of {self._tee_original!r}>"
