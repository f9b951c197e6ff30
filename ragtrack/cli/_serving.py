"""What ``ragtrack server`` and ``ragtrack ui`` share: the polite check for the
``[server]`` extra, where artifacts live, and uvicorn's logging set-up."""

from __future__ import annotations

import copy
import os
from typing import Any

from ragtrack.cli._errors import CommandFailed
from ragtrack.storage._registry import StoreLocation


def require_server_extra(command: str) -> None:
    """Fail with the ``pip install`` to run when the server's packages are missing.

    Example:
        >>> require_server_extra("server")  # fastapi, uvicorn... are installed here
    """
    try:
        import fastapi  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as e:
        raise CommandFailed(
            f"ragtrack {command} needs {e.name!r}, which is not installed: "
            f"pip install 'ragtrack[server]'"
        ) from e


def artifacts_location(location: StoreLocation, artifacts: str | None) -> str | None:
    """Where the artifact files of the store at ``location`` live, or ``None``
    when nothing says (a database server without ``$RAGTRACK_ARTIFACTS``).

    The rules of :func:`ragtrack.storage.artifacts.artifact_store_for`, so the
    server and the SDK processes writing to the same store agree: ``artifacts``,
    else ``$RAGTRACK_ARTIFACTS``, else ``artifacts/`` in the store directory or
    beside the SQLite file.

    Example:
        >>> from ragtrack.storage._registry import resolve_location
        >>> artifacts_location(resolve_location("/data/store"), None)
        '/data/store/artifacts'
    """
    from ragtrack.storage.artifacts import ARTIFACTS_DIR

    configured = artifacts or os.environ.get("RAGTRACK_ARTIFACTS")
    if configured:
        return configured
    if location.directory is not None:
        return str(location.directory / ARTIFACTS_DIR)
    if location.file is not None:
        return str(location.file.parent / ARTIFACTS_DIR)
    return None


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up, plus ragtrack's own logger (server errors)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["ragtrack"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
