"""Writing and reading metric series as chunks, with summaries kept up to date.

All functions take an open connection so that the caller decides the transaction
boundaries: one batch (all its keys, the summaries and the batch id) commits at
once or not at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import sqlalchemy as sa

from ragtrack.entities import MetricSeries
from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage._keys import validate_key
from ragtrack.storage.sql import _chunks
from ragtrack.storage.sql._schema import metric_batches, metric_chunks, summaries
from ragtrack.storage.sql._upsert import insert_ignoring_conflicts, upsert


def validate_batch(batch: Mapping[str, MetricSeries]) -> None:
    """Reject bad keys and non-finite timestamps before anything is written."""
    for key, series in batch.items():
        validate_key(key)
        if not isinstance(series, MetricSeries):
            raise InvalidArgumentError(
                f"metric {key!r}: expected a MetricSeries, got {type(series).__name__}", field=key
            )
        if len(series) and not np.isfinite(series.timestamps).all():
            raise InvalidArgumentError(f"metric {key!r}: timestamps must be finite", field=key)


def claim_batch(conn: sa.Connection, run_id: str, batch_id: str) -> bool:
    """Record ``batch_id`` as applied; False if it already was (a retry)."""
    if not batch_id or len(batch_id) > 64:
        raise InvalidArgumentError("batch_id must be 1 to 64 characters", field="batch_id")
    # RETURNING rather than rowcount: drivers disagree on rowcount for
    # ON CONFLICT DO NOTHING (psycopg reports -1 with implicit RETURNING).
    inserted = conn.execute(
        insert_ignoring_conflicts(conn, metric_batches, ("run_id", "batch_id"))
        .values(run_id=run_id, batch_id=batch_id, applied_at=time.time())
        .returning(metric_batches.c.batch_id)
    ).first()
    return inserted is not None


def write_metrics(conn: sa.Connection, run_id: str, batch: Mapping[str, MetricSeries]) -> None:
    """Append each series to its chunks and fold it into its summary row."""
    keys = [k for k, s in batch.items() if len(s)]
    if not keys:
        return
    tails = _tail_chunks(conn, run_id, keys)
    old = _summary_rows(conn, run_id, keys)
    chunk_rows: list[dict[str, Any]] = []
    replaced: list[tuple[str, int]] = []
    summary_rows = []
    for key in keys:
        series = batch[key]
        seq = 0
        tail = tails.get(key)
        if tail is not None:
            seq = tail["seq"]
            if tail["n_points"] < _chunks.MERGE_BELOW_POINTS:
                head = _chunks.decode(
                    [
                        (
                            tail["n_points"],
                            tail["steps_blob"],
                            tail["values_blob"],
                            tail["times_blob"],
                        )
                    ]
                )
                series_to_write = MetricSeries.concat([head, series])
                replaced.append((key, seq))
            else:
                series_to_write = series
                seq += 1
        else:
            series_to_write = series
        for piece in _chunks.split(series_to_write):
            steps, values, stamps = _chunks.encode(piece)
            chunk_rows.append(
                {
                    "run_id": run_id,
                    "key": key,
                    "seq": seq,
                    "n_points": len(piece),
                    "encoding": _chunks.ENCODING_V1,
                    "steps_blob": steps,
                    "values_blob": values,
                    "times_blob": stamps,
                }
            )
            seq += 1
        summary_rows.append(_fold_summary(run_id, key, series, old.get(key)))
    for key, seq in replaced:
        conn.execute(
            metric_chunks.delete().where(
                metric_chunks.c.run_id == run_id,
                metric_chunks.c.key == key,
                metric_chunks.c.seq == seq,
            )
        )
    conn.execute(metric_chunks.insert(), chunk_rows)
    upsert(
        conn,
        summaries,
        summary_rows,
        keys=("run_id", "key"),
        update=("value", "value_json", "n_points", "last", "last_step", "last_time", "min", "max"),
    )


def _tail_chunks(conn: sa.Connection, run_id: str, keys: list[str]) -> dict[str, Any]:
    c = metric_chunks.c
    last_seq = (
        sa.select(c.key, sa.func.max(c.seq).label("seq"))
        .where(c.run_id == run_id, c.key.in_(keys))
        .group_by(c.key)
        .subquery()
    )
    rows = conn.execute(
        sa.select(c.key, c.seq, c.n_points, c.steps_blob, c.values_blob, c.times_blob)
        .join(last_seq, sa.and_(c.key == last_seq.c.key, c.seq == last_seq.c.seq))
        .where(c.run_id == run_id)
    ).mappings()
    return {r["key"]: r for r in rows}


def _summary_rows(conn: sa.Connection, run_id: str, keys: list[str]) -> dict[str, Any]:
    rows = conn.execute(
        sa.select(summaries).where(summaries.c.run_id == run_id, summaries.c.key.in_(keys))
    ).mappings()
    return {r["key"]: r for r in rows}


def _nan_to_none(x: float) -> float | None:
    # SQLite silently stores NaN as NULL; being explicit keeps backends consistent.
    return None if math.isnan(x) else x


def _fold_summary(
    run_id: str, key: str, series: MetricSeries, old: Mapping[str, Any] | None
) -> dict[str, Any]:
    values = series.values
    finite = values[~np.isnan(values)]
    lo = float(finite.min()) if len(finite) else math.nan
    hi = float(finite.max()) if len(finite) else math.nan
    count = len(series)
    if old is not None and old["n_points"]:
        count += old["n_points"]
        if old["min"] is not None:
            lo = old["min"] if math.isnan(lo) else min(lo, old["min"])
        if old["max"] is not None:
            hi = old["max"] if math.isnan(hi) else max(hi, old["max"])
    last = float(values[-1])
    return {
        "run_id": run_id,
        "key": key,
        # Logging a key clears an explicit summary value set for it earlier.
        "value": _nan_to_none(last),
        "value_json": None,
        "n_points": count,
        "last": _nan_to_none(last),
        "last_step": int(series.steps[-1]),
        "last_time": float(series.timestamps[-1]),
        "min": _nan_to_none(lo),
        "max": _nan_to_none(hi),
    }


def read_history(conn: sa.Connection, run_id: str, key: str) -> MetricSeries:
    """The whole series, sorted by step (stable, so equal steps keep arrival order)."""
    c = metric_chunks.c
    rows = conn.execute(
        sa.select(c.n_points, c.steps_blob, c.values_blob, c.times_blob)
        .where(c.run_id == run_id, c.key == key)
        .order_by(c.seq)
    ).all()
    series = _chunks.decode([tuple(row) for row in rows])
    if len(series) > 1 and (np.diff(series.steps) < 0).any():
        order = np.argsort(series.steps, kind="stable")
        series = MetricSeries(series.steps[order], series.values[order], series.timestamps[order])
    return series
