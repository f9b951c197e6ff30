"""Tables of the SQL store (SQLAlchemy Core), shared by SQLite and PostgreSQL.

The schema is created and upgraded only by the Alembic migrations in
``migrations/versions``; this module describes the head revision for queries.
A test checks that the two agree.

Why the shapes:

* ``metric_chunks`` holds a run of points per row as packed arrays (see
  ``_chunks.py``), so writing 200,000 points is a handful of inserts and reading
  a million-point series is one indexed scan.
* ``summaries`` has one row per (run, key), updated on every write; ``value`` is
  what filters and tables show: the explicit summary value when one was set
  (``value_json`` not null), else the last logged value. ``tail_seq`` and
  ``tail_points`` locate the series' last chunk, so appending needs no chunk
  lookup except when its small trailing chunks are folded (every 16 chunks).
* ``params`` duplicates ``runs.config_json`` as flattened rows so that filters
  like ``params.lr < 0.01`` are primary-key lookups per run instead of JSON
  parsing. There is deliberately no (key, value) index: the filter compiler's
  correlated EXISTS never uses one, and it spread each new run's params over
  one index page per key, tripling the pages a run creation commits.
  ``kind`` says which JSON type the value had (see ``_params.py``): the text
  of the string ``"null"`` and of JSON ``null`` is the same.
* ``run_keys`` lists the param and metric keys used by the runs of each
  project and experiment, so the runs table learns its columns from a few
  rows instead of scanning every run's params and summaries. Writes add keys
  (``INSERT ... ON CONFLICT DO NOTHING``, only for keys new to a run); writes
  that can remove the last use of a key (deleting runs, a param turning into
  a dict) set ``projects.keys_stale`` instead, and the next reader rebuilds
  the project's rows from the params and summaries (see ``_run_keys.py``).
* Small per-run tables are clustered on their primary key (SQLite
  ``WITHOUT ROWID``), which saves a separate primary-key index per table.
"""

from __future__ import annotations

import sqlalchemy as sa

#: The Alembic revision this code reads and writes. Bump with every migration.
SCHEMA_REVISION = "0003"

metadata = sa.MetaData()

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(250), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    # Numbers generated run names ("swift-river-12") without counting runs.
    sa.Column("runs_created", sa.BigInteger, nullable=False, server_default="0"),
    # run_keys may list keys no run uses any more: rebuild before reading.
    sa.Column("keys_stale", sa.Boolean, nullable=False, server_default=sa.false()),
)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    # datasets, models, hyperparameters and metrics: read and written as a whole,
    # never filtered on, so one JSON object rather than four tables.
    sa.Column("definition_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("command", sa.Text, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=True),
    sa.UniqueConstraint("project_id", "name", name="uq_experiments_project_name"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
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
    sa.Index("ix_runs_project_created", "project_id", "created_at"),
    sa.Index("ix_runs_experiment", "experiment_id"),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(250), primary_key=True),
    sqlite_with_rowid=False,
)

params = sa.Table(
    "params",
    metadata,
    sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value_text", sa.Text, nullable=False),
    sa.Column("value_num", sa.Float, nullable=True),
    sa.Column("kind", sa.String(8), nullable=False, server_default="str"),
    sqlite_with_rowid=False,
)

run_keys = sa.Table(
    "run_keys",
    metadata,
    sa.Column(
        "project_id",
        sa.Integer,
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # 0 for runs outside any experiment: a primary key column cannot be NULL.
    sa.Column("experiment_id", sa.Integer, primary_key=True),
    # "params" or "metrics", as the filter fields are named.
    sa.Column("field", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sqlite_with_rowid=False,
)

summaries = sa.Table(
    "summaries",
    metadata,
    sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
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
    sa.Index("ix_summaries_key_value", "key", "value"),
    sqlite_with_rowid=False,
)

metric_chunks = sa.Table(
    "metric_chunks",
    metadata,
    sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("n_points", sa.Integer, nullable=False),
    sa.Column("encoding", sa.Integer, nullable=False),
    sa.Column("steps_blob", sa.LargeBinary, nullable=False),
    sa.Column("values_blob", sa.LargeBinary, nullable=False),
    sa.Column("times_blob", sa.LargeBinary, nullable=False),
)

metric_batches = sa.Table(
    "metric_batches",
    metadata,
    sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
    sqlite_with_rowid=False,
)

run_logs = sa.Table(
    "run_logs",
    metadata,
    sa.Column(
        "run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("stream", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)


def effective_status(stale_before: float) -> sa.ColumnElement[str]:
    """The status a reader sees: a running run without a recent heartbeat is crashed."""
    return sa.case(
        (
            sa.and_(
                runs.c.status == "running",
                sa.func.coalesce(runs.c.heartbeat_at, runs.c.created_at) < stale_before,
            ),
            sa.literal("crashed"),
        ),
        else_=runs.c.status,
    )
