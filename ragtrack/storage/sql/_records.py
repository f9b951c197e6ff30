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


def load_records(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[RunRecord]:
    ids = [r.id for r in rows]
    tags: dict[str, list[str]] = defaultdict(list)
    metrics: dict[str, dict[str, MetricSummary]] = defaultdict(dict)
    explicit: dict[str, dict[str, Any]] = defaultdict(dict)
    for i in range(0, len(ids), _IN_BATCH):
        chunk = ids[i : i + _IN_BATCH]
        for run_id, tag in conn.execute(
            sa.select(run_tags.c.run_id, run_tags.c.tag)
            .where(run_tags.c.run_id.in_(chunk))
            .order_by(run_tags.c.tag)
        ):
            tags[run_id].append(tag)
        for s in conn.execute(sa.select(summaries).where(summaries.c.run_id.in_(chunk))):
            if s.value_json is not None:
                explicit[s.run_id][s.key] = json.loads(s.value_json)
            if s.n_points:
                metrics[s.run_id][s.key] = MetricSummary(
                    key=s.key,
                    count=s.n_points,
                    last=_num(s.last),
                    last_step=s.last_step,
                    last_time=s.last_time,
                    min=_num(s.min),
                    max=_num(s.max),
                )
    return [
        RunRecord(
            id=r.id,
            project=r.project,
            experiment=r.experiment,
            name=r.name,
            status=RunStatus(r.status),
            created_at=r.created_at,
            started_at=r.started_at,
            ended_at=r.ended_at,
            heartbeat_at=r.heartbeat_at,
            config=json.loads(r.config_json),
            tags=tuple(tags.get(r.id, ())),
            notes=r.notes,
            metrics=dict(sorted(metrics.get(r.id, {}).items())),
            explicit_summary=explicit.get(r.id, {}),
            error=r.error,
        )
        for r in rows
    ]
