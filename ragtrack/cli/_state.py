"""What the root command hands down to every subcommand: the store and flags."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from ragtrack.sdk.api import Api


@dataclass
class CliState:
    """Global options of one ``ragtrack`` invocation.

    ``dir`` is ``None`` unless ``--dir`` was given; the store is then chosen as
    the SDK chooses it (``$RAGTRACK_URI``, ``$RAGTRACK_DIR``, ``./.ragtrack``),
    so the CLI always reads what ``ragtrack.init`` wrote.

    Example:
        >>> state = CliState(dir=None)
        >>> state.debug
        False
    """

    dir: str | None = None
    debug: bool = False
    _api: Api | None = field(default=None, repr=False)

    def api(self) -> Api:
        """The read API over the store, opened on first use (``--version`` and
        ``--help`` never touch the disk)."""
        if self._api is None:
            self._api = Api(dir=self.dir)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None


#: Decorator giving a command the CliState (a default one when invoked without the root).
pass_state = click.make_pass_decorator(CliState, ensure=True)
