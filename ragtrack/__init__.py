"""ragtrack: experiment tracking for RAG teams.

Example:
    >>> import ragtrack, tempfile
    >>> with ragtrack.init(project="rag-search", config={"chunk_size": 512},
    ...                    dir=tempfile.mkdtemp(), capture=False) as run:
    ...     run.log({"loss": 0.42, "recall@10": 0.61}, step=100)
"""

from ragtrack._version import __version__
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
