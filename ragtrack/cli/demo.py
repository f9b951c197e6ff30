"""``ragtrack demo``: log the demo runs (see ragtrack/demo.py) and say how to look at them."""

from __future__ import annotations

import math
import os
import shlex
import shutil
import sys
from pathlib import Path

import click

from ragtrack.cli._format import format_number
from ragtrack.cli._state import CliState, pass_state
from ragtrack.sdk.api import ApiRun

#: The metric the demo ranks runs by; its commands sort and filter on it too.
BEST_BY = "recall@10"


@click.command("demo")
@click.option(
    "--runs",
    "n_runs",
    type=click.IntRange(1, 500),
    default=12,
    show_default=True,
    help="Runs in the chunking sweep (the reranker experiment adds 3).",
)
@click.option("--project", "-p", default="rag-demo", show_default=True, help="Project to log to.")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Seed of every value logged.",
)
@pass_state
def demo(state: CliState, n_runs: int, project: str, seed: int) -> None:
    """Log realistic RAG demo runs to explore.

    Takes a few seconds. Running it again replaces the runs it logged before.
    """
    from ragtrack.demo import log_demo_runs  # numpy: only for this command

    ids = log_demo_runs(state.dir, project=project, n_runs=n_runs, seed=seed)
    api = state.api()
    runs = [api.run(run_id) for run_id in ids]
    failed = sum(run.status.value == "failed" for run in runs)
    best = max(runs, key=_score)
    click.echo(
        f"Logged {len(runs)} runs to project {project!r}: {n_runs} in experiment 'chunking', "
        f"{len(runs) - n_runs} in 'reranker' ({failed} failed on purpose)."
    )
    click.echo(
        f"Best by {BEST_BY}: {best.id} {best.name} "
        f"({BEST_BY} = {format_number(best.summary.get(BEST_BY))}, "
        f"chunk size {best.params['chunker']['size']})"
    )
    click.echo("")
    click.echo("Look at them:")
    for line in explore_commands(state.dir, project, best.id, command=cli_command()):
        click.echo(f"  {line}")
    click.echo("")
    base = cli_command() if state.dir is None else f"{cli_command()} --dir {shlex.quote(state.dir)}"
    click.echo(f"Or in the browser: {base} ui")
    click.echo("")
    python = (
        "python" if cli_command() == "ragtrack" else shlex.quote(_relative(Path(sys.executable)))
    )
    click.echo(f"Or from Python ({python}):")
    for line in python_snippet(state.dir, project):
        click.echo(f"  {line}")


def _score(run: ApiRun) -> float:
    value = run.summary.get(BEST_BY)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return -math.inf


def cli_command() -> str:
    """How the user's shell reaches this installation's CLI.

    ``ragtrack`` when that is on PATH and is this installation; otherwise the
    script's path, e.g. ``.venv/bin/ragtrack`` after ``make run``, which does
    not activate the virtualenv in the user's shell.
    """
    script = Path(sys.executable).parent / "ragtrack"
    found = shutil.which("ragtrack")
    if not script.exists():
        # Not installed as a console script (e.g. run from a source tree).
        return shlex.join([_relative(Path(sys.executable)), "-m", "ragtrack"])
    if found is not None and Path(found).resolve() == script.resolve():
        return "ragtrack"
    return shlex.quote(_relative(script))


def _relative(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def explore_commands(
    store_dir: str | None, project: str, best_id: str, command: str = "ragtrack"
) -> list[str]:
    """The shell commands the demo suggests, runnable as printed.

    Example:
        >>> explore_commands(None, "rag-demo", "0123456789abcdef")[0]
        'ragtrack runs list --project rag-demo --order-by -metrics.recall@10'
    """
    base = command if store_dir is None else f"{command} --dir {shlex.quote(store_dir)}"
    p = shlex.quote(project)
    return [
        f"{base} runs list --project {p} --order-by -metrics.{BEST_BY}",
        f"{base} runs list --project {p} "
        + "--filter "
        + shlex.quote(f"params.chunker.size = 512 and metrics.{BEST_BY} > 0.6"),
        f"{base} runs list --project {p} --filter " + shlex.quote('status = "failed"'),
        f"{base} runs show {best_id}",
        f"{base} runs history {best_id} train/loss",
    ]


def python_snippet(store_dir: str | None, project: str) -> list[str]:
    """Lines of Python that find the best run with ``ragtrack.Api``."""
    api_args = "" if store_dir is None else repr(store_dir)
    return [
        "import ragtrack",
        f"api = ragtrack.Api({api_args})",
        f"best = api.runs({project!r}, order_by='-metrics.{BEST_BY}', limit=1)[0]",
        f"print(best.name, best.params['chunker'], best.summary['{BEST_BY}'])",
    ]
