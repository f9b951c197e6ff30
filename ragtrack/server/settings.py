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
#: Default seconds a request body may go without sending a byte.
DEFAULT_BODY_TIMEOUT = 60.0
#: Default artifact uploads stored at once (each holds a thread while it streams).
DEFAULT_MAX_UPLOADS = 32

#: Environment variables that carry the settings to worker processes.
ENV_STORE = "RAGTRACK_SERVER_STORE"
ENV_ARTIFACTS = "RAGTRACK_SERVER_ARTIFACTS"
ENV_TOKEN = "RAGTRACK_SERVER_TOKEN"
ENV_MAX_BODY_BYTES = "RAGTRACK_SERVER_MAX_BODY_BYTES"
ENV_BODY_TIMEOUT = "RAGTRACK_SERVER_BODY_TIMEOUT"
ENV_MAX_UPLOADS = "RAGTRACK_SERVER_MAX_UPLOADS"


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
        body_timeout: seconds a request body (an artifact upload, JSON) may go
            without sending anything before it is answered 408 and dropped.
        max_uploads: artifact uploads stored at once; more wait (at most
            ``body_timeout``, then 503) instead of taking threads that other
            requests need.

    Example:
        >>> s = ServerSettings(store="/data/ragtrack", auth_token="s3cret")
        >>> ServerSettings.from_env(s.to_env()) == s
        True
    """

    store: str = ""
    artifacts: str | None = None
    auth_token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_uploads: int = DEFAULT_MAX_UPLOADS

    def __repr__(self) -> str:  # never print the token
        token = "'***'" if self.auth_token else "None"
        return (
            f"ServerSettings(store={self.store!r}, artifacts={self.artifacts!r}, "
            f"auth_token={token}, max_body_bytes={self.max_body_bytes}, "
            f"body_timeout={self.body_timeout}, max_uploads={self.max_uploads})"
        )

    def to_env(self) -> dict[str, str]:
        """The environment variables that :meth:`from_env` reads back."""
        env = {
            ENV_STORE: self.store,
            ENV_MAX_BODY_BYTES: str(self.max_body_bytes),
            ENV_BODY_TIMEOUT: repr(self.body_timeout),
            ENV_MAX_UPLOADS: str(self.max_uploads),
        }
        if self.artifacts is not None:
            env[ENV_ARTIFACTS] = self.artifacts
        if self.auth_token:
            env[ENV_TOKEN] = self.auth_token
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        return cls(
            store=env.get(ENV_STORE, ""),
            artifacts=env.get(ENV_ARTIFACTS) or None,
            auth_token=env.get(ENV_TOKEN) or None,
            max_body_bytes=int(_positive(env, ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)),
            body_timeout=_positive(env, ENV_BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT),
            max_uploads=int(_positive(env, ENV_MAX_UPLOADS, DEFAULT_MAX_UPLOADS)),
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name) or str(default)
    try:
        value = float(raw) if isinstance(default, float) else int(raw)
    except ValueError:
        value = -1
    if not value > 0 or value == float("inf"):
        unit = "seconds" if isinstance(default, float) else "number"
        raise InvalidArgumentError(f"{name} must be a positive {unit}, got {raw!r}", field=name)
    return value
