"""``ragtrack ui``: the web UI over the store ``ragtrack.init`` writes to, in a browser tab.

The same app as ``ragtrack server`` (docs/server.md), with what suits one person
on their own machine: one worker, loopback by default, no access log, and a
browser tab opened once the server accepts connections. The socket is bound
here, before uvicorn starts, so a port in use is one line naming ``--port``
instead of uvicorn's log and exit, and ``--port 0`` prints the port it got.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
from typing import TYPE_CHECKING

import click

from ragtrack.cli._errors import CommandFailed
from ragtrack.cli._serving import artifacts_location, log_config, require_server_extra
from ragtrack.cli._state import CliState, pass_state
from ragtrack.storage._registry import DB_FILE, StoreLocation, resolve_location

if TYPE_CHECKING:
    import uvicorn

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: Where a browser on this machine reaches a server listening on every interface.
_WILDCARD_TO_LOCAL = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


@click.command("ui")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on; 0.0.0.0 (or ::) lets other machines in, without a token.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8650,
    show_default=True,
    help="TCP port; 0 picks a free one.",
)
@click.option("--no-browser", is_flag=True, help="Print the URL without opening a browser tab.")
@pass_state
def ui(state: CliState, host: str, port: int, no_browser: bool) -> None:
    """Open the web UI: projects, runs, charts and comparisons of the local store.

    The store is the one ragtrack.init writes to: --dir, else $RAGTRACK_URI,
    $RAGTRACK_DIR, ./.ragtrack. Stop it with Ctrl+C.

    \b
    ragtrack ui                                  # http://127.0.0.1:8650/ in a new tab
    ragtrack --dir runs/ ui --port 8700 --no-browser
    """
    require_server_extra("ui")
    import uvicorn

    from ragtrack.server._backend import open_backends
    from ragtrack.server._protocol import http_protocol
    from ragtrack.server.app import create_app
    from ragtrack.server.settings import ServerSettings

    location = _location(state)
    # Bound first: a port in use fails before a missing store directory is created.
    sock = _bind(host, port)
    try:
        is_new = location.directory is not None and not (location.directory / DB_FILE).exists()
        settings = ServerSettings(
            store=str(location.directory) if location.directory is not None else location.url,
            artifacts=artifacts_location(location, None),
        )
        # Created when missing, as `ragtrack server` and ragtrack.init do; said below.
        store, artifact_store = open_backends(settings)
        try:
            url = _url(host, sock.getsockname()[1])
            _announce(url, location, store.count_runs(), is_new, host)
        except BaseException:
            store.close()
            if artifact_store is not None:
                artifact_store.close()
            raise
        # From here the app owns both: its shutdown closes them.
        app = create_app(store, artifact_store, settings, owns_backends=True)
        config = uvicorn.Config(
            app, log_config=log_config(), access_log=False, http=http_protocol()
        )
        server = uvicorn.Server(config)
        _serve(server, sock, url, open_browser=not no_browser)
    finally:
        sock.close()


def _announce(url: str, location: StoreLocation, n_runs: int, is_new: bool, host: str) -> None:
    click.echo(f"ragtrack UI: {url}")
    click.echo(f"store: {location.display if location.directory is None else location.directory}")
    if n_runs == 0:
        created = " (a new, empty store)" if is_new else ""
        click.echo(
            f"No runs yet{created}: log one with ragtrack.init(project=...) in your code, "
            f"or run `ragtrack demo` for a few realistic ones, then reload the page."
        )
    if host not in _LOOPBACK:
        click.echo(
            f"Warning: listening on {host}, so anyone who can reach this port can read and "
            f"delete runs: `ragtrack server` with RAGTRACK_SERVER_TOKEN serves the UI with a "
            f"token",
            err=True,
        )


def _location(state: CliState) -> StoreLocation:
    location = resolve_location(state.dir)
    if location.remote:
        # RAGTRACK_URI set for clients: that server shows the UI already.
        raise click.UsageError(
            f"$RAGTRACK_URI names a ragtrack server, which serves the UI itself: open "
            f"{location.url.rstrip('/')}/ in a browser, or pass --dir for a local store"
        )
    return location


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, or one line saying why it cannot be."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as e:
        raise CommandFailed(
            f"cannot listen on --host {host!r}: {e.strerror}; give an address such as 127.0.0.1"
        ) from e
    sock = socket.socket(family, kind, proto)
    # As uvicorn does: a restart right after Ctrl+C must not wait out TIME_WAIT.
    # On Linux this still refuses a port another socket is listening on.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise CommandFailed(
                f"port {port} on {host} is already in use (another ragtrack ui or server?): "
                f"choose another with --port, e.g. --port {port + 1 if port < 65535 else 0}"
            ) from e
        raise CommandFailed(f"cannot listen on {host}:{port}: {e.strerror}") from e
    return sock


def _url(host: str, port: int) -> str:
    shown = _WILDCARD_TO_LOCAL.get(host, host)
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"


def _serve(server: uvicorn.Server, sock: socket.socket, url: str, *, open_browser: bool) -> None:
    """Run ``server`` on ``sock`` until Ctrl+C, opening ``url`` once it listens."""
    stop = threading.Event()
    opener = None
    if open_browser and not _has_display():
        port = sock.getsockname()[1]
        click.echo(
            f"No display to open a browser on: open {url} in yours "
            f"(over SSH, forward the port first: ssh -L {port}:localhost:{port} HOST)"
        )
    elif open_browser:
        opener = threading.Thread(
            target=_open_when_listening, args=(server, url, stop), name="ragtrack-ui-browser"
        )
        opener.daemon = True  # a browser that hangs must not keep the process alive
        opener.start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl+C it shut down for; stopping is the normal end.
        pass
    finally:
        stop.set()
        if opener is not None:
            opener.join(timeout=5)


def _open_when_listening(server: uvicorn.Server, url: str, stop: threading.Event) -> None:
    # uvicorn sets `started` once the socket listens and the app's startup ran.
    while not server.started:
        if stop.wait(0.05):
            return
    import webbrowser  # not at import time: every `ragtrack` command would pay for it

    try:
        opened = webbrowser.open(url)
    except Exception:  # webbrowser.Error, or a browser command that fails to start
        opened = False
    if not opened:
        click.echo(f"Could not open a browser: open {url} yourself.", err=True)


def _has_display() -> bool:
    """Whether a graphical browser can open: without a display, webbrowser falls
    back to console browsers (lynx, w3m) that would take over this terminal."""
    if os.environ.get("BROWSER") or sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
