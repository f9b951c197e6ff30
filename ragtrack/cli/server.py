"""``ragtrack server``: serve a store over HTTP (docs/server.md).

The store is opened here, before uvicorn starts, so a database at the wrong
schema or out of reach fails the command with one line and exit code 1 instead
of a worker traceback. A shared PostgreSQL database is never migrated by the
server: ``ragtrack db upgrade`` does that, when the operator decides.
"""

from __future__ import annotations

import os
import tempfile

import click

from ragtrack._version import __version__
from ragtrack.cli._serving import artifacts_location, log_config, require_server_extra
from ragtrack.cli._state import CliState, pass_state
from ragtrack.storage._registry import StoreLocation, resolve_location

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@click.command("server")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on; 0.0.0.0 (or ::) for every interface.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8650, show_default=True)
@click.option(
    "--store",
    "store_uri",
    metavar="URI_OR_DIR",
    help="Store directory or database URL (postgresql+psycopg://user@host/db, "
    "sqlite:///path.db) [default: --dir, else $RAGTRACK_URI, $RAGTRACK_DIR, ./.ragtrack].",
)
@click.option(
    "--artifacts",
    metavar="DIR_OR_URL",
    help="Where artifact files live: a directory or an fsspec URL (s3://bucket/prefix) "
    "[default: $RAGTRACK_ARTIFACTS, else the store directory's artifacts/ (next to a SQLite "
    "file); required for PostgreSQL].",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (stateless; each opens its own connection pool).",
)
@click.option(
    "--auth-token",
    envvar="RAGTRACK_SERVER_TOKEN",
    metavar="TOKEN",
    help="Require 'Authorization: Bearer TOKEN' on the API and /metrics "
    "[default: $RAGTRACK_SERVER_TOKEN; prefer it: a flag shows in `ps`].",
)
@click.option(
    "--max-body-mb",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Largest JSON request body in MiB (artifact uploads are streamed and not limited).",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0, min_open=True, max=86400),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="A request body (an artifact upload, JSON) that sends nothing for this long is "
    "answered 408 and dropped.",
)
@click.option(
    "--max-uploads",
    type=click.IntRange(min=1, max=1024),
    default=32,
    show_default=True,
    help="Artifact uploads stored at once; more wait up to --body-timeout, then get 503.",
)
@pass_state
def server(
    state: CliState,
    host: str,
    port: int,
    store_uri: str | None,
    artifacts: str | None,
    workers: int,
    auth_token: str | None,
    max_body_mb: int,
    body_timeout: float,
    max_uploads: int,
) -> None:
    """Serve the store over HTTP: the REST API, its docs at /docs, and /metrics.

    \b
    ragtrack server                                  # the embedded store, on 127.0.0.1:8650
    ragtrack server --store postgresql+psycopg://ragtrack@db/ragtrack \\
                    --artifacts s3://team-bucket/ragtrack --host 0.0.0.0 --workers 4
    """
    require_server_extra("server")
    from ragtrack.server._backend import open_backends
    from ragtrack.server.settings import ServerSettings

    location = _location(state, store_uri)
    settings = ServerSettings(
        store=str(location.directory) if location.directory is not None else location.url,
        artifacts=_artifacts_location(location, artifacts),
        auth_token=auth_token or None,
        max_body_bytes=max_body_mb * 2**20,
        body_timeout=body_timeout,
        max_uploads=max_uploads,
    )
    store, artifact_store = open_backends(settings)  # fails here, not in a worker
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    click.echo(
        f"ragtrack {__version__} serving {location.display} on {url}  (API docs: {url}/docs)"
    )
    click.echo(f"artifacts: {settings.artifacts}")
    if auth_token is None and host not in _LOOPBACK:
        click.echo(
            "Warning: no token set, so anyone who can reach this port can read and delete "
            "runs: set RAGTRACK_SERVER_TOKEN",
            err=True,
        )
    import uvicorn

    from ragtrack.server._protocol import http_protocol

    if workers == 1:
        from ragtrack.server.app import create_app

        app = create_app(store, artifact_store, settings, owns_backends=True)
        uvicorn.run(app, host=host, port=port, log_config=log_config(), http=http_protocol())
        return
    store.close()
    if artifact_store is not None:
        artifact_store.close()
    from ragtrack.server.monitoring import MULTIPROC_ENV

    with tempfile.TemporaryDirectory(prefix="ragtrack-prometheus-") as metrics_dir:
        # Workers are fresh interpreters: they read their settings back from the
        # environment (app_from_env), and prometheus_client reads its directory
        # when it is first imported.
        os.environ.update({**settings.to_env(), MULTIPROC_ENV: metrics_dir})
        uvicorn.run(
            "ragtrack.server.app:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_config=log_config(),
            http=http_protocol(),
        )


def _location(state: CliState, store_uri: str | None) -> StoreLocation:
    location = resolve_location(state.dir, store_uri)
    if location.url.split(":", 1)[0].lower() in ("http", "https"):
        # Typically RAGTRACK_URI, set for clients, in the server's environment.
        source = "--store" if store_uri is not None else "$RAGTRACK_URI"
        raise click.UsageError(
            f"{source} {location.url!r} names a ragtrack server; a server serves a store "
            f"directory or a database URL: pass it with --store"
        )
    return location


def _artifacts_location(location: StoreLocation, artifacts: str | None) -> str:
    configured = artifacts_location(location, artifacts)
    if configured is None:
        raise click.UsageError(
            f"--artifacts is required with the database {location.display}: give a directory or "
            f"an fsspec URL such as s3://bucket/ragtrack-artifacts (or set RAGTRACK_ARTIFACTS)"
        )
    return configured
