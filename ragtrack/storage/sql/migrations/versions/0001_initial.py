"""Initial schema: projects, experiments, runs, tags, params, summaries, metric chunks,
metric batch ids and console logs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _run_fk() -> sa.Column[str]:
    return sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(250), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("runs_created", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_experiments_project_name"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("heartbeat_at", sa.Float, nullable=True),
        sa.Column("config_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("metadata_json", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_runs_project_created", "runs", ["project_id", "created_at"])
    op.create_index("ix_runs_experiment", "runs", ["experiment_id"])
    op.create_table(
        "run_tags",
        _run_fk(),
        sa.Column("tag", sa.String(250), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "params",
        _run_fk(),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value_text", sa.Text, nullable=False),
        sa.Column("value_num", sa.Float, nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "summaries",
        _run_fk(),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("value_json", sa.Text, nullable=True),
        sa.Column("n_points", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last", sa.Float, nullable=True),
        sa.Column("last_step", sa.BigInteger, nullable=True),
        sa.Column("last_time", sa.Float, nullable=True),
        sa.Column("min", sa.Float, nullable=True),
        sa.Column("max", sa.Float, nullable=True),
        sa.Column("tail_seq", sa.Integer, nullable=True),
        sa.Column("tail_points", sa.Integer, nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_summaries_key_value", "summaries", ["key", "value"])
    op.create_table(
        "metric_chunks",
        _run_fk(),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("n_points", sa.Integer, nullable=False),
        sa.Column("encoding", sa.Integer, nullable=False),
        sa.Column("steps_blob", sa.LargeBinary, nullable=False),
        sa.Column("values_blob", sa.LargeBinary, nullable=False),
        sa.Column("times_blob", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "metric_batches",
        _run_fk(),
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("applied_at", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "run_logs",
        _run_fk(),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "run_logs",
        "metric_batches",
        "metric_chunks",
        "summaries",
        "params",
        "run_tags",
        "runs",
        "experiments",
        "projects",
    ):
        op.drop_table(table)
