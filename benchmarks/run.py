"""Run ragtrack's speed and size benchmarks (``make bench``).

Usage::

    .venv/bin/python benchmarks/run.py              # every workload, targets enforced
    .venv/bin/python benchmarks/run.py --quick      # small sizes, a smoke test; no targets
    .venv/bin/python benchmarks/run.py --only search --only history

Each workload runs in its own Python process (so that one workload's threads,
heap and imports cannot slow another) with its own temporary store. Every
figure is printed with its target and PASS/FAIL; the exit status is 1 when a
target is missed or a workload fails. A JSON copy of the results goes to
``benchmarks/.results/latest.json``. docs/benchmarks.md explains each workload.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _timing import Figure, Skipped, format_value

HERE = Path(__file__).resolve().parent
RESULTS = HERE / ".results" / "latest.json"

#: Workload name -> module, in the order they run and are numbered in the docs.
WORKLOADS = {
    "logging": "bench_logging",
    "durable": "bench_durable",
    "runs": "bench_runs",
    "search": "bench_search",
    "history": "bench_history",
    "size": "bench_size",
    "mlflow": "bench_mlflow",
    "server": "bench_server",
    "ui": "bench_ui",
    "cold": "bench_cold",
    "writer_memory": "bench_writer_memory",
}

#: A workload still running after this long is stopped and counted as failed.
WORKLOAD_TIMEOUT_S = 900


@dataclass
class Outcome:
    """What one workload produced."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None or any(f.passed is False for f in self.figures)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "seconds": round(self.seconds, 1),
            "error": self.error,
            "skipped": self.skipped,
            "figures": [f.to_json() for f in self.figures],
        }


def ensure_ragtrack_importable() -> None:
    # `make bench` installs the package; running from a plain checkout works too.
    try:
        import ragtrack  # noqa: F401
    except ImportError:
        sys.path.insert(1, str(HERE.parent))


def machine() -> dict[str, Any]:
    """What the figures depend on: CPU, cores, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numpy
    import sqlalchemy

    import ragtrack

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "ragtrack": ragtrack.__version__,
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "numpy": numpy.__version__,
        "commit": git_commit(),
    }


def git_commit() -> str | None:
    """The checkout's commit, with ``-dirty`` when the working tree has changes."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=10"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


# -- one workload, in a child process ----------------------------------------------


def work(name: str, quick: bool) -> None:
    """Run one workload and write its figures as JSON to stdout (in the child)."""
    module = importlib.import_module(WORKLOADS[name])
    try:
        figures: list[Figure] = module.run(quick)
    except Skipped as e:
        json.dump({"figures": [], "skipped": str(e)}, sys.stdout)
        return
    json.dump({"figures": [f.to_json() for f in figures], "skipped": None}, sys.stdout)


def run_workload(name: str, quick: bool) -> Outcome:
    """Run one workload in a child process; its progress lines pass through on stderr."""
    outcome = Outcome(name, importlib.import_module(WORKLOADS[name]).TITLE)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
    if quick:
        command.append("--quick")
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, text=True, timeout=WORKLOAD_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        outcome.error = f"stopped after {WORKLOAD_TIMEOUT_S} s"
        return outcome
    finally:
        outcome.seconds = time.perf_counter() - start
    if done.returncode != 0:
        outcome.error = f"the worker exited with status {done.returncode} (traceback above)"
        return outcome
    try:
        result = json.loads(done.stdout)
        outcome.figures = [Figure(**f) for f in result["figures"]]
        outcome.skipped = result["skipped"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        outcome.error = f"the worker printed no readable results ({e})"
    return outcome


# -- the report ----------------------------------------------------------------------


def print_outcome(number: int, outcome: Outcome, quick: bool) -> None:
    print(f"\n{number}. {outcome.title} [{outcome.name}]  ({outcome.seconds:.0f} s)")
    if outcome.error:
        print(f"   ERROR: {outcome.error}")
    if outcome.skipped:
        print(f"   skipped: {outcome.skipped}")
    width = max((len(f.label) for f in outcome.figures), default=0)
    for f in outcome.figures:
        if f.target is None:
            verdict = ""
        elif quick:
            verdict = f"{f.target_text()}  (not enforced with --quick)"
        else:
            verdict = f"{f.target_text()}  {'PASS' if f.passed else 'FAIL'}"
        print(f"   {f.label:<{width}}  {format_value(f.value, f.unit):>14}  {verdict}".rstrip())
        context = "; ".join(filter(None, [f.stat, f.detail]))
        if context:
            print(f"   {'':<{width}}  {'':>14}  {context}")
    sys.stdout.flush()


def write_json(outcomes: list[Outcome], info: dict[str, Any], quick: bool) -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    document = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": info,
        "passed": not any(o.failed for o in outcomes),
        "workloads": {o.name: o.to_json() for o in outcomes},
    }
    RESULTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ragtrack's speed and size benchmarks.")
    parser.add_argument("--quick", action="store_true", help="small sizes; targets not enforced")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(WORKLOADS),
        metavar="NAME",
        help=f"run only this workload (repeatable): {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--worker", choices=list(WORKLOADS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    ensure_ragtrack_importable()
    if args.worker:
        work(args.worker, args.quick)
        return 0

    info = machine()
    mode = " (--quick: small sizes, targets not enforced)" if args.quick else ""
    print(
        f"ragtrack {info['ragtrack']} benchmarks{mode}\n"
        f"{info['cpu']}, {info['cores']} cores, Python {info['python']}, SQLite {info['sqlite']}, "
        f"SQLAlchemy {info['sqlalchemy']}, numpy {info['numpy']}, commit {info['commit']}",
        flush=True,
    )
    outcomes = []
    for number, name in enumerate(WORKLOADS, start=1):
        if args.only and name not in args.only:
            continue
        outcome = run_workload(name, args.quick)
        for f in outcome.figures:
            f.judge(enforce=not args.quick)
        print_outcome(number, outcome, args.quick)
        outcomes.append(outcome)
    write_json(outcomes, info, args.quick)

    failed = any(o.failed for o in outcomes)
    if args.quick:
        verdict = "A WORKLOAD FAILED" if failed else "quick run done (targets not checked)"
    else:
        verdict = "SOME TARGETS MISSED OR WORKLOADS FAILED" if failed else "all targets met"
    print(f"\n{verdict}; results in {shown(RESULTS)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
