"""Experiment definitions: datasets, models, hyperparameters and metrics (as one
JSON object), the command that executes the experiment, and when it last changed.

Existing experiments (all created implicitly by runs) get an empty definition.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN works on both SQLite and PostgreSQL without copying the
    # table; a NOT NULL column needs its default for the existing rows.
    op.add_column(
        "experiments",
        sa.Column("definition_json", sa.Text, nullable=False, server_default="{}"),
    )
    op.add_column("experiments", sa.Column("command", sa.Text, nullable=True))
    op.add_column("experiments", sa.Column("updated_at", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("command")
        batch.drop_column("definition_json")
