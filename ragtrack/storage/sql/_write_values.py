"""Checked values for the rows the SQL store writes: run updates, summary rows,
tags and JSON text. Pure functions, no I/O."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ragtrack.entities import RunStatus
from ragtrack.storage._input import (
    captured_text,
    checked_json,
    checked_str,
    checked_summary_number,
    checked_text,
    checked_time,
)
from ragtrack.storage._keys import validate_key
from ragtrack.storage._params import to_plain


def dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True, ensure_ascii=False)


def run_updates(
    status: RunStatus | None,
    name: str | None,
    notes: str | None,
    ended_at: float | None,
    error: str | None,
) -> dict[str, Any]:
    """Checked column values for an update of a run; ``None`` leaves a column alone.

    Every value is checked before any is returned, so a bad one changes nothing.
    """
    values: dict[str, Any] = {}
    if ended_at is not None:
        ended_at = checked_time(ended_at, "ended_at")
    if status is not None:
        status = RunStatus(status)
        values["status"] = status.value
        if status.is_terminal and ended_at is None:
            ended_at = time.time()
        if status == RunStatus.RUNNING:
            values["heartbeat_at"] = time.time()
    if name is not None:
        values["name"] = validate_key(name, "run name", "name")
    if notes is not None:
        values["notes"] = checked_text(notes, "notes")
    if ended_at is not None:
        values["ended_at"] = ended_at
    if error is not None:
        # A traceback is captured text: kept, with any NUL replaced.
        values["error"] = captured_text(checked_str(error, "error"))
    return values


def summary_rows(run_id: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, value in values.items():
        validate_key(key, "summary")
        plain = checked_json(to_plain(value, key), key)
        rows.append(
            {
                "run_id": run_id,
                "key": key,
                "value": checked_summary_number(plain, key),
                "value_json": dumps(plain),
            }
        )
    return rows


def safe_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)
