"""A run's system metadata shaped for reading: facts, the diff by file, the
command that reruns it.

The metadata is what :func:`ragtrack.sdk.capture.collect_metadata` recorded
(``git``, ``environment``, ``hardware``, each possibly ``None`` or
``{"error": ...}``) merged with whatever a client set; every function here
accepts anything JSON and never raises on an unexpected shape.

Example:
    >>> reproduce_command({"environment": {"cwd": "/src", "command_line": "python train.py"},
    ...                    "git": {"commit": "ab12", "dirty": False}})
    'cd /src && \\\\\\n  git checkout ab12 && \\\\\\n  python train.py'
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Metadata parts with a section of their own; the rest is shown as a JSON tree.
KNOWN_PARTS = ("git", "environment", "hardware")
#: Lines of the diff rendered into the page; the rest is downloaded on demand.
DIFF_LINE_BUDGET = 4000

Fact = tuple[str, str]


@dataclass
class DiffFile:
    """One file's part of a ``git diff``: its lines as ``(kind, text)``.

    ``kind`` is ``add``, ``del``, ``hunk``, ``meta`` (the ``diff --git``,
    ``index`` and ``---``/``+++`` header lines) or ``ctx``; ``hidden`` counts the
    lines left out of the page to keep it small.
    """

    path: str
    lines: list[tuple[str, str]] = field(default_factory=list)
    additions: int = 0
    deletions: int = 0
    hidden: int = 0


def part(metadata: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One metadata part as a dict (``{}`` when missing, ``None`` or not a dict)."""
    value = metadata.get(name)
    return dict(value) if isinstance(value, Mapping) else {}


def git_facts(git: Mapping[str, Any]) -> list[Fact]:
    """Commit, branch, remote, root and whether the tree had uncommitted changes."""
    facts: list[Fact] = []
    for key, label in (("commit", "Commit"), ("branch", "Branch"), ("remote", "Remote")):
        if git.get(key):
            facts.append((label, str(git[key])))
    if "branch" in git and not git.get("branch") and git.get("commit"):
        facts.append(("Branch", "(detached HEAD)"))
    if git.get("root"):
        facts.append(("Repository root", str(git["root"])))
    if "dirty" in git:
        facts.append(("Uncommitted changes", "yes" if git["dirty"] else "no"))
    return facts


def environment_facts(env: Mapping[str, Any]) -> list[Fact]:
    """Interpreter, host, user and working directory; unknown keys follow as they are."""
    shown = {"command_line", "packages", "error"}
    facts: list[Fact] = []
    python = " ".join(str(env[k]) for k in ("python_implementation", "python_version") if k in env)
    if python:
        facts.append(("Python", python))
        shown |= {"python_implementation", "python_version"}
    labels = {
        "python_executable": "Interpreter",
        "command": "Arguments (sys.argv)",
        "cwd": "Working directory",
        "hostname": "Host",
        "os": "Operating system",
        "user": "User",
        "pid": "Process id",
    }
    for key, label in labels.items():
        if key in env:
            value = env[key]
            text = shlex.join(map(str, value)) if isinstance(value, list) else str(value)
            facts.append((label, text))
            shown.add(key)
    facts.extend((key, _text(value)) for key, value in env.items() if key not in shown)
    return facts


def hardware_facts(hardware: Mapping[str, Any]) -> list[Fact]:
    """CPU model and cores, memory, and one line per GPU."""
    facts: list[Fact] = []
    if hardware.get("cpu_model"):
        facts.append(("CPU", str(hardware["cpu_model"])))
    cores = [
        f"{hardware[k]} {label}"
        for k, label in (("cpu_count_logical", "logical"), ("cpu_count_physical", "physical"))
        if hardware.get(k) is not None
    ]
    if cores:
        facts.append(("CPU cores", ", ".join(cores)))
    if isinstance(hardware.get("memory_total_bytes"), int):
        facts.append(("Memory", format_bytes(hardware["memory_total_bytes"])))
    gpus = hardware.get("gpus")
    if isinstance(gpus, list):
        if not gpus:
            facts.append(("GPUs", "none recorded"))
        for gpu in gpus:
            if isinstance(gpu, Mapping):
                memory = gpu.get("memory_total_bytes")
                details = [str(gpu.get("name") or "GPU")]
                if isinstance(memory, int):
                    details.append(format_bytes(memory))
                if gpu.get("driver"):
                    details.append(f"driver {gpu['driver']}")
                facts.append((f"GPU {gpu.get('index', '?')}", ", ".join(details)))
    known = {"cpu_model", "cpu_count_logical", "cpu_count_physical", "memory_total_bytes", "gpus"}
    facts.extend((k, _text(v)) for k, v in hardware.items() if k not in known | {"error"})
    return facts


