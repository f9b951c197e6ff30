"""ragtrack: experiment tracking for RAG teams.

Example:
    >>> import ragtrack, tempfile
    >>> with ragtrack.init(project="rag-search", config={"chunk_size": 512},
    ...                    dir=tempfile.mkdtemp(), capture=False) as run:
    ...     run.log({"loss": 0.42, "recall@10": 0.61}, step=100)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ragtrack._version import __version__

if TYPE_CHECKING:
    from ragtrack.entities import RunStatus
    from ragtrack.exceptions import RagtrackError
    from ragtrack.sdk._lifecycle import current_run
    from ragtrack.sdk.api import Api, ApiRun
    from ragtrack.sdk.capture import CaptureSettings
    from ragtrack.sdk.decorators import track
    from ragtrack.sdk.run import Run, init

__all__ = [
    "Api",
    "ApiRun",
    "CaptureSettings",
    "RagtrackError",
    "Run",
    "RunStatus",
    "__version__",
    "current_run",
    "init",
    "track",
]

# The public names are imported on first use: the SDK needs numpy, and a store
# SQLAlchemy (~100-160 ms to import on our 2-core machines), which a script that
# only imports ragtrack, or a CLI command that does not touch a store, should
# not pay for. tests/sdk/test_import.py keeps `import ragtrack` light.
_LAZY = {
    "Api": "ragtrack.sdk.api",
    "ApiRun": "ragtrack.sdk.api",
    "CaptureSettings": "ragtrack.sdk.capture",
    "RagtrackError": "ragtrack.exceptions",
    "Run": "ragtrack.sdk.run",
    "RunStatus": "ragtrack.entities",
    "current_run": "ragtrack.sdk._lifecycle",
    "init": "ragtrack.sdk.run",
    "track": "ragtrack.sdk.decorators",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ragtrack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
