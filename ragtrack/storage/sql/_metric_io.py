"""Writing and reading metric series as chunks, with summaries kept up to date.

All functions take an open connection so that the caller decides the transaction
boundaries: one batch (all its keys, the summaries and the batch id) commits at
once or not at all.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage._input import checked_batch_id, checked_times, readable_times
from ragtrack.storage._keys import validate_key
from ragtrack.storage.sql._driver import DriverStatement
from ragtrack.storage.sql._schema import metric_batches, metric_chunks, summaries
from ragtrack.storage.sql._upsert import insert_ignoring_conflicts_for, insert_many, upsert

# numpy, MetricSeries and the chunk codec are imported where points are handled:
# opening a store to search or list runs need none of them, and numpy alone
# costs ~60-90 ms of a fresh process (docs/benchmarks.md, workload 10).
if TYPE_CHECKING:
    from ragtrack.entities.metric import MetricSeries


def validate_batch(batch: Mapping[str, MetricSeries]) -> None:
    """Reject bad keys and non-finite timestamps before anything is written."""
    from ragtrack.entities.metric import MetricSeries

    for key, series in batch.items():
        validate_key(key)
        if not isinstance(series, MetricSeries):
            raise InvalidArgumentError(
                f"metric {key!r}: expected a MetricSeries, got {type(series).__name__}", field=key
            )
        if len(series):
            checked_times(series.timestamps, key, f"timestamps of metric {key!r}")


def claim_batch(conn: sa.Connection, run_id: str, batch_id: str) -> bool:
    """Record ``batch_id`` as applied; False if it already was (a retry)."""
    checked_batch_id(batch_id)
    # RETURNING rather than rowcount: drivers disagree on rowcount for
    # ON CONFLICT DO NOTHING (psycopg reports -1 with implicit RETURNING).
    cursor = _CLAIM_BATCH.execute(
        conn, {"run_id": run_id, "batch_id": batch_id, "applied_at": time.time()}
    )
    inserted = cursor.fetchone()
    cursor.close()
    return inserted is not None


_CLAIM_BATCH = DriverStatement(
    lambda dialect: insert_ignoring_conflicts_for(
        dialect, metric_batches, ("run_id", "batch_id")
    ).returning(metric_batches.c.batch_id),
    ("run_id", "batch_id", "applied_at"),
)


_STATE_COLUMNS = ("key", "n_points", "min", "max", "tail_seq", "tail_points")


@functools.cache
def _series_state(n_keys: int) -> DriverStatement:
    """Select the state of ``n_keys`` series of a run (one statement per count)."""
    keys: list[sa.BindParameter[str]] = [sa.bindparam(f"k{i}") for i in range(n_keys)]
    columns = [summaries.c[name] for name in _STATE_COLUMNS]
    return DriverStatement(
        lambda dialect: sa.select(*columns).where(
            summaries.c.run_id == sa.bindparam("rid"), summaries.c.key.in_(keys)
        )
    )


@functools.cache
def _trailing_small_chunks(n_keys: int) -> DriverStatement:
    """The small chunks of ``n_keys`` series of a run after a seq per key (``k<i>``
    after ``after<i>``), in order: what folding them with a batch rewrites."""
    c = metric_chunks.c
    return DriverStatement(
        lambda dialect: (
            sa.select(c.key, c.seq, c.n_points, c.steps_blob, c.values_blob, c.times_blob)
            .where(
                c.run_id == sa.bindparam("rid"),
                c.n_points < sa.bindparam("below"),
                sa.or_(
                    *(
                        sa.and_(c.key == sa.bindparam(f"k{i}"), c.seq > sa.bindparam(f"after{i}"))
                        for i in range(n_keys)
                    )
                ),
            )
            .order_by(c.key, c.seq)
        )
    )


@functools.cache
def _delete_chunks_from(n_keys: int) -> DriverStatement:
    """Delete the chunks of ``n_keys`` series of a run from a seq on (``k<i>``
    from ``from<i>``)."""
    c = metric_chunks.c
    return DriverStatement(
        lambda dialect: metric_chunks.delete().where(
            c.run_id == sa.bindparam("rid"),
            sa.or_(
                *(
                    sa.and_(c.key == sa.bindparam(f"k{i}"), c.seq >= sa.bindparam(f"from{i}"))
                    for i in range(n_keys)
                )
            ),
        )
    )


_SUMMARY_COLUMNS = (
    "value",
    "value_json",
    "n_points",
    "last",
    "last_step",
    "last_time",
    "min",
    "max",
    "tail_seq",
    "tail_points",
)


def write_metrics(conn: sa.Connection, run_id: str, batch: Mapping[str, MetricSeries]) -> list[str]:
    """Append each series to its chunks and fold it into its summary row;
    returns the keys the run had no summary row of before.

    The summary row records the series' last chunk (``tail_seq``), so a batch
    appends its chunks without reading any. When a series' chunk count crosses
    a multiple of ``FOLD_EVERY_CHUNKS``, its trailing small chunks are read and
    rewritten together with the batch, so slow loggers do not leave a row per
    flush and no point is rewritten on every batch.
    """
    keys = [k for k, s in batch.items() if len(s)]
    if not keys:
        return []
    from ragtrack.storage.sql import _chunks

    params: dict[str, Any] = {f"k{i}": key for i, key in enumerate(keys)}
    params["rid"] = run_id
    cursor = _series_state(len(keys)).execute(conn, params)
    state = {row[0]: dict(zip(_STATE_COLUMNS, row, strict=True)) for row in cursor.fetchall()}
    cursor.close()
    pieces = {key: _chunks.split(batch[key]) for key in keys}
    next_seq: dict[str, int] = {}
    fold: list[tuple[str, int]] = []
    for key in keys:
        old = state.get(key)
        tail = -1 if old is None or old["tail_seq"] is None else old["tail_seq"]
        next_seq[key] = tail + 1
        every = _chunks.FOLD_EVERY_CHUNKS
        if tail >= 0 and (tail + len(pieces[key])) // every != tail // every:
            fold.append((key, tail))
    if fold:
        _fold_trailing_small(conn, run_id, fold, pieces, next_seq)
    chunk_rows: list[dict[str, Any]] = []
    summary_rows = []
    for key in keys:
        seq = next_seq[key]
        for piece in pieces[key]:
            chunk_rows.append(_chunk_row(run_id, key, seq, len(piece), _chunks.encode(piece)))
            seq += 1
        row = _fold_summary(run_id, key, batch[key], state.get(key))
        row["tail_seq"], row["tail_points"] = seq - 1, len(pieces[key][-1])
        summary_rows.append(row)
    insert_many(conn, metric_chunks, chunk_rows)
    upsert(conn, summaries, summary_rows, keys=("run_id", "key"), update=_SUMMARY_COLUMNS)
    return [k for k in keys if k not in state]


def _fold_trailing_small(
    conn: sa.Connection,
    run_id: str,
    fold: list[tuple[str, int]],
    pieces: dict[str, list[MetricSeries]],
    next_seq: dict[str, int],
) -> None:
    """Take each ``(key, tail_seq)`` series' unbroken run of small chunks that
    ends at its tail into its new ``pieces`` (deleting those rows), and move
    its ``next_seq`` back to where that run started."""
    from ragtrack.entities.metric import MetricSeries
    from ragtrack.storage.sql import _chunks

    # Small chunks only ever trail a series (older ones were folded), and at
    # most ~FOLD_EVERY_CHUNKS + 2 of them: looking twice that far back suffices.
    window = 2 * _chunks.FOLD_EVERY_CHUNKS
    params: dict[str, Any] = {"rid": run_id, "below": _chunks.MERGE_BELOW_POINTS}
    for i, (key, tail) in enumerate(fold):
        params[f"k{i}"], params[f"after{i}"] = key, tail - window
    cursor = _trailing_small_chunks(len(fold)).execute(conn, params)
    found: dict[str, list[tuple[Any, ...]]] = {}
    for row in cursor.fetchall():
        found.setdefault(row[0], []).append(tuple(row[1:]))
    cursor.close()
    deletes: dict[str, int] = {}
    for key, tail in fold:
        rows = found.get(key, [])
        # Only the unbroken run ending at the tail: a full chunk in between
        # stays where it is, so the points keep their order.
        n = 0
        while n < len(rows) and rows[len(rows) - 1 - n][0] == tail - n:
            n += 1
        if not n:
            continue
        taken, start = rows[len(rows) - n :], tail + 1 - n
        head = _chunks.decode([r[1:] for r in taken])
        pieces[key] = _chunks.split(MetricSeries.concat([head, *pieces[key]]))
        next_seq[key] = deletes[key] = start
    if deletes:
        params = {"rid": run_id}
        for i, (key, start) in enumerate(deletes.items()):
            params[f"k{i}"], params[f"from{i}"] = key, start
        _delete_chunks_from(len(deletes)).execute(conn, params).close()


#: A series whose chunks hold fewer points than this on average when its run
#: finishes is rewritten into full chunks. A slow logger's flushes leave chunks
#: of ~1,024 points and more (folding above stops there), which read ~1.6x
#: slower than full ones; a fast logger's 10,000-point batches stay as they are.
COMPACT_BELOW_AVERAGE_POINTS = 4096

_SPLIT_SERIES = DriverStatement(
    lambda dialect: sa.select(summaries.c.key, summaries.c.n_points, summaries.c.tail_seq).where(
        summaries.c.run_id == sa.bindparam("rid"), summaries.c.tail_seq > 0
    )
)
_KEY_CHUNKS = sa.select(
    metric_chunks.c.n_points,
    metric_chunks.c.steps_blob,
    metric_chunks.c.values_blob,
    metric_chunks.c.times_blob,
).where(metric_chunks.c.run_id == sa.bindparam("rid"), metric_chunks.c.key == sa.bindparam("key"))
_DELETE_KEY_CHUNKS = metric_chunks.delete().where(
    metric_chunks.c.run_id == sa.bindparam("rid"), metric_chunks.c.key == sa.bindparam("key")
)
_SET_TAIL = (
    summaries.update()
    .where(summaries.c.run_id == sa.bindparam("rid"), summaries.c.key == sa.bindparam("k"))
    .values(tail_seq=sa.bindparam("seq"), tail_points=sa.bindparam("points"))
)


def compact_metrics(conn: sa.Connection, run_id: str) -> None:
    """Rewrite each series of the run held in small chunks as full chunks.

    Called when the run finishes, in its transaction: the points, their order
    (equal steps keep arrival order) and their bits (timestamps stay integer
    microseconds) are unchanged; only the rows holding them are fewer. A short
    run's series fit one chunk and cost one indexed lookup here.
    """
    from ragtrack.storage.sql import _chunks

    cursor = _SPLIT_SERIES.execute(conn, {"rid": run_id})
    split = cursor.fetchall()
    cursor.close()
    for key, n_points, tail_seq in split:
        if n_points >= COMPACT_BELOW_AVERAGE_POINTS * (tail_seq + 1):
            continue
        params = {"rid": run_id, "key": key}
        rows = conn.execute(_KEY_CHUNKS.order_by(metric_chunks.c.seq), params).all()
        steps, values, micros = _chunks.decode_raw([tuple(row) for row in rows])
        size = _chunks.CHUNK_MAX_POINTS
        new_rows = []
        for seq, at in enumerate(range(0, len(steps), size)):
            piece = slice(at, at + size)
            blobs = _chunks.encode_raw(steps[piece], values[piece], micros[piece])
            new_rows.append(_chunk_row(run_id, key, seq, len(steps[piece]), blobs))
        conn.execute(_DELETE_KEY_CHUNKS, params)
        insert_many(conn, metric_chunks, new_rows)
        last = new_rows[-1]
        tail = {"rid": run_id, "k": key, "seq": last["seq"], "points": last["n_points"]}
        conn.execute(_SET_TAIL, tail)


def _chunk_row(
    run_id: str, key: str, seq: int, n_points: int, blobs: tuple[bytes, bytes, bytes]
) -> dict[str, Any]:
    from ragtrack.storage.sql._chunks import ENCODING_V1

    return {
        "run_id": run_id,
        "key": key,
        "seq": seq,
        "n_points": n_points,
        "encoding": ENCODING_V1,
        "steps_blob": blobs[0],
        "values_blob": blobs[1],
        "times_blob": blobs[2],
    }


def _nan_to_none(x: float) -> float | None:
    # SQLite silently stores NaN as NULL; being explicit keeps backends consistent.
    return None if math.isnan(x) else x


def _fold_summary(
    run_id: str, key: str, series: MetricSeries, old: Mapping[str, Any] | None
) -> dict[str, Any]:
    import numpy as np

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
    import numpy as np

    from ragtrack.entities.metric import MetricSeries
    from ragtrack.storage.sql import _chunks

    c = metric_chunks.c
    rows = conn.execute(
        sa.select(c.n_points, c.steps_blob, c.values_blob, c.times_blob)
        .where(c.run_id == run_id, c.key == key)
        .order_by(c.seq)
    ).all()
    series = _chunks.decode([tuple(row) for row in rows])
    stamps = readable_times(series.timestamps)
    if stamps is not series.timestamps:  # stored out of range by an older version
        series = MetricSeries(series.steps, series.values, stamps)
    if len(series) > 1 and (np.diff(series.steps) < 0).any():
        order = np.argsort(series.steps, kind="stable")
        series = MetricSeries(series.steps[order], series.values[order], series.timestamps[order])
    return series
