"""The Jinja2 environment of the UI and the filters its templates share.

Numbers, times and durations are formatted here, once, so the table, the run
page and the compare page agree (and tests can check the text a user reads).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import jinja2

from ragtrack._version import __version__


def format_number(value: Any) -> str:
    """A metric or param value as a table shows it.

    Example:
        >>> format_number(0.123456789), format_number(1234567), format_number(float("nan"))
        ('0.1235', '1234567', 'NaN')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
            return f"{value:.4g}"
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.6g}"
    return str(value)


def format_time(epoch: float | None) -> str:
    """UTC date and time to the second, ``''`` for none.

    Example:
        >>> format_time(0)
        '1970-01-01 00:00:00 UTC'
    """
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: float | None) -> str:
    """``'850 ms'``, ``'42.0 s'``, ``'3m 07s'``, ``'2h 05m'``, ``'3d 4h'``.

    Example:
        >>> format_duration(187), format_duration(0.85)
        ('3m 07s', '850 ms')
    """
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


@functools.cache
def environment() -> jinja2.Environment:
    """The UI's template environment (templates ship in the package)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ragtrack.server.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = format_number
    env.filters["time"] = format_time
    env.filters["duration"] = format_duration
    env.globals["version"] = __version__
    return env
