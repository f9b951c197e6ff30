"""The ragtrack tracking server (``ragtrack server``; needs ``pip install 'ragtrack[server]'``):
a thin HTTP layer over one store, documented in docs/server.md.

Example:
    >>> from ragtrack.server import create_app
    >>> from ragtrack.storage.sql import SqlStore
    >>> app = create_app(SqlStore("sqlite://"))
"""

from ragtrack.server.app import app_from_env, create_app
from ragtrack.server.settings import ServerSettings

__all__ = ["ServerSettings", "app_from_env", "create_app"]
