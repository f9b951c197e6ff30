"""What every part of the SQL store shares: the engine, transactions (reads,
and writes that queue on SQLite), and the lookups of ids that every operation
starts with."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from ragtrack.exceptions import ProjectNotFoundError, RunNotFoundError, StoreError
from ragtrack.storage._base import DEFAULT_STALE_AFTER
from ragtrack.storage.sql._driver import DriverStatement
from ragtrack.storage.sql._engine import WRITE, create_engine
from ragtrack.storage.sql._migrations import ensure_schema
from ragtrack.storage.sql._schema import experiments, projects, runs
from ragtrack.storage.sql._upsert import upsert
from ragtrack.storage.sql._write_values import safe_url

# Statements on hot paths are built once: building costs more than running them.
_PROJECT_ID = sa.select(projects.c.id).where(projects.c.name == sa.bindparam("name"))
_EXPERIMENT_ID = sa.select(experiments.c.id).where(
    experiments.c.project_id == sa.bindparam("pid"), experiments.c.name == sa.bindparam("name")
)
RUN_EXISTS = sa.select(runs.c.id).where(runs.c.id == sa.bindparam("rid"))
# On the driver: every metric batch, run update and read checks its run first,
# and SQLAlchemy's execution costs ~0.1-0.2 ms a statement on a busy machine.
_RUN_FOUND = {
    False: DriverStatement(lambda dialect: RUN_EXISTS),
    True: DriverStatement(lambda dialect: RUN_EXISTS.with_for_update()),
}


class SqlConnection:
    """The engine of a SQL store and its transactions (see :class:`SqlStore`)."""

    def __init__(
        self,
        url: str,
        *,
        upgrade: bool = True,
        stale_after: float = DEFAULT_STALE_AFTER,
        lock_path: str | None = None,
    ) -> None:
        self.url = url
        self.stale_after = stale_after
        self._engine = create_engine(url)
        self._writer = self._engine.execution_options(**WRITE)
        # An in-memory SQLite database is a single shared connection: take turns.
        memory = self._engine.dialect.name == "sqlite" and sa.make_url(url).database in (
            None,
            "",
            ":memory:",
        )
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if memory else contextlib.nullcontext()
        )
        try:
            ensure_schema(self._engine, upgrade=upgrade, lock_path=lock_path)
        except sa.exc.OperationalError as e:
            raise StoreError(f"cannot open the store at {safe_url(url)}: {e.orig}") from e

    def release(self) -> None:
        self._engine.dispose()

    # -- helpers --------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self._serial, self._writer.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._serial, self._engine.begin() as conn:
            yield conn

    def _stale_before(self) -> float:
        return time.time() - self.stale_after

    def _project_id(self, conn: sa.Connection, name: str) -> int:
        pid = conn.execute(_PROJECT_ID, {"name": name}).scalar()
        if pid is None:
            raise ProjectNotFoundError(f"no project named {name!r}")
        return int(pid)

    def _experiment_id(self, conn: sa.Connection, project_id: int, name: str) -> int:
        params = {"pid": project_id, "name": name}
        eid = conn.execute(_EXPERIMENT_ID, params).scalar()
        if eid is None:
            upsert(
                conn,
                experiments,
                [{"project_id": project_id, "name": name, "created_at": time.time()}],
                keys=("project_id", "name"),
                update=(),
            )
            eid = conn.execute(_EXPERIMENT_ID, params).scalar_one()
        return int(eid)

    def _require_run(self, conn: sa.Connection, run_id: str, *, lock: bool = False) -> None:
        # Appending reads and rewrites each series' summary row (its count and
        # last chunk seq) and now and then its small chunks, so metric writers
        # of one run take turns: SQLite's BEGIN IMMEDIATE already serialises, the
        # row lock (FOR UPDATE) does it on PostgreSQL.
        cursor = _RUN_FOUND[lock].execute(conn, {"rid": run_id})
        found = cursor.fetchone()
        cursor.close()
        if found is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
