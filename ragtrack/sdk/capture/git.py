"""The git state of the code a run executes: commit, branch, remote and local changes."""

from __future__ import annotations

import logging
import os
import subprocess
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ragtrack.sdk.capture.redact import redact_url_credentials

logger = logging.getLogger("ragtrack")

DEFAULT_DIFF_LIMIT_BYTES = 5 * 2**20
MAX_UNTRACKED = 100
_TIMEOUT_S = 5.0

# GIT_OPTIONAL_LOCKS=0 stops `git status` from refreshing the index under a lock,
# which could make the user's own concurrent git commands fail; GIT_TERMINAL_PROMPT=0
# makes a credential helper fail instead of waiting for input that never comes; LC_ALL=C
# keeps the messages we match ("not a git repository") and put in the diff untranslated.
_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


class _GitUnavailable(Exception):
    """git cannot be run here (not installed, timed out, ...); the reason was logged."""


def git_info(
    path: str | os.PathLike[str] | None = None,
    diff_limit_bytes: int = DEFAULT_DIFF_LIMIT_BYTES,
) -> dict[str, Any] | None:
    """Describe the git work tree containing ``path`` (default: the current directory).

    Returns ``None`` when ``path`` is not inside a git work tree or git is not
    installed. Otherwise a JSON-serialisable dict with ``commit`` (``None`` before
    the first commit), ``branch`` (``None`` when detached), ``remote`` (URL of
    ``origin``, else of the first remote, without credentials), ``root``,
    ``dirty`` (tracked files differ from ``HEAD``, staged or not), ``diff`` (the
    output of ``git diff HEAD``, binary files summarised by git, cut after
    ``diff_limit_bytes`` with a ``[... truncated N bytes]`` marker) and
    ``untracked`` (paths relative to ``root``, at most ``MAX_UNTRACKED``; an
    untracked directory is listed once, as ``dir/``).

    Never raises because of git: problems are logged on the ``ragtrack`` logger.

    Example:
        >>> info = git_info()  # doctest: +SKIP
        >>> info["branch"], info["dirty"]  # doctest: +SKIP
        ('main', False)
    """
    try:
        cwd = os.fspath(path) if path is not None else os.getcwd()
        root = _toplevel(cwd)
        if root is None:
            return None
        commit = _stdout(_git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"))
        branch = _stdout(_git(root, "symbolic-ref", "--quiet", "--short", "HEAD"))
        status = _git(root, "status", "--porcelain=v1", "-z")
        changed, untracked = _parse_status(status.stdout if status.returncode == 0 else b"")
        return {
            "commit": commit,
            "branch": branch,
            "remote": _remote_url(root),
            "root": root,
            "dirty": changed,
            "diff": _diff(root, commit, diff_limit_bytes),
            "untracked": untracked[:MAX_UNTRACKED],
        }
    except _GitUnavailable:
        return None
    except Exception as e:  # e.g. the working directory was deleted; the run matters more
        logger.warning("git state not recorded: %s: %s", type(e).__name__, e)
        return None


def strip_credentials(url: str) -> str:
    """Remove any password, and on http(s) any user name, from a remote URL.

    HTTPS remotes often carry an access token as the user name
    (``https://<token>@github.com/...``), so http(s) loses the whole user part;
    ssh user names such as ``git@`` are not secrets and stay.

    Example:
        >>> strip_credentials("https://bob:s3cret@example.com/team/repo.git")
        'https://example.com/team/repo.git'
        >>> strip_credentials("git@github.com:team/repo.git")
        'git@github.com:team/repo.git'
    """
    if "://" not in url:
        return url  # scp-like `user@host:path` or a local path: no password possible
    try:
        parts = urlsplit(url)
    except ValueError:  # unparsable (e.g. a broken IPv6 host): mask any user part anyway
        return redact_url_credentials(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    if parts.scheme.lower() in ("http", "https") or ":" in userinfo:
        netloc = hostport
    else:
        netloc = parts.netloc
    return urlunsplit(parts._replace(netloc=netloc))


def _git(cwd: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=_TIMEOUT_S,
            env={**os.environ, **_GIT_ENV},
            check=False,
        )
    except FileNotFoundError:
        # Also raised when cwd does not exist; either way there is nothing to describe.
        logger.debug("git is not installed or %r does not exist; not recording git state", cwd)
        raise _GitUnavailable from None
    except subprocess.TimeoutExpired:
        logger.warning(
            "`git %s` took longer than %s s; not recording git state", args[0], _TIMEOUT_S
        )
        raise _GitUnavailable from None
    except OSError as e:
        logger.warning("could not run git (%s); not recording git state", e)
        raise _GitUnavailable from None


def _toplevel(cwd: str) -> str | None:
    result = _git(cwd, "rev-parse", "--show-toplevel")
    if result.returncode == 0:
        return _stdout(result)
    message = result.stderr.decode("utf-8", "replace").strip()
    # Outside a repository is normal; anything else (e.g. "dubious ownership") is worth a word.
    if "not a git repository" not in message:
        logger.warning("git state not recorded: %s", message or f"exit code {result.returncode}")
    return None


def _stdout(result: subprocess.CompletedProcess[bytes]) -> str | None:
    if result.returncode != 0:
        return None
    return result.stdout.decode("utf-8", "replace").strip() or None


def _parse_status(porcelain: bytes) -> tuple[bool, list[str]]:
    """Whether tracked files changed, and the untracked paths, from `status --porcelain -z`."""
    changed = False
    untracked: list[str] = []
    entries = iter(porcelain.split(b"\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        code, name = entry[:2], entry[3:].decode("utf-8", "replace")
        if code == b"??":
            untracked.append(name)
        elif code != b"!!":
            changed = True
            if b"R" in code or b"C" in code:
                next(entries, None)  # a rename or copy is followed by its source path
    return changed, sorted(untracked)


def _remote_url(root: str) -> str | None:
    remotes = (_stdout(_git(root, "remote")) or "").split()
    if not remotes:
        return None
    name = "origin" if "origin" in remotes else remotes[0]
    url = _stdout(_git(root, "remote", "get-url", name))
    return strip_credentials(url) if url else None


def _diff(root: str, commit: str | None, limit_bytes: int) -> str:
    if commit is None:
        # Before the first commit there is no HEAD: diff against the empty tree instead,
        # asking git for its id because it depends on the repository's hash algorithm.
        empty = _git(root, "hash-object", "-t", "tree", "--stdin", stdin=b"")
        base = _stdout(empty)
        if base is None:
            return ""
    else:
        base = commit
    try:
        result = _git(root, "diff", base, "--no-color", "--no-ext-diff", "--no-textconv")
    except _GitUnavailable:
        # A huge diff must not cost the rest of the git state.
        return "[ragtrack: git diff not recorded, see the warning in the log]"
    if result.returncode != 0:
        logger.warning("`git diff` failed: %s", result.stderr.decode("utf-8", "replace").strip())
        return ""
    return truncate_utf8(result.stdout, limit_bytes)


def truncate_utf8(data: bytes, limit_bytes: int) -> str:
    """Decode ``data``, cutting it after ``limit_bytes`` at a line end when there is one.

    Example:
        >>> truncate_utf8(b"a\\nbb\\nccc\\n", 5)
        'a\\nbb\\n\\n[... truncated 4 bytes]\\n'
    """
    if len(data) <= limit_bytes:
        return data.decode("utf-8", "replace")
    cut = data.rfind(b"\n", 0, limit_bytes) + 1
    if cut == 0:
        # No line end to cut at: back off over UTF-8 continuation bytes (10xxxxxx).
        cut = limit_bytes
        while cut > 0 and limit_bytes - cut < 3 and data[cut] & 0xC0 == 0x80:
            cut -= 1
    text = data[:cut].decode("utf-8", "replace")
    return f"{text}\n[... truncated {len(data) - cut} bytes]\n"
