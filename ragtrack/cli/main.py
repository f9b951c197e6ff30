"""The root ``ragtrack`` command: global options and the one place errors are translated.

Every subcommand runs inside :meth:`RagtrackGroup.invoke`, so a
:class:`~ragtrack.exceptions.RagtrackError` or a bug anywhere below becomes one
``Error: ...`` line on stderr and an exit code (see ``_errors.py``); the
traceback is printed only with ``--debug``.
"""

from __future__ import annotations

import errno
import traceback
from typing import Any

import click

from ragtrack._version import __version__
from ragtrack.cli._errors import translate
from ragtrack.cli._state import CliState
from ragtrack.cli.db import db_group
from ragtrack.cli.demo import demo
from ragtrack.cli.projects import experiments_group, projects_group
from ragtrack.cli.runs import runs_group
from ragtrack.cli.server import server
from ragtrack.cli.sync import sync
from ragtrack.cli.ui import ui

# Exceptions click itself turns into messages and exit codes.
_CLICK_HANDLED = (click.ClickException, click.exceptions.Exit, click.Abort)


class RagtrackGroup(click.Group):
    """A click group that translates errors raised by its subcommands."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _CLICK_HANDLED:
            raise
        except Exception as e:
            if isinstance(e, OSError) and e.errno == errno.EPIPE:
                raise  # `ragtrack runs list | head`: click exits quietly
            if ctx.params.get("debug"):
                click.echo(traceback.format_exc().rstrip(), err=True)
            raise translate(e) from e


@click.group(
    cls=RagtrackGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--dir",
    "store_dir",
    type=click.Path(file_okay=False),
    metavar="PATH",
    help="Embedded store directory [default: $RAGTRACK_DIR or ./.ragtrack; "
    "$RAGTRACK_URI, when set, wins over both].",
)
@click.option("--debug", is_flag=True, help="Print the full traceback of errors.")
@click.version_option(__version__, "--version", "-V", prog_name="ragtrack")
@click.pass_context
def cli(ctx: click.Context, store_dir: str | None, debug: bool) -> None:
    """ragtrack: experiment tracking for RAG teams.

    \b
    Start with:
      ragtrack demo                 log a few realistic demo runs
      ragtrack runs list            the runs in the store, newest first
      ragtrack runs show RUN_ID     everything about one run
    """
    state = CliState(dir=store_dir, debug=debug)
    ctx.obj = state
    ctx.call_on_close(state.close)


cli.add_command(runs_group)
cli.add_command(projects_group)
cli.add_command(experiments_group)
cli.add_command(db_group)
cli.add_command(demo)
cli.add_command(server)
cli.add_command(sync)
cli.add_command(ui)


def main() -> None:
    """The ``ragtrack`` console script."""
    cli.main(prog_name="ragtrack")
