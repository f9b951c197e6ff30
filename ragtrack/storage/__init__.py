"""Storage: the Store contract and its backends.

Use :func:`open_store` to get a store; backends import their heavy dependencies
only when opened.
"""

from ragtrack.storage._base import DEFAULT_STALE_AFTER, Store
from ragtrack.storage._keys import key_problem, validate_key
from ragtrack.storage._registry import default_dir, open_store

__all__ = [
    "DEFAULT_STALE_AFTER",
    "Store",
    "default_dir",
    "key_problem",
    "open_store",
    "validate_key",
]
