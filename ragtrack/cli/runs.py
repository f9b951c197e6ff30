"""``ragtrack runs ...``: list, show, delete runs and print what they logged."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence

import click

from ragtrack.cli._errors import CommandFailed
from ragtrack.cli._format import (
    echo_json,
    format_duration,
    format_number,
    precise_time,
    render_table,
    short_time,
    shorten,
)
from ragtrack.cli._run_report import run_report
from ragtrack.cli._state import CliState, pass_state
from ragtrack.exceptions import NotFoundError
from ragtrack.sdk.api import ApiRun
from ragtrack.storage._input import MAX_COUNT
from ragtrack.storage.filter import parse_order_by

#: Metric columns ``runs list`` picks on its own; ``--metric`` asks for more.
AUTO_METRIC_COLUMNS = 4
_NAME_WIDTH = 32


@click.group("runs")
def runs_group() -> None:
    """List, inspect and delete runs."""


@runs_group.command("list")
@click.option("--project", "-p", help="Only runs of this project (default: every project).")
@click.option(
    "--filter",
    "-f",
    "filter_text",
    metavar="FILTER",
    help="Filter expression, e.g. 'metrics.recall@10 > 0.7 and params.retriever.top_k = 5' "
    "(see docs/filter.md).",
)
@click.option(
    "--order-by",
    "-o",
    metavar="KEYS",
    help="Comma-separated sort keys, '-' for descending, e.g. '-metrics.recall@10' "
    "(default: newest first).",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(0, MAX_COUNT),
    default=50,
    show_default=True,
    help="Show at most this many runs; 0 shows all.",
)
@click.option(
    "--offset",
    type=click.IntRange(0, MAX_COUNT),
    default=0,
    help="Skip this many runs first (paging).",
)
@click.option(
    "--metric",
    "-m",
    "metric_keys",
    multiple=True,
    metavar="KEY",
    help="Show this summary metric as a column (repeatable); default: up to "
    f"{AUTO_METRIC_COLUMNS} common ones.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of runs instead.")
@pass_state
def list_runs(
    state: CliState,
    project: str | None,
    filter_text: str | None,
    order_by: str | None,
    limit: int,
    offset: int,
    metric_keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """List runs as a table, newest first.

    \b
    Examples:
      ragtrack runs list --project rag-demo --order-by -metrics.recall@10
      ragtrack runs list -f 'status = "failed"' --json
    """
    api = state.api()
    runs = api.runs(project, filter_text, order_by, limit or None, offset)
    # On stderr, so --json output stays one JSON document.
    for warning in api.store.filter_warnings(project, filter_text):
        click.echo(f"Warning: {warning.message}", err=True)
    if as_json:
        echo_json([run.to_dict() for run in runs])
        return
    total = api.count_runs(project, filter_text)
    if runs:
        for line in runs_table(runs, metric_columns(runs, metric_keys, order_by)):
            click.echo(line)
    footer = _footer(len(runs), total, offset)
    if total == 0 and project is not None and project not in {p.name for p in api.projects()}:
        footer += f" (there is no project {project!r}: see `ragtrack projects list`)"
    click.echo(footer)


def metric_columns(
    runs: Sequence[ApiRun], requested: Sequence[str] = (), order_by: str | None = None
) -> list[str]:
    """The summary keys to show as columns.

    ``requested`` keys win. Otherwise metrics named in ``order_by`` come first,
    then top-level keys (``recall@10``) before namespaced ones (``train/loss``,
    more often a curve than a result), each by how many runs have them.
    ``system/`` keys and non-numeric summary values are left out.

    Example:
        >>> metric_columns([], requested=["mrr"])
        ['mrr']
    """
    if requested:
        return list(dict.fromkeys(requested))
    counts = Counter(
        key
        for run in runs
        for key, value in run.summary.items()
        if _is_number(value) and not key.startswith("system/")
    )
    ordered = [
        k.field.key
        for k in parse_order_by(order_by)
        if k.field.name == "metrics" and k.field.key in counts
    ]
    ranked = sorted(counts, key=lambda k: ("/" in k, -counts[k], k))
    columns = [key for key in dict.fromkeys([*ordered, *ranked]) if key is not None]
    return columns[:AUTO_METRIC_COLUMNS]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def runs_table(runs: Sequence[ApiRun], metric_keys: Sequence[str]) -> list[str]:
    """Lines of the ``runs list`` table."""
    headers = ["id", "name", "status", "created", "duration", *metric_keys]
    rows = [
        [
            run.id,
            shorten(run.name, _NAME_WIDTH),
            run.status.value,
            short_time(run.created_at),
            format_duration(run.duration),
            *(format_number(run.summary.get(key)) for key in metric_keys),
        ]
        for run in runs
    ]
    return render_table(headers, rows, right=range(4, len(headers)))


def _footer(shown: int, total: int, offset: int) -> str:
    if total == 0:
        return "0 runs"
    text = f"{shown} of {total} runs"
    if offset:
        text += f" (from #{offset + 1})"
    if offset + shown < total:
        text += f"; next page: --offset {offset + shown}"
    return text


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON, with its metadata.")
@pass_state
def show_run(state: CliState, run_id: str, as_json: bool) -> None:
    """Show everything about one run.

    RUN_ID is the run id or a unique prefix of at least 4 characters.
    """
    run = state.api().run(run_id)
    if as_json:
        echo_json(run.to_dict(metadata=True))
        return
    for line in run_report(run):
        click.echo(line)


def stdin_is_interactive() -> bool:
    """Whether a person can answer a prompt (tests replace this)."""
    try:
        return bool(sys.stdin.isatty())
    except (AttributeError, ValueError):  # no stdin at all (pythonw) or a closed one
        return False


@runs_group.command("delete")
@click.argument("run_id")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@pass_state
def delete_run(state: CliState, run_id: str, yes: bool) -> None:
    """Delete a run and everything logged to it. This cannot be undone."""
    api = state.api()
    run = api.run(run_id)
    if not yes:
        if not stdin_is_interactive():
            raise CommandFailed(
                f"refusing to delete run {run.id} ({run.name}) without confirmation: "
                f"stdin is not a terminal; pass --yes to delete it"
            )
        still = " It is still running." if run.status.value == "running" else ""
        click.confirm(
            f"Delete run {run.id} ({run.name}, project {run.project}) and everything "
            f"logged to it?{still}",
            abort=True,
        )
    api.delete_run(run.id)
    click.echo(f"Deleted run {run.id} ({run.name}).")


@runs_group.command("logs")
@click.argument("run_id")
@click.option(
    "--stream",
    type=click.Choice(["stdout", "stderr"]),
    help="Only this stream (default: both, in the order they were written).",
)
@pass_state
def run_logs(state: CliState, run_id: str, stream: str | None) -> None:
    """Print the console output a run captured."""
    run = state.api().run(run_id)
    text = run.logs(stream)
    if not text:
        what = f"{stream} output" if stream else "console output"
        click.echo(f"run {run.id} has no captured {what}", err=True)
        return
    click.echo(text, nl=not text.endswith("\n"))


@runs_group.command("history")
@click.argument("run_id")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print steps, values, timestamps as JSON.")
@pass_state
def run_history(state: CliState, run_id: str, key: str, as_json: bool) -> None:
    """Print every logged point of metric KEY: step, value, time.

    \b
    Example:
      ragtrack runs history 3f2a train/loss --json
    """
    run = state.api().run(run_id)
    series = run.history(key)
    if len(series) == 0 and key not in run.metric_keys():
        known = ", ".join(run.metric_keys()) or "none"
        raise NotFoundError(f"run {run.id} has no metric {key!r}; its metrics are: {known}")
    if as_json:
        echo_json(
            {
                "run_id": run.id,
                "key": key,
                "steps": series.steps.tolist(),
                "values": series.values.tolist(),
                "timestamps": series.timestamps.tolist(),
            },
            indent=None,  # one line: a history can have millions of points
        )
        return
    rows = [
        [str(step), format_number(value, 10), precise_time(at)]
        for step, value, at in zip(
            series.steps.tolist(), series.values.tolist(), series.timestamps.tolist(), strict=True
        )
    ]
    for line in render_table(["step", "value", "time"], rows, right=(0, 1)):
        click.echo(line)
