"""Rules for artifact paths and run ids, shared by every artifact store.

An artifact path is relative, ``/``-separated and names a file under the run's
artifacts: ``model/weights.bin``. The rules keep a path from leaving the run's
directory on any backend (local disk, object storage, the server's URL space).
"""

from __future__ import annotations

import re
import unicodedata

from ragtrack.exceptions import InvalidArgumentError, StoreError
from ragtrack.storage._input import is_run_id

#: Longest artifact path, in characters.
MAX_PATH_LENGTH = 1024
#: Longest path segment, in UTF-8 bytes (the common file system limit).
MAX_SEGMENT_BYTES = 255
#: Segments starting with this are the stores' own (upload temp files); users may not use them.
RESERVED_PREFIX = ".ragtrack-"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def artifact_path_problem(path: object, *, prefix: bool = False) -> str | None:
    """Why ``path`` cannot name an artifact, or ``None`` when it can.

    With ``prefix``, ``path`` is a listing prefix: it may be empty, end with
    ``/`` and end in a partial segment.

    Example:
        >>> artifact_path_problem("model/weights.bin") is None
        True
        >>> artifact_path_problem("../secret")
        "it has a '..' segment"
    """
    if not isinstance(path, str):
        return f"it is a {type(path).__name__}, not a str"
    if not path:
        return None if prefix else "it is empty"
    if len(path) > MAX_PATH_LENGTH:
        return f"it is {len(path)} characters long; the limit is {MAX_PATH_LENGTH}"
    if "\x00" in path:
        return "it contains a NUL character"
    if "\\" in path:
        return "it contains a backslash; separate directories with '/'"
    if _CONTROL.search(path):
        return "it contains a control character (newline, tab, ...)"
    if path.startswith("/") or _DRIVE.match(path):
        return "it is absolute; artifact paths are relative to the run, like 'model/weights.bin'"
    segments = path.split("/")
    if prefix:
        # The last piece of a prefix may be partial ("model/we") or empty ("model/").
        last = segments.pop()
        if last == "..":
            return "it has a '..' segment"
    for segment in segments:
        if segment == "..":
            return "it has a '..' segment"
        if segment == ".":
            return "it has a '.' segment"
        if not segment:
            return "it has an empty segment ('//' or a trailing '/')"
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            return f"the segment {segment[:40]!r}... is over {MAX_SEGMENT_BYTES} bytes"
        if segment.startswith(RESERVED_PREFIX):
            return f"segments starting with {RESERVED_PREFIX!r} are reserved for upload temp files"
    return None


def validate_artifact_path(path: object) -> str:
    """``path`` in normal form (Unicode NFC), or InvalidArgumentError (field
    ``"path"``) saying what is wrong with it.

    Rejected: empty paths, absolute paths, ``..`` and ``.`` segments, empty
    segments (``a//b``, a trailing ``/``), backslashes, NUL and other control
    characters, paths over 1,024 characters or segments over 255 bytes, and
    segments starting with ``.ragtrack-`` (the stores' temp files). Any other
    Unicode is fine.

    Example:
        >>> validate_artifact_path("plots/recall@10 — ü.png")
        'plots/recall@10 — ü.png'
        >>> validate_artifact_path("a//b")
        Traceback (most recent call last):
        ...
        ragtrack.exceptions.InvalidArgumentError: invalid artifact path 'a//b': it has an empty segment ('//' or a trailing '/')
    """  # noqa: E501
    problem = artifact_path_problem(path)
    if problem is not None:
        raise InvalidArgumentError(f"invalid artifact path {_shown(path)}: {problem}", field="path")
    # NFC so that a name typed on macOS (NFD) and on Linux names the same artifact.
    return unicodedata.normalize("NFC", path)  # type: ignore[arg-type]


def validate_artifact_prefix(prefix: object) -> str:
    """A listing prefix in normal form; the rules of :func:`validate_artifact_path`
    except that it may be empty, end with ``/`` or in a partial segment.

    Example:
        >>> validate_artifact_prefix("model/")
        'model/'
    """
    problem = artifact_path_problem(prefix, prefix=True)
    if problem is not None:
        raise InvalidArgumentError(
            f"invalid artifact prefix {_shown(prefix)}: {problem}", field="prefix"
        )
    return unicodedata.normalize("NFC", prefix)  # type: ignore[arg-type]


def checked_listed_path(path: object, prefix: str, source: str) -> str:
    """A path that an artifact store (a server, possibly hostile) *sent*, held
    to the rules uploads are held to, and inside the listed ``prefix``; else
    StoreError naming ``source``. Downloads write files at these paths, so one
    like ``../../.bashrc`` must never get through.

    Example:
        >>> checked_listed_path("ckpt/a.bin", "ckpt/", "http://h")
        'ckpt/a.bin'
        >>> checked_listed_path("ckpt/../../.bashrc", "ckpt/", "http://h")
        Traceback (most recent call last):
        ...
        ragtrack.exceptions.StoreError: http://h sent an unsafe artifact path 'ckpt/../../.bashrc' (it has a '..' segment); nothing is written for it
    """  # noqa: E501
    problem = artifact_path_problem(path)
    if problem is None and unicodedata.normalize("NFC", path) != path:  # type: ignore[arg-type]
        problem = "it is not in Unicode NFC form, as stored paths are"
    if problem is None and not path.startswith(prefix):  # type: ignore[attr-defined]
        problem = f"it is not under the prefix {prefix!r} that was asked for"
    if problem is not None:
        raise StoreError(
            f"{source} sent an unsafe artifact path {_shown(path)} ({problem}); "
            f"nothing is written for it"
        )
    return path  # type: ignore[return-value]


def validate_run_id(run_id: object) -> str:
    """``run_id`` if it is 1-64 letters, digits, ``-`` or ``_`` (never a path
    separator or dot), else InvalidArgumentError (field ``"run_id"``).

    Example:
        >>> validate_run_id("3f2a9c1b0d4e5f60")
        '3f2a9c1b0d4e5f60'
    """
    if not is_run_id(run_id):
        raise InvalidArgumentError(
            f"invalid run id {_shown(run_id)}: use 1-64 letters, digits, '-' or '_'",
            field="run_id",
        )
    return run_id


def _shown(value: object) -> str:
    """``repr(value)``, shortened so that a 10,000-character path makes a readable error."""
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:100]}... ({len(text)} characters)"
