"""docs/cli.md documents every command and option (as Datasette's test_docs does)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from ragtrack.cli import cli

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
# "## heading" -> the text up to the next "## " heading.
SECTIONS = dict(re.findall(r"^## (.+)\n((?:(?!## ).*\n?)*)", DOC, flags=re.MULTILINE))


def commands(group: click.Group, prefix: str = "ragtrack") -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{prefix} lists {name} but cannot load it"
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path, command


ALL = list(commands(cli))


@pytest.mark.parametrize(("path", "command"), ALL, ids=[p for p, _ in ALL])
def test_every_command_and_its_options_are_documented(path: str, command: click.Command) -> None:
    section = next((text for heading, text in SECTIONS.items() if f"`{path}" in heading), None)
    assert section is not None, f"docs/cli.md has no section for {path}"
    intro = DOC.split("\n## ")[0]
    assert f"\n  {path.removeprefix('ragtrack ')} " in intro, f"the overview lacks {path}"
    for param in command.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            long_name = max(param.opts, key=len)
            assert long_name in section, f"{path} {long_name} is not in its section"


def test_global_options_are_documented() -> None:
    for param in cli.params:
        for opt in param.opts:
            assert f"`{opt}" in SECTIONS["Global options"], opt
