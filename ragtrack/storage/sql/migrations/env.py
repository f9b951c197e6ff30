"""Alembic environment: runs migrations on the connection ragtrack hands over."""

from __future__ import annotations

from alembic import context

from ragtrack.storage.sql._schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only ragtrack's own code runs these migrations
    raise RuntimeError("ragtrack migrations must be run through `ragtrack db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
)
with context.begin_transaction():
    context.run_migrations()
