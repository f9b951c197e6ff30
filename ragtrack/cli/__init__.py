"""The ``ragtrack`` command line: one module per command group.

Example:
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(cli, ["--version"]).output.startswith("ragtrack, version")
    True
"""

from __future__ import annotations

from ragtrack.cli.main import cli, main

__all__ = ["cli", "main"]
