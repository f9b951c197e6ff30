"""The software environment of a run: interpreter, packages, command line, host."""

from __future__ import annotations

import functools
import getpass
import os
import platform
import shlex
import socket
import sys
from typing import Any

from ragtrack.sdk.capture.redact import redact_args


def environment_info(include_packages: bool = True) -> dict[str, Any]:
    """Describe the interpreter, installed packages and the command that started the run.

    Environment variables are deliberately left out: they routinely hold secrets.
    For the same reason the command line has the values of secret-looking flags
    (``--api-key``, ``--token``, ``--password``...) and URL credentials masked.
    ``command`` is ``sys.argv``; ``command_line`` is a shell-quoted line that
    reruns the process with the same interpreter (``python -m`` and ``-c``
    invocations included, from ``sys.orig_argv``).

    Example:
        >>> info = environment_info(include_packages=False)
        >>> info["pid"] == os.getpid() and "packages" not in info
        True
    """
    info: dict[str, Any] = {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "command": redact_args(list(sys.argv)),
        "command_line": command_line(),
        "cwd": _cwd(),
        "hostname": socket.gethostname(),
        "os": platform.platform(),
        "user": _user(),
        "pid": os.getpid(),
    }
    if include_packages:
        info["packages"] = installed_packages()
    return info


def installed_packages() -> dict[str, str]:
    """Map each installed distribution's name to its version, sorted by name.

    When a name is installed twice on ``sys.path`` the first one, the one that
    imports, wins. Scanning takes ~60 ms, so the result is kept for the life of
    the process (a sweep starting many runs pays once); a copy is returned.

    Example:
        >>> "pytest" in installed_packages()  # doctest: +SKIP
        True
    """
    return dict(_scan_packages())


@functools.cache
def _scan_packages() -> tuple[tuple[str, str], ...]:
    from importlib import metadata  # ~15 ms to import: only when packages are listed

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            name, version = dist.metadata["Name"], dist.version
        # A half-removed install can leave unreadable metadata; skip it rather than fail.
        except Exception:
            continue
        if name and name not in found:
            found[name] = version or ""
    return tuple(sorted(found.items(), key=lambda item: item[0].lower()))


def command_line() -> str:
    """A shell command that reruns this process, e.g. ``/venv/bin/python train.py --lr 0.1``.

    Example:
        >>> command_line().startswith(shlex.quote(sys.executable))
        True
    """
    # sys.orig_argv keeps `-m module` and `-c code`, which sys.argv replaces by a path or "-c".
    args = sys.orig_argv[1:] if sys.orig_argv else sys.argv
    return shlex.join([sys.executable or "python", *redact_args(list(args))])


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the directory was deleted under us
        return None


def _user() -> str | None:
    try:
        return getpass.getuser()
    # Containers often run as a uid with no passwd entry and no USER variable.
    except Exception:
        return None
