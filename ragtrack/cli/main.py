"""The root ``ragtrack`` command: global options and the one place errors are translated.

Every subcommand runs inside :meth:`RagtrackGroup.invoke`, so a
:class:`~ragtrack.exceptions.RagtrackError` or a bug anywhere below becomes one
``Error: ...`` line on stderr and an exit code (see ``_errors.py``); the
traceback is printed only with ``--debug``.
"""

from __future__ import annotations

import errno
import importlib
import traceback
from typing import Any

import click

from ragtrack._version import __version__
from ragtrack.cli._errors import translate
from ragtrack.cli._state import CliState

# Exceptions click itself turns into messages and exit codes.
_CLICK_HANDLED = (click.ClickException, click.exceptions.Exit, click.Abort)

#: Each subcommand and where it lives, imported when it is run or listed (as
#: click's docs suggest for lazy subcommands): `ragtrack runs list` need not
#: import the spool, the transfer, the demo and numpy (docs/benchmarks.md, 10).
COMMANDS = {
    "db": ("ragtrack.cli.db", "db_group"),
    "demo": ("ragtrack.cli.demo", "demo"),
    "experiments": ("ragtrack.cli.projects", "experiments_group"),
    "projects": ("ragtrack.cli.projects", "projects_group"),
    "runs": ("ragtrack.cli.runs", "runs_group"),
    "server": ("ragtrack.cli.server", "server"),
    "sync": ("ragtrack.cli.sync", "sync"),
    "ui": ("ragtrack.cli.ui", "ui"),
}


class RagtrackGroup(click.Group):
    """A click group that loads its subcommands on first use and translates
    errors raised by them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, attribute = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

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


def main() -> None:
    """The ``ragtrack`` console script."""
    cli.main(prog_name="ragtrack")