def packages(env: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """``(name, version)`` of every recorded package by name; ``None`` when not recorded."""
    found = env.get("packages")
    if isinstance(found, Mapping):
        return sorted(((str(k), str(v)) for k, v in found.items()), key=lambda p: p[0].lower())
    if isinstance(found, list):  # a client may send ["name==1.0", ...]
        pairs = [tuple(str(p).partition("==")[::2]) for p in found]
        return sorted(((n, v) for n, v in pairs), key=lambda p: p[0].lower())
    return None


def reproduce_command(metadata: Mapping[str, Any]) -> str | None:
    """Shell lines that rerun the run: ``cd``, ``git checkout`` of the commit, the command.

    Uses the recorded ``command_line`` (the interpreter and its full argument
    list, secrets masked at capture) or, failing that, interpreter plus
    ``command`` (``sys.argv``). ``None`` when no command was recorded.

    Example:
        >>> reproduce_command({"environment": {"python_executable": "/v/bin/python",
        ...                                    "command": ["train.py", "--lr", "0.1"]}})
        '/v/bin/python train.py --lr 0.1'
    """
    env = part(metadata, "environment")
    command = env.get("command_line")
    if not isinstance(command, str) or not command.strip():
        argv = env.get("command")
        if not isinstance(argv, list) or not argv:
            return None
        command = shlex.join([str(env.get("python_executable") or "python"), *map(str, argv)])
    steps = []
    if isinstance(env.get("cwd"), str):
        steps.append(f"cd {shlex.quote(env['cwd'])}")
    commit = part(metadata, "git").get("commit")
    if isinstance(commit, str) and commit:
        steps.append(f"git checkout {shlex.quote(commit)}")
    steps.append(command)
    return " && \\\n  ".join(steps)


def split_diff(diff: str, line_budget: int = DIFF_LINE_BUDGET) -> list[DiffFile]:
    """``git diff`` output as one :class:`DiffFile` per file, lines classified.

    At most ``line_budget`` lines are kept over all files (later ones count as
    ``hidden``): a 5 MB diff must not make a 5 MB page.

    Example:
        >>> f = split_diff("diff --git a/x.py b/x.py\\n@@ -1 +1 @@\\n-a\\n+b\\n")[0]
        >>> f.path, f.additions, f.deletions, [k for k, _ in f.lines]
        ('x.py', 1, 1, ['meta', 'hunk', 'del', 'add'])
    """
    files: list[DiffFile] = []
    current: DiffFile | None = None
    budget = line_budget
    in_header = False
    for line in diff.splitlines():
        if line.startswith("diff --git ") or current is None:
            current = DiffFile(_diff_path(line))
            files.append(current)
            in_header = line.startswith("diff --git ")
        if line.startswith("@@"):
            kind, in_header = "hunk", False
        elif in_header:
            kind = "meta"
        elif line.startswith("+"):
            kind = "add"
            current.additions += 1
        elif line.startswith("-"):
            kind = "del"
            current.deletions += 1
        else:
            kind = "ctx"
        if budget > 0:
            current.lines.append((kind, line))
            budget -= 1
        else:
            current.hidden += 1
    return files


def _diff_path(header: str) -> str:
    # "diff --git a/src/x.py b/src/x.py": the b/ side names the file after the change.
    if not header.startswith("diff --git "):
        return "(diff)"
    _, sep, after = header.rpartition(" b/")
    return after if sep else header[len("diff --git ") :]


def format_bytes(size: int | float) -> str:
    """``'512 B'``, ``'1.5 KiB'``, ``'23.5 GiB'``.

    Example:
        >>> format_bytes(25276063744)
        '23.5 GiB'
    """
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
