"""``ragtrack projects list`` and ``ragtrack experiments list``."""

from __future__ import annotations

import click

from ragtrack.cli._format import echo_json, render_table, short_time, shorten
from ragtrack.cli._state import CliState, pass_state
from ragtrack.storage.rest._wire import experiment_to_json, project_to_json


@click.group("projects")
def projects_group() -> None:
    """List projects."""


@projects_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead.")
@pass_state
def list_projects(state: CliState, as_json: bool) -> None:
    """List projects with their number of runs."""
    projects = state.api().projects()
    if as_json:
        echo_json([project_to_json(p) for p in projects])
        return
    if not projects:
        click.echo("No projects yet: log a run with ragtrack.init(project=...) or `ragtrack demo`.")
        return
    rows = [[p.name, str(p.run_count), short_time(p.created_at)] for p in projects]
    for line in render_table(["name", "runs", "created"], rows, right=[1]):
        click.echo(line)


@click.group("experiments")
def experiments_group() -> None:
    """List the experiments of a project."""


@experiments_group.command("list")
@click.option("--project", "-p", required=True, help="The project whose experiments to list.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead.")
@pass_state
def list_experiments(state: CliState, project: str, as_json: bool) -> None:
    """List the experiments of a project with their number of runs."""
    experiments = state.api().experiments(project)
    if as_json:
        echo_json([experiment_to_json(e) for e in experiments])
        return
    if not experiments:
        click.echo(f"Project {project!r} has no experiments: its runs were logged without one.")
        return
    rows = [
        [e.name, str(e.run_count), short_time(e.created_at), shorten(e.description, 48)]
        for e in experiments
    ]
    for line in render_table(["name", "runs", "created", "description"], rows, right=[1]):
        click.echo(line)
