"""The SQL store: the Store contract over SQLAlchemy Core (SQLite or PostgreSQL)."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ragtrack.entities import RunGroup, RunKeys, RunRecord, RunStatus
from ragtrack.exceptions import (
    AlreadyExistsError,
    AmbiguousIdError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    RunNotFoundError,
    StoreError,
)
from ragtrack.storage import filter as run_filter
from ragtrack.storage._base import Store
from ragtrack.storage._input import (
    captured_json,
    captured_text,
    checked_count,
    checked_json,
    checked_lookup,
    checked_new_run_id,
    checked_str,
    checked_tags,
    checked_text,
    checked_time,
    is_run_id,
)
from ragtrack.storage._keys import validate_key
from ragtrack.storage._names import new_run_id, new_run_name
from ragtrack.storage._params import ParamRow, deep_merge, flatten_config, to_plain
from ragtrack.storage._run_groups import checked_group_args
from ragtrack.storage.sql import _aggregates, _experiments, _metric_io, _run_keys
from ragtrack.storage.sql._catalog import SqlCatalog
from ragtrack.storage.sql._connection import RUN_EXISTS
from ragtrack.storage.sql._driver import DriverStatement
from ragtrack.storage.sql._records import load_records, run_columns, runs_from
from ragtrack.storage.sql._schema import params, projects, run_logs, run_tags, runs, summaries
from ragtrack.storage.sql._search_plan import search_query
from ragtrack.storage.sql._upsert import claim_project, insert_many, upsert
from ragtrack.storage.sql._write_values import dumps, run_updates, summary_rows

if TYPE_CHECKING:
    import numpy as np

    from ragtrack.entities.metric import MetricSeries

# Statements on hot paths are built once: building costs more than running them.
_UPDATE_RUN = runs.update().where(runs.c.id == sa.bindparam("rid"))
_INSERT_RUN = DriverStatement(lambda dialect: runs.insert())
_INSERT_TAGS = DriverStatement(lambda dialect: run_tags.insert())


@functools.cache
def _update_run(columns: tuple[str, ...]) -> DriverStatement:
    return DriverStatement(lambda dialect: _UPDATE_RUN, columns)


_LOG_STREAMS = ("stdout", "stderr")


class SqlStore(SqlCatalog, Store):
    """A store in a SQL database.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:////tmp/x/ragtrack.db`` or
            ``postgresql+psycopg://user@host/db``.
        upgrade: create or migrate the schema on open (the embedded store does;
            a shared server asks the operator to run ``ragtrack db upgrade``).
        stale_after: seconds without a heartbeat after which a running run is
            reported as crashed.

    Example:
        >>> store = SqlStore("sqlite://")
        >>> run = store.create_run(project="demo")
        >>> store.get_run(run.id).status.value
        'running'
    """

    # -- runs ----------------------------------------------------------------------------

    def create_run(
        self,
        *,
        project: str,
        experiment: str | None = None,
        name: str | None = None,
        run_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        notes: str = "",
        status: RunStatus = RunStatus.RUNNING,
        created_at: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        validate_key(project, "project name", "project")
        if experiment is not None:
            validate_key(experiment, "experiment name", "experiment")
        if name is not None:
            validate_key(name, "run name", "name")
        if run_id is not None:
            checked_new_run_id(run_id)
        status = RunStatus(status)
        checked_text(notes, "notes")
        plain = checked_json(to_plain(dict(config or {})), "config")
        # Captured (git diff, environment): kept, with any NUL replaced.
        plain_metadata = captured_json(to_plain(dict(metadata or {}), "metadata"))
        param_rows = list(flatten_config(plain))
        tag_list = checked_tags(tags)
        now = time.time() if created_at is None else checked_time(created_at, "created_at")
        run_id = run_id or new_run_id()
        running = status == RunStatus.RUNNING
        with self._write() as conn:
            # Liveness is judged by this store's clock, never the caller's
            # created_at (a spooled create carries the client's clock).
            heartbeat_at = time.time() if running else None
            pid, number = claim_project(conn, projects, project, now)
            eid = self._experiment_id(conn, pid, experiment) if experiment else None
            name = name or new_run_name(number)
            try:
                _INSERT_RUN.execute(
                    conn,
                    {
                        "id": run_id,
                        "project_id": pid,
                        "experiment_id": eid,
                        "name": name,
                        "status": status.value,
                        "created_at": now,
                        "started_at": now if running else None,
                        "heartbeat_at": heartbeat_at,
                        "config_json": dumps(plain),
                        "notes": notes,
                        "metadata_json": dumps(plain_metadata),
                        "ended_at": None,
                        "error": None,
                    },
                ).close()
            except sa.exc.IntegrityError as e:
                if _is_unique_violation(e):
                    raise AlreadyExistsError(
                        f"a run with id {run_id!r} exists", field="run_id"
                    ) from e
                # PostgreSQL: the experiment was deleted while this run was created.
                raise ExperimentNotFoundError(
                    f"experiment {experiment!r} of project {project!r} was deleted "
                    f"while the run was created",
                    field="experiment",
                ) from e
            if param_rows:
                insert_many(conn, params, _param_values(run_id, param_rows))
                _run_keys.add(conn, pid, eid, _run_keys.PARAMS, (r.key for r in param_rows))
            if tag_list:
                _INSERT_TAGS.executemany(conn, [{"run_id": run_id, "tag": t} for t in tag_list])
        return RunRecord(
            id=run_id,
            project=project,
            experiment=experiment,
            name=name,
            status=status,
            created_at=now,
            started_at=now if running else None,
            heartbeat_at=heartbeat_at,
            config=plain,
            tags=tuple(tag_list),
            notes=notes,
        )

    def get_run(self, run_id: str) -> RunRecord:
        checked_lookup(run_id, "run_id")
        with self._read() as conn:
            rows = conn.execute(
                sa.select(*run_columns(self._stale_before()))
                .select_from(runs_from())
                .where(runs.c.id == run_id)
            ).all()
            if not rows:
                raise RunNotFoundError(f"no run with id {run_id!r}")
            return load_records(conn, rows)[0]

    def resolve_run_id(self, prefix: str) -> str:
        if not is_run_id(checked_lookup(prefix, "run_id")):
            raise RunNotFoundError(f"no run with id {prefix!r}")
        with self._read() as conn:
            if conn.execute(sa.select(runs.c.id).where(runs.c.id == prefix)).scalar() is not None:
                return prefix
            if len(prefix) < 4:
                raise InvalidArgumentError(
                    f"{prefix!r} is too short for an id prefix (no run has exactly that id): "
                    f"give 4 or more characters",
                    field="run_id",
                )
            escaped = prefix.replace("_", r"\_")
            ids = (
                conn.execute(
                    sa.select(runs.c.id).where(runs.c.id.like(f"{escaped}%", escape="\\")).limit(3)
                )
                .scalars()
                .all()
            )
        if not ids:
            raise RunNotFoundError(f"no run with an id starting with {prefix!r}")
        if len(ids) > 1:
            raise AmbiguousIdError(
                f"{prefix!r} matches several runs ({', '.join(ids)}, ...); give more characters",
                field="run_id",
            )
        return str(ids[0])

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        name: str | None = None,
        notes: str | None = None,
        ended_at: float | None = None,
        error: str | None = None,
    ) -> None:
        checked_lookup(run_id, "run_id")
        values = run_updates(status, name, notes, ended_at, error)
        with self._write() as conn:
            self._apply_run_updates(conn, run_id, values)

    def _apply_run_updates(self, conn: sa.Connection, run_id: str, values: dict[str, Any]) -> None:
        if not values:
            self._require_run(conn, run_id)
        else:
            cursor = _update_run(tuple(values)).execute(conn, {"rid": run_id, **values})
            updated = cursor.rowcount
            cursor.close()
            if not updated:
                raise RunNotFoundError(f"no run with id {run_id!r}")
        if values.get("status") == RunStatus.RUNNING.value:  # a queued run starts now
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.started_at.is_(None))
                .values(started_at=values["heartbeat_at"])
            )

    def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        error: str | None = None,
        batch: Mapping[str, MetricSeries] | None = None,
        batch_id: str | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        checked_lookup(run_id, "run_id")
        values = run_updates(status, None, None, None, error)
        explicit = summary_rows(run_id, summary or {})
        if batch:
            _metric_io.validate_batch(batch)
        with self._write() as conn:
            if batch:
                self._append_metrics(conn, run_id, batch, batch_id)
            if explicit:
                # The summary upsert of an unknown run would fail on its foreign key.
                if not batch or conn.dialect.name == "sqlite":
                    self._require_run(conn, run_id)
                self._set_summary_rows(conn, explicit)
            self._apply_run_updates(conn, run_id, values)
            _metric_io.compact_metrics(conn, run_id)

    def heartbeat(self, run_id: str, at: float | None = None) -> None:
        checked_lookup(run_id, "run_id")
        now = time.time()
        # Liveness is judged by this store's clock. A live-looking ``at`` (ahead,
        # or within stale_after) is a client's clock saying "now": older SDKs
        # sent their own clock, which read as crashed while alive when behind and
        # kept a killed run "running" when ahead. Only an ``at`` older than that
        # is a recorded past (a dead run copied between stores) and is kept.
        if at is None or checked_time(at, "at") >= now - self.stale_after:
            at = now
        with self._write() as conn:
            self._apply_run_updates(conn, run_id, {"heartbeat_at": at})

    def set_tags(self, run_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        checked_lookup(run_id, "run_id")
        add_list, remove_list = checked_tags(add), checked_tags(remove)
        with self._write() as conn:
            self._require_run(conn, run_id)
            _apply_tags(conn, run_id, add_list, remove_list)

    def edit_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        name: str | None = None,
        notes: str | None = None,
        ended_at: float | None = None,
        error: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> None:
        checked_lookup(run_id, "run_id")
        values = run_updates(status, name, notes, ended_at, error)
        add_list, remove_list = checked_tags(add_tags), checked_tags(remove_tags)
        with self._write() as conn:
            self._apply_run_updates(conn, run_id, values)
            _apply_tags(conn, run_id, add_list, remove_list)

    def delete_run(self, run_id: str) -> None:
        checked_lookup(run_id, "run_id")
        with self._write() as conn:
            _run_keys.mark_stale_for_run(conn, run_id)
            # Children are deleted by ON DELETE CASCADE.
            if not conn.execute(runs.delete().where(runs.c.id == run_id)).rowcount:
                raise RunNotFoundError(f"no run with id {run_id!r}")

    def search_runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RunRecord]:
        if limit is not None:
            checked_count(limit, "limit")
        checked_count(offset, "offset")
        _check_search_args(project, filter)
        stale_before = self._stale_before()
        query = search_query(
            run_columns(stale_before),
            project,
            run_filter.parse_filter(filter or ""),
            run_filter.parse_order_by(order_by),
            stale_before=stale_before,
        )
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self._read() as conn:
            return load_records(conn, conn.execute(query).all())

    def count_runs(self, project: str | None = None, filter: str | None = None) -> int:
        _check_search_args(project, filter)
        # Unordered: sorting every matching run only to count them cost most of
        # a count over 100,000 runs.
        query = (
            search_query(
                [runs.c.id],
                project,
                run_filter.parse_filter(filter or ""),
                [],
                stale_before=self._stale_before(),
            )
            .order_by(None)
            .subquery()
        )
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(query)).scalar_one())

    def search_columns(
        self,
        project: str,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        *,
        params: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray[Any, Any]]:
        from ragtrack.storage.sql import _columns  # numpy: only for analysis code

        if limit is not None:
            checked_count(limit, "limit")
        checked_count(offset, "offset")
        expr = run_filter.parse_filter(filter or "")
        order = run_filter.parse_order_by(order_by)
        param_keys, metric_keys = self._column_keys(project, params, metrics)
        with self._read() as conn:
            return _columns.search_columns(
                conn,
                project,
                expr,
                order,
                limit,
                offset,
                stale_before=self._stale_before(),
                params=param_keys,
                metrics=metric_keys,
            )

    # -- over many runs (SQL in _aggregates.py) ----------------------------------------

    def list_run_keys(self, project: str, experiment: str | None = None) -> RunKeys:
        checked_lookup(project, "project")
        if experiment is not None:
            checked_lookup(experiment, "experiment")
        with self._read() as conn:
            pid = self._project_id(conn, project)
            eid = None
            if experiment is not None:
                eid = _experiments.require_id(conn, project, pid, experiment)
            if not _run_keys.is_stale(conn, pid):
                return _run_keys.read(conn, pid, eid)
        with self._write() as conn:
            _run_keys.rebuild(conn, pid)
            return _run_keys.read(conn, pid, eid)

    def aggregate_runs(
        self,
        project: str,
        group_by: str,
        metrics: Sequence[str],
        filter: str | None = None,
    ) -> list[RunGroup]:
        group_by, keys = checked_group_args(group_by, metrics)
        _check_search_args(project, filter)
        expr = run_filter.parse_filter(filter or "")
        stale_before = self._stale_before()
        with self._read() as conn:
            self._project_id(conn, project)
            return _aggregates.run_groups(
                conn, project, expr, group_by, keys, stale_before=stale_before
            )

    # -- params, summary, metadata ----------------------------------------------------

    def log_params(self, run_id: str, config: Mapping[str, Any]) -> None:
        checked_lookup(run_id, "run_id")
        plain = checked_json(to_plain(dict(config)), "config")
        with self._write() as conn:
            found = conn.execute(
                sa.select(runs.c.config_json, runs.c.project_id, runs.c.experiment_id).where(
                    runs.c.id == run_id
                )
            ).first()
            if found is None:
                raise RunNotFoundError(f"no run with id {run_id!r}")
            current, pid, eid = json.loads(found[0]), found[1], found[2]
            merged = deep_merge(current, plain)
            rows = list(flatten_config(merged))
            conn.execute(runs.update().where(runs.c.id == run_id).values(config_json=dumps(merged)))
            # A key may have changed from a leaf to a dict (or back): rewrite all rows.
            conn.execute(params.delete().where(params.c.run_id == run_id))
            if rows:
                conn.execute(params.insert(), _param_values(run_id, rows))
            keys = {r.key for r in rows}
            if any(r.key not in keys for r in flatten_config(current)):
                _run_keys.mark_stale(conn, pid)
            _run_keys.add(conn, pid, eid, _run_keys.PARAMS, sorted(keys))

    def set_summary(self, run_id: str, values: Mapping[str, Any]) -> None:
        checked_lookup(run_id, "run_id")
        rows = summary_rows(run_id, values)
        if not rows:
            return
        with self._write() as conn:
            self._require_run(conn, run_id)
            self._set_summary_rows(conn, rows)

    def _set_summary_rows(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        upsert(conn, summaries, rows, keys=("run_id", "key"), update=("value", "value_json"))
        _run_keys.add_for_run(conn, rows[0]["run_id"], _run_keys.METRICS, (r["key"] for r in rows))

    def set_metadata(self, run_id: str, metadata: Mapping[str, Any]) -> None:
        checked_lookup(run_id, "run_id")
        plain = captured_json(to_plain(dict(metadata), "metadata"))
        with self._write() as conn:
            current = conn.execute(
                sa.select(runs.c.metadata_json).where(runs.c.id == run_id)
            ).scalar()
            if current is None:
                raise RunNotFoundError(f"no run with id {run_id!r}")
            merged = {**json.loads(current), **plain}
            conn.execute(
                runs.update().where(runs.c.id == run_id).values(metadata_json=dumps(merged))
            )

    def get_metadata(self, run_id: str) -> dict[str, Any]:
        checked_lookup(run_id, "run_id")
        with self._read() as conn:
            current = conn.execute(
                sa.select(runs.c.metadata_json).where(runs.c.id == run_id)
            ).scalar()
        if current is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        result: dict[str, Any] = json.loads(current)
        return result

    # -- metrics -------------------------------------------------------------------------

    def log_metrics(
        self, run_id: str, batch: Mapping[str, MetricSeries], batch_id: str | None = None
    ) -> None:
        checked_lookup(run_id, "run_id")
        _metric_io.validate_batch(batch)
        with self._write() as conn:
            self._append_metrics(conn, run_id, batch, batch_id)

    def _append_metrics(
        self,
        conn: sa.Connection,
        run_id: str,
        batch: Mapping[str, MetricSeries],
        batch_id: str | None,
    ) -> None:
        if conn.dialect.name != "sqlite":
            # SQLite: BEGIN IMMEDIATE already serialises writers and the foreign
            # keys catch an unknown run, one statement cheaper.
            self._require_run(conn, run_id, lock=True)
        try:
            if batch_id is not None and not _metric_io.claim_batch(conn, run_id, batch_id):
                return
            new_keys = _metric_io.write_metrics(conn, run_id, batch)
            _run_keys.add_for_run(conn, run_id, _run_keys.METRICS, new_keys)
        except sa.exc.IntegrityError as e:
            if conn.execute(RUN_EXISTS, {"rid": run_id}).scalar() is None:
                raise RunNotFoundError(f"no run with id {run_id!r}") from e
            raise StoreError(f"writing metrics of run {run_id!r} failed: {e.orig}") from e

    def get_history(self, run_id: str, key: str) -> MetricSeries:
        checked_lookup(run_id, "run_id")
        checked_lookup(key, "key")
        with self._read() as conn:
            self._require_run(conn, run_id)
            return _metric_io.read_history(conn, run_id, key)

    def list_metric_keys(self, run_id: str) -> list[str]:
        checked_lookup(run_id, "run_id")
        with self._read() as conn:
            self._require_run(conn, run_id)
            keys = conn.execute(
                sa.select(summaries.c.key)
                .where(summaries.c.run_id == run_id, summaries.c.n_points > 0)
                .order_by(summaries.c.key)
            ).scalars()
            return list(keys)

    # -- logs --------------------------------------------------------------------------

    def append_logs(self, run_id: str, stream: str, text: str, batch_id: str | None = None) -> None:
        checked_lookup(run_id, "run_id")
        if stream not in _LOG_STREAMS:
            raise InvalidArgumentError(
                f"stream must be one of {_LOG_STREAMS}, got {stream!r}", field="stream"
            )
        if not checked_str(text, "text"):
            return
        text = captured_text(text)
        with self._write() as conn:
            # Locked like a metric write: the next seq is read, then written.
            self._require_run(conn, run_id, lock=True)
            # Log batch ids share metric_batches with metric batch ids.
            if batch_id is not None and not _metric_io.claim_batch(conn, run_id, batch_id):
                return
            seq = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(run_logs.c.seq), -1)).where(
                    run_logs.c.run_id == run_id
                )
            ).scalar_one()
            conn.execute(
                run_logs.insert().values(
                    run_id=run_id, seq=seq + 1, stream=stream, created_at=time.time(), text=text
                )
            )

    def read_logs(self, run_id: str, stream: str | None = None, offset: int = 0) -> str:
        checked_lookup(run_id, "run_id")
        checked_count(offset, "offset")
        rows = run_logs.c.run_id == run_id
        if stream is not None:
            rows = sa.and_(rows, run_logs.c.stream == stream)
        with self._read() as conn:
            self._require_run(conn, run_id)
            if not offset:
                query = sa.select(run_logs.c.text).where(rows).order_by(run_logs.c.seq)
                return "".join(conn.execute(query).scalars())
            # Each chunk's end position by a running sum in the database, so only
            # the chunks past ``offset`` leave it (a tail poll reads what is new).
            length = sa.func.length(run_logs.c.text)
            chunks = sa.select(
                run_logs.c.seq,
                run_logs.c.text,
                length.label("length"),
                sa.func.sum(length).over(order_by=run_logs.c.seq).label("end"),
            ).where(rows)
            tail = chunks.subquery()
            found = conn.execute(
                sa.select(tail.c.text, tail.c.length, tail.c.end)
                .where(tail.c.end > offset)
                .order_by(tail.c.seq)
            ).all()
        if not found:
            return ""
        first, first_length, first_end = found[0]
        skip = offset - (int(first_end) - int(first_length))
        return "".join([first[skip:], *(text for text, _, _ in found[1:])])


def _apply_tags(conn: sa.Connection, run_id: str, add: list[str], remove: list[str]) -> None:
    if add:
        upsert(
            conn,
            run_tags,
            [{"run_id": run_id, "tag": t} for t in add],
            keys=("run_id", "tag"),
            update=(),
        )
    if remove:
        conn.execute(
            run_tags.delete().where(run_tags.c.run_id == run_id, run_tags.c.tag.in_(remove))
        )


def _param_values(run_id: str, rows: Sequence[ParamRow]) -> list[dict[str, Any]]:
    return [
        {"run_id": run_id, "key": k, "value_text": t, "value_num": v, "kind": kind}
        for k, t, v, kind in rows
    ]


def _is_unique_violation(e: sa.exc.IntegrityError) -> bool:
    # psycopg reports the SQLSTATE; sqlite3 (before Python 3.11) only the message.
    return getattr(e.orig, "sqlstate", None) == "23505" or "UNIQUE constraint" in str(e.orig)


def _check_search_args(project: str | None, filter: str | None) -> None:
    if project is not None:
        checked_lookup(project, "project")
    if filter is not None:
        checked_text(filter, "filter")
