"""Formatting values for terminal output: tables, numbers, durations, times, JSON.

Pure functions returning strings, so tests check text without a terminal.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Collection, Sequence
from typing import Any

import click

from ragtrack.sdk.api import strict_json

#: Shown where a value is missing; a dash reads better than "None" in a column.
MISSING = "-"


def format_number(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; other values as short text.

    Example:
        >>> format_number(0.731234), format_number(412.37), format_number(3), format_number(None)
        ('0.7312', '412.4', '3', '-')
        >>> format_number(float("nan")), format_number(float("-inf"))
        ('NaN', '-Infinity')
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(strict_json(value))
        return f"{value:.{digits}g}"
    if isinstance(value, str):
        return shorten(value, 24)
    return shorten(json.dumps(strict_json(value), ensure_ascii=False), 24)


def format_duration(seconds: float | None) -> str:
    """A compact duration: ``0.4s``, ``42s``, ``1m05s``, ``2h03m``, ``3d04h``.

    Example:
        >>> [format_duration(s) for s in (0.42, 42, 65, 7380, 273600, None)]
        ['0.4s', '42s', '1m05s', '2h03m', '3d04h', '-']
    """
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    if seconds < 10:
        return f"{seconds:.1f}s"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def short_time(ts: float | None) -> str:
    """Local time to the minute, for table cells: ``2024-05-01 14:03``."""
    return MISSING if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def long_time(ts: float | None) -> str:
    """Local time to the second with the zone, for reports: ``2024-05-01 14:03:12 CEST``."""
    return MISSING if ts is None else time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(ts))


def precise_time(ts: float) -> str:
    """Local time to the millisecond, for metric points: ``2024-05-01 14:03:12.345``."""
    whole = math.floor(ts)
    millis = min(999, round((ts - whole) * 1000))
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(whole)) + f".{millis:03d}"


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis when longer.

    Example:
        >>> shorten("chunk512-k5-bge-base", 10)
        'chunk512-…'
    """
    text = " ".join(text.split())  # a newline would break the table's rows
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> list[str]:
    """Lines of an aligned table, two spaces between columns.

    ``right`` holds the indexes of right-aligned (numeric) columns.

    Example:
        >>> rows = [["mrr", "0.52"], ["ndcg@10", "0.6"]]
        >>> print("\\n".join(render_table(["key", "value"], rows, right=[1])))
        key      value
        mrr       0.52
        ndcg@10    0.6
    """
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def echo_json(value: Any, indent: int | None = 2) -> None:
    """Print ``value`` as strict JSON (non-finite floats as strings)."""
    text = json.dumps(strict_json(value), indent=indent, ensure_ascii=False, allow_nan=False)
    click.echo(text)
