"""The SQL store (SQLite embedded default; PostgreSQL for shared servers)."""

from ragtrack.storage.sql._store import SqlStore

__all__ = ["SqlStore"]
