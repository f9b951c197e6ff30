"""Param value kinds and the keys of each project's runs.

* ``params.kind`` says which JSON type a param value had (``str``, ``num``,
  ``bool``, ``null`` or ``json``): until now the string ``"null"`` read as a
  missing param and ``params.x = true`` matched the string ``"true"``. Most
  rows tell their kind from their text and number; the few whose text fits two
  kinds (``null``, ``nan``, ``{}``, ``[...]``, ints too large for a float) are
  decided from their run's ``config_json``.
* ``run_keys`` lists the param and metric keys per (project, experiment), filled
  here from the existing params and summaries; ``projects.keys_stale`` marks a
  project whose list must be rebuilt before it is read.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Texts that a string shares with a value of another kind whose number is NULL.
_AMBIGUOUS = ("null", "nan", "inf", "-inf", "{}")
# Ints from 2**1023 up have no number; their text has at least 308 digits.
_HUGE_INT_CHARS = 308
_BATCH = 500


def upgrade() -> None:
    op.add_column(
        "projects",
        sa.Column("keys_stale", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("params", sa.Column("kind", sa.String(8), nullable=False, server_default="str"))
    op.create_table(
        "run_keys",
        sa.Column(
            "project_id",
            sa.Integer,
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column("field", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    _backfill_kinds(conn)
    _fill_run_keys(conn)


def downgrade() -> None:
    op.drop_table("run_keys")
    with op.batch_alter_table("params") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("keys_stale")


def _backfill_kinds(conn: sa.Connection) -> None:
    conn.execute(
        sa.text(
            "UPDATE params SET kind = CASE"
            " WHEN value_num IS NOT NULL AND value_text IN ('true', 'false') THEN 'bool'"
            " WHEN value_num IS NOT NULL THEN 'num'"
            " WHEN value_text LIKE '[%' THEN 'json'"
            " ELSE 'str' END"
        )
    )
    ambiguous = conn.execute(
        sa.text(
            "SELECT DISTINCT run_id FROM params WHERE value_num IS NULL AND"
            " (value_text IN :texts OR value_text LIKE '[%' OR length(value_text) >= :long)"
        ).bindparams(sa.bindparam("texts", expanding=True)),
        {"texts": list(_AMBIGUOUS), "long": _HUGE_INT_CHARS},
    ).scalars()
    run_ids = list(ambiguous)
    update = sa.text("UPDATE params SET kind = :kind WHERE run_id = :run_id AND key = :key")
    for i in range(0, len(run_ids), _BATCH):
        chunk = run_ids[i : i + _BATCH]
        configs = conn.execute(
            sa.text("SELECT id, config_json FROM runs WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": chunk},
        ).all()
        rows = [
            {"run_id": run_id, "key": key, "kind": kind}
            for run_id, config_json in configs
            for key, kind in _kinds(json.loads(config_json))
        ]
        if rows:
            conn.execute(update, rows)


def _kinds(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key, kind) of every leaf, flattened as the store flattened it when writing."""
    for raw_key, value in config.items():
        key = f"{prefix}{raw_key}"
        if isinstance(value, Mapping):
            if value:
                yield from _kinds(value, f"{key}.")
            else:
                yield key, "json"
        elif value is None:
            yield key, "null"
        elif isinstance(value, bool):
            yield key, "bool"
        elif isinstance(value, (int, float)):
            yield key, "num"
        elif isinstance(value, str):
            yield key, "str"
        else:
            yield key, "json"


def _fill_run_keys(conn: sa.Connection) -> None:
    for field, table, condition in (
        ("params", "params", ""),
        ("metrics", "summaries", " WHERE t.n_points > 0 OR t.value_json IS NOT NULL"),
    ):
        conn.execute(
            sa.text(
                "INSERT INTO run_keys (project_id, experiment_id, field, key)"
                " SELECT DISTINCT r.project_id, COALESCE(r.experiment_id, 0), :field, t.key"
                f" FROM {table} t JOIN runs r ON r.id = t.run_id{condition}"
            ),
            {"field": field},
        )
