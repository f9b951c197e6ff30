"""What a server process needs to know, and how ``ragtrack server`` hands it to
uvicorn worker processes (environment variables: workers import
:func:`ragtrack.server.app.app_from_env`, which reads them back)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ragtrack.exceptions import InvalidArgumentError

#: Default largest JSON request body (artifact uploads are streamed, not limited).
DEFAULT_MAX_BODY_BYTES = 256 * 2**20

#: Environment variables that carry the settings to worker processes.
ENV_STORE = "RAGTRACK_SERVER_STORE"
ENV_ARTIFACTS = "RAGTRACK_SERVER_ARTIFACTS"
ENV_TOKEN = "RAGTRACK_SERVER_TOKEN"
ENV_MAX_BODY_BYTES = "RAGTRACK_SERVER_MAX_BODY_BYTES"


@dataclass(frozen=True)
class ServerSettings:
    """Settings of one server process.

    Attributes:
        store: the store directory or database URL (``open_store(uri=...)``).
        artifacts: the artifact store location (a directory or an fsspec URL),
            or ``None`` for a server that stores no artifacts.
        auth_token: the bearer token every API call must carry; ``None`` leaves
            the API open.
        max_body_bytes: the largest JSON request body; bigger ones get 413.

    Example:
        >>> s = ServerSettings(store="/data/ragtrack", auth_token="s3cret")
        >>> ServerSettings.from_env(s.to_env()) == s
        True
    """

    store: str = ""
    artifacts: str | None = None
    auth_token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __repr__(self) -> str:  # never print the token
        token = "'***'" if self.auth_token else "None"
        return (
            f"ServerSettings(store={self.store!r}, artifacts={self.artifacts!r}, "
            f"auth_token={token}, max_body_bytes={self.max_body_bytes})"
        )

    def to_env(self) -> dict[str, str]:
        """The environment variables that :meth:`from_env` reads back."""
        env = {ENV_STORE: self.store, ENV_MAX_BODY_BYTES: str(self.max_body_bytes)}
        if self.artifacts is not None:
            env[ENV_ARTIFACTS] = self.artifacts
        if self.auth_token:
            env[ENV_TOKEN] = self.auth_token
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        raw_max = env.get(ENV_MAX_BODY_BYTES) or str(DEFAULT_MAX_BODY_BYTES)
        try:
            max_body = int(raw_max)
        except ValueError:
            max_body = -1
        if max_body < 1:
            raise InvalidArgumentError(
                f"{ENV_MAX_BODY_BYTES} must be a positive number of bytes, got {raw_max!r}",
                field=ENV_MAX_BODY_BYTES,
            )
        return cls(
            store=env.get(ENV_STORE, ""),
            artifacts=env.get(ENV_ARTIFACTS) or None,
            auth_token=env.get(ENV_TOKEN) or None,
            max_body_bytes=max_body,
        )
