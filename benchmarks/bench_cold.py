"""Workload 10: cold paths, in fresh processes: importing ragtrack, opening an
existing store and answering a first search, and ``ragtrack runs list``.

Every figure is the median wall time of several fresh interpreters, from
starting the process until it exits, minus the same for a bare ``python -c
pass`` measured in the same loop (the interpreter's own start-up, which no
library can shorten); each also gives the CPU time the process used, over the
baseline's, which other processes' load does not stretch. The open-and-search
figure is timed inside the child, from after ``import ragtrack`` until the
result is there. The store holds 100
runs (4 params, 3 metrics each) written by the SDK.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

from _timing import Figure, format_value, fresh_dir, ms, progress

import ragtrack

NAME = "cold"
TITLE = "Cold start: import, first search, CLI"
PROJECT = "bench-cold"
FILTER = "params.lr < 0.01 and metrics.recall@10 > 0.5"

_FIRST_SEARCH = """
import json, sys, time
import ragtrack
start = time.perf_counter()
runs = ragtrack.Api(sys.argv[1]).runs(sys.argv[2], filter=sys.argv[3],
                                      order_by="-metrics.recall@10", limit=10)
took = time.perf_counter() - start
print(json.dumps([took, len(runs), sorted(m for m in ("alembic", "sqlalchemy", "numpy")
                                          if m in sys.modules)]))
"""


def populate(path: str, n_runs: int) -> None:
    for i in range(n_runs):
        config = {"lr": 10 ** -(2 + i % 3), "batch_size": 32, "seed": i, "model": "bge-small"}
        with ragtrack.init(project=PROJECT, dir=path, config=config, capture=False) as run:
            run.log({"loss": 1.0 / (i + 1), "recall@10": (i % 10) / 10, "mrr": 0.4})


def wall(command: list[str]) -> tuple[float, float, str]:
    """Seconds from starting ``command`` until it exited, the CPU seconds it used
    (which other processes' load does not stretch), and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, cpu, done.stdout


def import_time_us(module: str) -> int:
    """``python -X importtime``'s cumulative microseconds for ``module``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise AssertionError(f"-X importtime did not report {module}")


def run(quick: bool) -> list[Figure]:
    repeats = 3 if quick else 9
    python = sys.executable
    with fresh_dir(NAME) as path:
        progress("100 runs for the store")
        populate(path, 100)
        commands = {
            "pass": [python, "-c", "pass"],
            "import": [python, "-c", "import ragtrack"],
            "sdk": [python, "-c", "from ragtrack import init, Api"],
            "search": [python, "-c", _FIRST_SEARCH, path, PROJECT, FILTER],
            "cli": [python, "-m", "ragtrack", "--dir", path, "runs", "list", "-p", PROJECT],
        }
        progress(f"{repeats} rounds of {len(commands)} fresh processes")
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        searches: list[float] = []
        loaded: list[str] = []
        for _ in range(repeats):
            for name, command in commands.items():
                seconds, used, out = wall(command)
                times[name].append(seconds)
                cpu[name].append(used)
                if name == "search":
                    took, matched, loaded = json.loads(out.splitlines()[-1])
                    if not matched:
                        raise AssertionError("the first search found no runs")
                    searches.append(took)
        importtime = statistics.median(import_time_us("ragtrack") for _ in range(3))
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["pass"]
    cpu_over = {
        name: statistics.median(v) - statistics.median(cpu["pass"]) for name, v in cpu.items()
    }

    def cpu_text(name: str) -> str:
        return f"CPU {format_value(ms(cpu_over[name]), 'ms')} over the baseline's"

    stat = f"median of {repeats} processes, minus `python -c pass`"
    return [
        Figure(
            "python -c pass (the baseline)",
            ms(base),
            "ms",
            stat=f"median of {repeats} processes",
            detail=f"CPU {format_value(ms(statistics.median(cpu['pass'])), 'ms')}",
        ),
        Figure(
            "import ragtrack",
            ms(median["import"] - base),
            "ms",
            target=60.0,
            stat=stat,
            detail=f"wall {format_value(ms(median['import']), 'ms')}; {cpu_text('import')}; "
            f"-X importtime: {format_value(importtime / 1e3, 'ms')} (median of 3)",
        ),
        Figure(
            "open the store + first search (in the child, after import)",
            ms(statistics.median(searches)),
            "ms",
            target=25.0,
            stat=f"median of {repeats} processes",
            detail=f"best {format_value(ms(min(searches)), 'ms')}; whole process "
            f"{format_value(ms(median['search'] - base), 'ms')} over the baseline "
            f"({cpu_text('search')}); "
            f"loaded: {', '.join(loaded) or 'none'}",
        ),
        Figure(
            "ragtrack runs list, 100 runs, end to end",
            median["cli"],
            "s",
            target=0.25,
            stat=f"median of {repeats} processes",
            detail=f"{format_value(ms(median['cli'] - base), 'ms')} over the baseline; "
            f"{cpu_text('cli')}",
        ),
        Figure(
            "from ragtrack import init, Api (the SDK loaded; informational)",
            ms(median["sdk"] - base),
            "ms",
            stat=stat,
            detail=cpu_text("sdk"),
        ),
    ]
