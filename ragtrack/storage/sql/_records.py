"""Turning rows of the runs query into RunRecord objects, with their tags and
summaries fetched in one query each for the whole page of runs."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ragtrack.entities import MetricSummary, RunRecord, RunStatus
from ragtrack.storage._input import readable_time
from ragtrack.storage.sql._schema import (
    effective_status,
    experiments,
    projects,
    run_tags,
    runs,
    summaries,
)

_NAN = math.nan

# SQLite limits bound parameters per statement (32766 in recent versions, 999 in old ones).
_IN_BATCH = 900


def run_columns(stale_before: float) -> list[sa.ColumnElement[Any]]:
    """The columns a RunRecord is built from (not metadata_json: it can be large)."""
    return [
        runs.c.id,
        projects.c.name.label("project"),
        experiments.c.name.label("experiment"),
        runs.c.name,
        effective_status(stale_before).label("status"),
        runs.c.created_at,
        runs.c.started_at,
        runs.c.ended_at,
        runs.c.heartbeat_at,
        runs.c.config_json,
        runs.c.notes,
        runs.c.error,
    ]


def runs_from() -> sa.FromClause:
    return runs.join(projects, runs.c.project_id == projects.c.id).outerjoin(
        experiments, runs.c.experiment_id == experiments.c.id
    )


def _num(x: float | None) -> float:
    return _NAN if x is None else float(x)


_TAGS = sa.select(run_tags.c.run_id, run_tags.c.tag).where(
    run_tags.c.run_id.in_(sa.bindparam("ids", expanding=True))
)
_SUMMARIES = sa.select(
    summaries.c.run_id,
    summaries.c.key,
    summaries.c.value_json,
    summaries.c.n_points,
    summaries.c.last,
    summaries.c.last_step,
    summaries.c.last_time,
    summaries.c.min,
    summaries.c.max,
).where(summaries.c.run_id.in_(sa.bindparam("ids", expanding=True)))


def load_records(conn: sa.Connection, rows: Sequence[Any]) -> list[RunRecord]:
    """Records for rows of :func:`run_columns`, in the same order.

    Rows are fetched whole and unpacked by position: a page of 100 runs has
    ~500 summary rows, and per-row fetching and attribute access through
    SQLAlchemy's Row took most of a search's time.
    """
    ids = [r[0] for r in rows]
    tags: dict[str, list[str]] = defaultdict(list)
    metrics: dict[str, dict[str, MetricSummary]] = defaultdict(dict)
    explicit: dict[str, dict[str, Any]] = defaultdict(dict)
    for i in range(0, len(ids), _IN_BATCH):
        chunk = ids[i : i + _IN_BATCH]
        for run_id, tag in conn.execute(_TAGS, {"ids": chunk}).all():
            tags[run_id].append(tag)
        for run_id, key, value_json, n, last, last_step, last_time, lo, hi in conn.execute(
            _SUMMARIES, {"ids": chunk}
        ).all():
            if value_json is not None:
                explicit[run_id][key] = json.loads(value_json)
            if n:
                metrics[run_id][key] = MetricSummary(
                    key, n, _num(last), last_step, readable_time(last_time), _num(lo), _num(hi)
                )
    return [
        RunRecord(
            id=run_id,
            project=project,
            experiment=experiment,
            name=name,
            status=RunStatus(status),
            created_at=readable_time(created_at),
            started_at=readable_time(started_at),
            ended_at=readable_time(ended_at),
            heartbeat_at=readable_time(heartbeat_at),
            config=json.loads(config_json),
            tags=tuple(sorted(tags.get(run_id, ()))),
            notes=notes,
            metrics=dict(sorted(metrics.get(run_id, {}).items())),
            explicit_summary=explicit.get(run_id, {}),
            error=error,
        )
        for (
            run_id,
            project,
            experiment,
            name,
            status,
            created_at,
            started_at,
            ended_at,
            heartbeat_at,
            config_json,
            notes,
            error,
        ) in rows
    ]
