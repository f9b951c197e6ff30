"""The param and metric keys of each project's runs, kept on write.

The runs table asks for them on every request; a ``SELECT DISTINCT`` over the
params and summaries of every run of a project cost ~40 ms at 10,000 runs.
The ``run_keys`` table (see ``_schema.py``) answers from a few rows per key.

Writes only ever add: a run's new keys are inserted with ``ON CONFLICT DO
NOTHING``, which on PostgreSQL neither blocks nor is blocked by writers of
other runs unless both insert the same new key at once. A write that can
remove the last use of a key (deleting runs, a param turning into a dict of
params) marks the project's list stale instead of counting uses, and the
next reader rebuilds it once from the params and summaries (:func:`rebuild`).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ragtrack.entities import RunKeys
from ragtrack.storage.sql._driver import DriverStatement
from ragtrack.storage.sql._schema import params, projects, run_keys, runs, summaries
from ragtrack.storage.sql._upsert import insert_ignoring_conflicts_for, upsert

PARAMS, METRICS = "params", "metrics"
_KEY_COLUMNS = ("project_id", "experiment_id", "field", "key")


def _insert_keys_of_run(dialect: str) -> sa.ClauseElement:
    # One statement per key that looks the run's project up itself: the metric
    # write paths do not otherwise read the run row (SQLite) or read only its id.
    source = sa.select(
        runs.c.project_id,
        sa.func.coalesce(runs.c.experiment_id, 0),
        sa.bindparam("field", type_=sa.String),
        sa.bindparam("key", type_=sa.String),
    ).where(runs.c.id == sa.bindparam("rid"))
    stmt = insert_ignoring_conflicts_for(dialect, run_keys, _KEY_COLUMNS)
    # from_select on the cached ON CONFLICT insert builds a new statement.
    return stmt.from_select(list(_KEY_COLUMNS), source)  # type: ignore[no-any-return]


_INSERT_KEYS_OF_RUN = DriverStatement(_insert_keys_of_run)
_MARK_STALE = DriverStatement(
    lambda dialect: (
        projects.update().where(projects.c.id == sa.bindparam("pid")).values(keys_stale=True)
    )
)
_MARK_STALE_FOR_RUN = DriverStatement(
    lambda dialect: (
        projects.update()
        .where(
            projects.c.id
            == sa.select(runs.c.project_id)
            .where(runs.c.id == sa.bindparam("rid"))
            .scalar_subquery()
        )
        .values(keys_stale=True)
    )
)


def add(
    conn: sa.Connection, project_id: int, experiment_id: int | None, field: str, keys: Iterable[str]
) -> None:
    """Record ``keys`` as used by a run of the project (and experiment)."""
    rows = [
        {"project_id": project_id, "experiment_id": experiment_id or 0, "field": field, "key": k}
        for k in keys
    ]
    if rows:
        upsert(conn, run_keys, rows, keys=_KEY_COLUMNS, update=())


def add_for_run(conn: sa.Connection, run_id: str, field: str, keys: Iterable[str]) -> None:
    """Record ``keys`` as used by run ``run_id`` (nothing if the run does not exist)."""
    rows = [{"rid": run_id, "field": field, "key": k} for k in keys]
    if rows:
        _INSERT_KEYS_OF_RUN.executemany(conn, rows)


def mark_stale(conn: sa.Connection, project_id: int) -> None:
    """Some key of the project may no longer be used: rebuild before the next read."""
    _MARK_STALE.execute(conn, {"pid": project_id}).close()


def mark_stale_for_run(conn: sa.Connection, run_id: str) -> None:
    """:func:`mark_stale` for the project of run ``run_id``."""
    _MARK_STALE_FOR_RUN.execute(conn, {"rid": run_id}).close()


def is_stale(conn: sa.Connection, project_id: int) -> bool:
    return bool(
        conn.execute(sa.select(projects.c.keys_stale).where(projects.c.id == project_id)).scalar()
    )


def rebuild(conn: sa.Connection, project_id: int) -> None:
    """Replace the project's keys with those its runs use now (in a write transaction).

    The flag is cleared first: a run deleted while this runs marks it again.
    """
    conn.execute(
        projects.update()
        .where(projects.c.id == project_id, projects.c.keys_stale)
        .values(keys_stale=False)
    )
    conn.execute(run_keys.delete().where(run_keys.c.project_id == project_id))
    experiment_id = sa.func.coalesce(runs.c.experiment_id, 0)
    for field, table, *condition in (
        (PARAMS, params),
        (METRICS, summaries, sa.or_(summaries.c.n_points > 0, summaries.c.value_json.is_not(None))),
    ):
        used = (
            sa.select(runs.c.project_id, experiment_id, sa.literal(field), table.c.key)
            .distinct()
            .select_from(runs.join(table, table.c.run_id == runs.c.id))
            .where(runs.c.project_id == project_id, *condition)
        )
        # A run created meanwhile (PostgreSQL) may have added its keys already.
        insert = insert_ignoring_conflicts_for(conn.dialect.name, run_keys, _KEY_COLUMNS)
        conn.execute(insert.from_select(list(_KEY_COLUMNS), used))


def read(conn: sa.Connection, project_id: int, experiment_id: int | None) -> RunKeys:
    """The keys of the project's runs, or of one experiment's runs."""
    query = (
        sa.select(run_keys.c.field, run_keys.c.key)
        .distinct()
        .where(run_keys.c.project_id == project_id)
    )
    if experiment_id is not None:
        query = query.where(run_keys.c.experiment_id == experiment_id)
    found: dict[str, list[str]] = {PARAMS: [], METRICS: []}
    for field, key in conn.execute(query):
        found[field].append(key)
    return RunKeys(params=tuple(sorted(found[PARAMS])), metrics=tuple(sorted(found[METRICS])))
