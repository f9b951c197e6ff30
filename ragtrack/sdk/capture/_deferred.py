"""The slow parts of a run's metadata, gathered off the caller's thread.

Reading git state takes five subprocesses, listing installed packages a scan of
every distribution's metadata, describing the hardware psutil and NVML, and even
the environment's OS name a ``uname`` subprocess the first time: 30-100 ms
together, which ``ragtrack.init`` must not spend before it returns. Each part
is gathered once per process (git once per work tree, again after a commit,
checkout or ``git add`` changes HEAD, the branch or the index) and reused by
later runs, so a sweep of 1,000 runs pays once. A run whose parts are not
known yet gets them from a background thread, stored with ``set_metadata`` as
soon as they are; ``Run.finish`` (also when called at interpreter exit) waits
for that, so the metadata is stored with the run however quickly it ends.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from ragtrack._threads import daemon_thread
from ragtrack.sdk.capture.settings import CaptureSettings
from ragtrack.storage import Store

logger = logging.getLogger("ragtrack")

#: How long ``finish`` waits for metadata still being gathered (git alone may
#: take up to 5 s per command before it gives up).
WAIT_AT_FINISH_S = 30.0

_lock = threading.Lock()
_known: dict[tuple[Any, ...], Any] = {}


def quick_metadata(settings: CaptureSettings, cwd: str) -> tuple[dict[str, Any], list[str]]:
    """What can be stored with the run at once, and the parts left for later.

    Every part is immediate when this process already knows it: a sweep's
    runs after the first are stored whole by ``create_run``.
    """
    metadata: dict[str, Any] = {}
    later: list[str] = []
    if settings.environment:
        base = _known.get(_environment_key())
        packages = _known.get(("packages",)) if settings.packages else {}
        if base is None or packages is None:
            later.append("environment")
        else:
            listed = packages if settings.packages else None
            metadata["environment"] = _environment_of(base, cwd, listed)
    if settings.hardware:
        if ("hardware",) in _known:
            metadata["hardware"] = _known[("hardware",)]
        else:
            later.append("hardware")
    if settings.git:
        known = _known_git(cwd, settings.git_diff_limit_bytes)
        if known is _UNKNOWN:
            later.append("git")
        else:
            metadata["git"] = known
    return metadata, later


class DeferredMetadata:
    """Gathers ``parts`` of a run's metadata on a thread and stores them.

    Never raises into the run: a part that fails is stored as ``{"error": ...}``
    (as :func:`~ragtrack.sdk.capture.collect_metadata` does) and a store that
    refuses (the run was deleted meanwhile) is logged.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        settings: CaptureSettings,
        cwd: str,
        parts: list[str],
    ) -> None:
        self._store = store
        self._run_id = run_id
        self._settings = settings
        self._cwd = cwd
        self._parts = parts
        self._thread = daemon_thread(self._run, name=f"ragtrack-metadata-{run_id[:8]}")

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float = WAIT_AT_FINISH_S) -> None:
        """Until the parts are stored (or ``timeout`` seconds passed: then say so)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning(
                "ragtrack: run %s: system metadata (%s) still not gathered after %g s; "
                "finishing without waiting for it (it is stored if it arrives while the "
                "process lives)",
                self._run_id,
                ", ".join(self._parts),
                timeout,
            )

    def _run(self) -> None:
        metadata: dict[str, Any] = {}
        for name in self._parts:
            metadata[name] = _part(name, self._gatherer(name))
        try:
            self._store.set_metadata(self._run_id, metadata)
        except Exception as e:  # e.g. the run was deleted; the job must go on
            logger.warning("ragtrack: run %s: system metadata not stored: %s", self._run_id, e)

    def _gatherer(self, name: str) -> Callable[[], Any]:
        if name == "environment":
            include = self._settings.packages
            return lambda: _environment_of(
                _environment_base(), self._cwd, _packages() if include else None
            )
        if name == "hardware":
            return _hardware
        return lambda: _git(self._cwd, self._settings.git_diff_limit_bytes)


def _environment_key() -> tuple[Any, ...]:
    # Constant for a process (bar its working directory, taken per run), though
    # platform.platform() runs `uname -p` the first time; a fork or a new argv
    # reads it again.
    return ("environment", os.getpid(), tuple(sys.argv))


def _environment_base() -> dict[str, Any]:
    from ragtrack.sdk.capture.environment import environment_info

    key = _environment_key()
    with _lock:
        if key not in _known:
            _known[key] = environment_info(include_packages=False)
        base: dict[str, Any] = _known[key]
        return base


def _environment_of(
    base: dict[str, Any], cwd: str, packages: dict[str, str] | None
) -> dict[str, Any]:
    environment = {**base, "cwd": cwd}
    if packages is not None:
        environment["packages"] = dict(packages)
    return environment


def _part(name: str, gather: Callable[[], Any]) -> Any:
    try:
        return gather()
    except Exception as e:
        logger.warning("could not record %s metadata: %s", name, e, exc_info=True)
        return {"error": f"{type(e).__name__}: {e}"}


def _packages() -> dict[str, str]:
    from ragtrack.sdk.capture.environment import installed_packages

    with _lock:
        packages = installed_packages()
        _known[("packages",)] = packages
        return dict(packages)


def _hardware() -> Any:
    from ragtrack.sdk.capture.hardware import hardware_info

    with _lock:  # two runs starting together gather once
        if ("hardware",) not in _known:
            _known[("hardware",)] = hardware_info()
        return _known[("hardware",)]


# -- git: once per work tree, again when HEAD, the branch or the index moves ------------

_UNKNOWN = object()


def _known_git(cwd: str, diff_limit: int) -> Any:
    found = _known.get(("git", cwd, diff_limit))
    if found is None:
        return _UNKNOWN
    info, fingerprint = found
    return info if _fingerprint(info) == fingerprint else _UNKNOWN


def _git(cwd: str, diff_limit: int) -> Any:
    from ragtrack.sdk.capture.git import git_info

    with _lock:
        known = _known_git(cwd, diff_limit)
        if known is not _UNKNOWN:
            return known
        info = git_info(cwd, diff_limit_bytes=diff_limit)
        # Outside a repository (None) there is nothing to watch: the answer stands.
        _known[("git", cwd, diff_limit)] = (info, _fingerprint(info))
        return info


def _fingerprint(info: Any) -> tuple[tuple[str, int, int], ...] | None:
    """Sizes and times of the files a commit, checkout or ``git add`` rewrites."""
    if not isinstance(info, dict) or not info.get("root"):
        return None
    stamps = []
    for path in _watched_files(info["root"], info.get("branch")):
        try:
            st = os.stat(path)
        except OSError:
            stamps.append((path, -1, -1))
            continue
        stamps.append((path, st.st_mtime_ns, st.st_size))
    return tuple(stamps)


@functools.cache
def _watched_files(root: str, branch: str | None) -> tuple[str, ...]:
    git_dir = _git_dir(root)
    if git_dir is None:
        return ()
    # A linked worktree keeps HEAD and index in its own directory, branches in the
    # repository's ("commondir").
    common = git_dir
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            common = os.path.join(git_dir, f.read().strip())
    except OSError:
        pass
    files = [os.path.join(git_dir, "HEAD"), os.path.join(git_dir, "index")]
    if branch:
        files.append(os.path.join(common, "refs", "heads", branch))
        files.append(os.path.join(common, "packed-refs"))
    return tuple(files)


def _git_dir(root: str) -> str | None:
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    try:  # a linked worktree or submodule: ".git" is a file naming the real directory
        with open(dot_git, encoding="utf-8") as f:
            line = f.readline().strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    return os.path.join(root, line.removeprefix("gitdir:").strip())
