"""The human-readable report of ``ragtrack runs show``: lines of text, no I/O.

Metadata is read defensively: it is whatever the capture code (or a user calling
``store.set_metadata``) stored, so any part may be missing or oddly shaped.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from ragtrack.cli._format import (
    MISSING,
    format_duration,
    format_number,
    long_time,
    render_table,
)
from ragtrack.sdk.api import ApiRun, strict_json

_INDENT = "  "
# Six significant digits: a report is read closely, a table only scanned.
_DIGITS = 6


def run_report(run: ApiRun) -> list[str]:
    """Every section of the report of ``run``, as lines.

    Example:
        >>> print("\\n".join(run_report(api.run("3f2a"))))  # doctest: +SKIP
        Run 3f2a9c0e1b7d4a55  chunk512-k5-bge-base
          project     rag-demo / chunking
          status      completed
        ...
    """
    lines = overview(run)
    for section in (params(run), metrics(run), explicit_summary(run), metadata(run), error(run)):
        if section:
            lines += ["", *section]
    return lines


def overview(run: ApiRun) -> list[str]:
    r = run.record
    where = r.project + (f" / {r.experiment}" if r.experiment else "")
    rows = [
        ("project", where),
        ("status", r.status.value),
        ("created", long_time(r.created_at)),
        ("started", long_time(r.started_at)),
        ("ended", long_time(r.ended_at)),
        ("duration", format_duration(r.duration)),
        ("tags", ", ".join(r.tags) or MISSING),
    ]
    if r.notes.strip():
        rows.append(("notes", r.notes.strip()))
    return [f"Run {r.id}  {r.name}", *_pairs(rows)]


def params(run: ApiRun) -> list[str]:
    if not run.params:
        return []
    return ["Params", *_nested(run.params, depth=1)]


def metrics(run: ApiRun) -> list[str]:
    """The summary table of logged series; ``system/`` series are only counted
    because a GPU machine logs dozens of them."""
    series = run.record.metrics
    keys = [k for k in series if not k.startswith("system/")]
    system = len(series) - len(keys)
    if not keys and not system:
        return []
    lines = ["Metrics"]
    if keys:
        rows = []
        for key in sorted(keys):
            s = series[key]
            rows.append(
                [
                    key,
                    format_number(s.last, _DIGITS),
                    format_number(s.min, _DIGITS),
                    format_number(s.max, _DIGITS),
                    str(s.count),
                    str(s.last_step),
                ]
            )
        headers = ["key", "last", "min", "max", "count", "last step"]
        lines += [_INDENT + line for line in render_table(headers, rows, right=range(1, 6))]
    if system:
        lines.append(
            f"{_INDENT}(+ {system} system/ series: `ragtrack runs history {run.id} system/<name>`)"
        )
    return lines


def explicit_summary(run: ApiRun) -> list[str]:
    """Values set with ``run.summary[key] = value``, which may differ from the last logged."""
    values = run.record.explicit_summary
    if not values:
        return []
    rows = [(key, _value_text(values[key])) for key in sorted(values)]
    return ["Summary (set explicitly)", *_pairs(rows)]


def metadata(run: ApiRun) -> list[str]:
    meta = run.metadata
    env = _mapping(meta.get("environment"))
    hardware = _mapping(meta.get("hardware"))
    rows: list[tuple[str, str]] = []
    if "git" in meta:
        rows.append(("git", _git_line(meta["git"])))
        remote = _mapping(meta["git"]).get("remote")
        if remote:
            rows.append(("remote", str(remote)))
    if env:
        python = " ".join(
            str(env[k]) for k in ("python_version", "python_implementation") if env.get(k)
        )
        if python:
            rows.append(("python", python))
        host = " ".join(
            str(p) for p in (env.get("hostname"), f"({env['os']})" if env.get("os") else None) if p
        )
        if host:
            rows.append(("host", host))
        if env.get("user"):
            rows.append(("user", str(env["user"])))
    if hardware:
        rows.append(("hardware", _hardware_line(hardware)))
    lines = ["Metadata", *_pairs(rows)] if rows else []
    reproduce = _reproduce(run, meta, env)
    if reproduce:
        lines += ["", "Reproduce", *(_INDENT + line for line in reproduce)]
    return lines


def error(run: ApiRun) -> list[str]:
    if not run.error:
        return []
    title = "Error" if run.status.value == "failed" else f"Error (run {run.status.value})"
    return [title, *(_INDENT + line for line in run.error.rstrip().splitlines())]


# -- helpers ------------------------------------------------------------------------


def _pairs(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Aligned ``key  value`` lines; a multi-line value continues under its first line."""
    width = max((len(k) for k, _ in rows), default=0)
    lines = []
    for key, value in rows:
        first, *rest = value.splitlines() or [""]
        lines.append(f"{_INDENT}{key.ljust(width)}  {first}")
        lines += [f"{_INDENT}{' ' * width}  {line}" for line in rest]
    return lines


def _nested(value: Mapping[str, Any], depth: int) -> list[str]:
    lines = []
    for key, item in value.items():
        pad = _INDENT * depth
        if isinstance(item, Mapping) and item:
            lines.append(f"{pad}{key}:")
            lines += _nested(item, depth + 1)
        else:
            lines.append(f"{pad}{key}: {_value_text(item)}")
    return lines


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return format_number(value, 12)
    return json.dumps(strict_json(value), ensure_ascii=False)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _git_line(git: Any) -> str:
    if git is None:
        return "not a git repository"
    info = _mapping(git)
    if "error" in info:
        return f"not recorded ({info['error']})"
    commit = info.get("commit")
    text = str(commit)[:12] if commit else "no commit yet"
    if info.get("branch"):
        text += f" on {info['branch']}"
    if info.get("dirty"):
        text += " (uncommitted changes)"
    untracked = info.get("untracked")
    if isinstance(untracked, list) and untracked:
        text += f", {len(untracked)} untracked"
    return text


def _hardware_line(hardware: Mapping[str, Any]) -> str:
    if "error" in hardware:
        return f"not recorded ({hardware['error']})"
    parts = []
    if hardware.get("cpu_model"):
        parts.append(str(hardware["cpu_model"]))
    if hardware.get("cpu_count_logical"):
        parts.append(f"{hardware['cpu_count_logical']} CPUs")
    memory = hardware.get("memory_total_bytes")
    if isinstance(memory, (int, float)) and memory > 0:
        parts.append(f"{memory / 2**30:.1f} GiB RAM")
    gpus = hardware.get("gpus")
    if isinstance(gpus, list) and gpus:
        names = sorted({str(_mapping(g).get("name", "GPU")) for g in gpus})
        parts.append(f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''} ({', '.join(names)})")
    return ", ".join(parts) or MISSING


def _reproduce(run: ApiRun, meta: Mapping[str, Any], env: Mapping[str, Any]) -> list[str]:
    """Shell lines that rerun the code: cd, git checkout, the command line."""
    command = env.get("command_line")
    if not command:
        return []
    lines = []
    if env.get("cwd"):
        lines.append(f"cd {shlex.quote(str(env['cwd']))}")
    git = _mapping(meta.get("git"))
    if git.get("commit"):
        lines.append(f"git checkout {git['commit']}")
        if git.get("dirty"):
            # The diff can be megabytes; point at it instead of printing it.
            lines.append(
                f"# uncommitted changes: ragtrack runs show {run.id} --json "
                f"| jq -r .metadata.git.diff | git apply"
            )
    lines.append(str(command))
    return lines
