"""Input rules at the store and API boundary, the same on every backend.

The SQL store applies these to every write and every lookup, the server's
request models take their limits from here, and the REST client sends what it
is given (the server answers with the store's errors), so a value is refused or
kept the same way on SQLite, PostgreSQL and through the REST API. Keys, tags
and names follow :mod:`ragtrack.storage._keys`.

Text:

* **Typed text** (notes, descriptions, commands, dataset and model names, the
  strings and keys of configs, summaries and hyperparameters) may not hold NUL:
  PostgreSQL cannot store it, so it is refused everywhere with an error naming
  the field. Ids, names, keys, tags and batch ids refuse every control character.
* **Captured text** (console output, error texts, system metadata) is kept:
  refusing it would lose what the job printed, so each NUL in it becomes U+FFFD,
  the Unicode replacement character, on every backend.

Times are seconds since the Unix epoch from 1970-01-01 to 9999-12-31 UTC
(:data:`MIN_TIME` to :data:`MAX_TIME`): a millisecond epoch is caught, and every
stored time can be shown as a date.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard, overload

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.storage._keys import validate_key

# numpy only where arrays are checked: reading runs must not import it (a fresh
# process pays ~60-90 ms for numpy; docs/benchmarks.md, workload 10).
if TYPE_CHECKING:
    import numpy as np

#: Earliest accepted time: 1970-01-01T00:00:00Z.
MIN_TIME = 0.0
#: Latest accepted time: 9999-12-31T23:59:59Z.
MAX_TIME = 253402300799.0
#: The largest magnitude a number may have to be stored as a float64.
MAX_NUMBER = sys.float_info.max
#: The largest count (a limit, an offset into runs or a log): a signed 64-bit
#: integer, what PostgreSQL's LIMIT and OFFSET take.
MAX_COUNT = 2**63 - 1

_RUN_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUL = "\x00"
_REPLACEMENT = "\ufffd"


# -- times and numbers --------------------------------------------------------------------


def time_problem(value: object) -> str | None:
    """Why ``value`` is not a time, or ``None`` when it is one.

    Example:
        >>> time_problem(1733300000.0) is None
        True
        >>> time_problem(1733300000000)
        'it is after 9999-12-31 (a millisecond epoch? give seconds since 1970)'
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"it is a {type(value).__name__}, not a number of seconds since 1970"
    if isinstance(value, int) and not MIN_TIME <= value <= MAX_TIME:
        value = math.copysign(math.inf, value)
    if math.isnan(value):
        return "it is NaN"
    if value < MIN_TIME:
        return "it is before 1970-01-01"
    if value > MAX_TIME:
        return "it is after 9999-12-31 (a millisecond epoch? give seconds since 1970)"
    return None


def checked_time(value: object, field: str, what: str | None = None) -> float:
    """``value`` as a float, or InvalidArgumentError naming ``field`` and the range.

    Example:
        >>> checked_time(1733300000, "created_at")
        1733300000.0
    """
    problem = time_problem(value)
    if problem is not None:
        raise InvalidArgumentError(
            f"{what or field} must be seconds since the Unix epoch, from {MIN_TIME:.0f} "
            f"(1970-01-01) to {MAX_TIME:.0f} (9999-12-31); got {value!r}: {problem}",
            field=field,
        )
    return float(value)  # type: ignore[arg-type]


def checked_times(stamps: np.ndarray[Any, Any], field: str, what: str | None = None) -> None:
    """Raise InvalidArgumentError naming ``field`` unless every time is in range."""
    inside = _in_range(stamps)
    if not inside.all():
        bad = float(stamps[~inside][0])
        checked_time(bad, field, what)


def _in_range(stamps: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # One pass; NaN fails both comparisons.
    inside: np.ndarray[Any, Any] = (stamps >= MIN_TIME) & (stamps <= MAX_TIME)
    return inside


@overload
def readable_time(value: float) -> float: ...
@overload
def readable_time(value: float | None) -> float | None: ...
def readable_time(value: float | None) -> float | None:
    """A stored time as readers get it: one out of range (stored by a version
    that did not check) reads as the nearest time in range, so that every page,
    table and chart can still show it as a date.

    Example:
        >>> readable_time(1e300), readable_time(-5.0), readable_time(1733300000.0)
        (253402300799.0, 0.0, 1733300000.0)
    """
    if value is None or MIN_TIME <= value <= MAX_TIME:
        return value
    return MIN_TIME if value < MIN_TIME else MAX_TIME


def readable_times(stamps: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """:func:`readable_time` of each time in an array (the array itself when all are)."""
    if len(stamps) and not _in_range(stamps).all():
        import numpy as np

        clipped: np.ndarray[Any, Any] = np.clip(
            np.nan_to_num(stamps, nan=MIN_TIME), MIN_TIME, MAX_TIME
        )
        return clipped
    return stamps


def checked_summary_number(value: Any, field: str) -> float | None:
    """The float of a summary value for sorting and filtering (``None`` when it
    is not a number or NaN); an int too large for a float64 is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and abs(value) > MAX_NUMBER:
        raise InvalidArgumentError(
            f"summary value {field!r} is an integer too large to store as a number "
            f"(at most about 1.8e308); log it as a str to keep every digit",
            field=field,
        )
    number = float(value)
    return None if math.isnan(number) else number


# -- text ---------------------------------------------------------------------------------


def checked_count(value: object, field: str) -> int:
    """``value`` if it is an int from 0 to :data:`MAX_COUNT`, else
    InvalidArgumentError naming ``field``.

    Example:
        >>> checked_count(300, "offset")
        300
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise InvalidArgumentError(
            f"{field} must be an int from 0 to 2**63-1, got {value!r}", field=field
        )
    return value


def checked_str(value: object, field: str) -> str:
    """``value`` if it is a str, else InvalidArgumentError naming ``field``."""
    if not isinstance(value, str):
        raise InvalidArgumentError(
            f"{field} must be a str, got {type(value).__name__}", field=field
        )
    return value


def checked_text(value: object, field: str) -> str:
    """``value`` if it is a str without NUL, else InvalidArgumentError naming ``field``.

    Example:
        >>> checked_text("first try", "notes")
        'first try'
    """
    text = checked_str(value, field)
    if _NUL in text:
        raise InvalidArgumentError(
            f"{field} contains a NUL character (\\x00), which cannot be stored; remove it",
            field=field,
        )
    return text


def checked_json(value: Any, field: str) -> Any:
    """``value`` if no string or key anywhere in it holds NUL, else
    InvalidArgumentError naming the path to the first one (``config.model.name``).

    Example:
        >>> checked_json({"model": {"name": "bge"}}, "config")
        {'model': {'name': 'bge'}}
    """
    if isinstance(value, str):
        checked_text(value, field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and _NUL in key:
                raise InvalidArgumentError(
                    f"{field} has the key {key!r}, which contains a NUL character (\\x00) "
                    f"and cannot be stored; remove it",
                    field=field,
                )
            checked_json(item, f"{field}.{key}")
    elif isinstance(value, (list, tuple)):
        for item in value:
            checked_json(item, field)
    return value


def captured_text(text: str) -> str:
    """Captured text with each NUL replaced by U+FFFD, so that it can be stored.

    Example:
        >>> captured_text("a\\x00b")
        'a\\ufffdb'
    """
    return text.replace(_NUL, _REPLACEMENT) if _NUL in text else text


def captured_json(value: Any) -> Any:
    """A JSON value with :func:`captured_text` applied to every string and key."""
    if isinstance(value, str):
        return captured_text(value)
    if isinstance(value, Mapping):
        return {captured_text(str(k)): captured_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [captured_json(v) for v in value]
    return value


def checked_tags(tags: Sequence[str]) -> list[str]:
    """Distinct tags, sorted; each follows the key rules (see ``_keys.py``).

    Example:
        >>> checked_tags(["b", "a", "b"])
        ['a', 'b']
    """
    if isinstance(tags, str):
        raise InvalidArgumentError(
            f"tags must be a list of strings, got the string {tags!r}; write [{tags!r}]",
            field="tags",
        )
    return sorted({validate_key(t, "tag", "tags") for t in tags})


# -- ids --------------------------------------------------------------------------------------


def is_run_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` has the form of a run id: 1-64 letters, digits, ``-`` or ``_``."""
    return isinstance(value, str) and _RUN_ID.match(value) is not None


def checked_new_run_id(run_id: object) -> str:
    """A run id a client chose (see :func:`is_run_id`)."""
    text = checked_lookup(run_id, "run_id")
    if not is_run_id(text):
        raise InvalidArgumentError(
            f"invalid run id {text!r}: use 1-64 letters, digits, '-' or '_'", field="run_id"
        )
    return text


def checked_lookup(value: object, field: str) -> str:
    """An id or name to look something up by: a str without control characters.

    Anything else can name nothing stored, and a NUL would fail inside
    PostgreSQL; an unknown but well-formed value is left to the lookup (404).

    Example:
        >>> checked_lookup("3f2a9c", "run_id")
        '3f2a9c'
    """
    text = checked_str(value, field)
    if _CONTROL.search(text):
        raise InvalidArgumentError(
            f"invalid {field.replace('_', ' ')} {text!r}: it contains a control character "
            f"(NUL, newline, tab, ...), which no id or name may hold",
            field=field,
        )
    return text


def checked_batch_id(batch_id: object) -> str:
    """A client's batch id: 1-64 characters, no control characters."""
    if not isinstance(batch_id, str) or not 1 <= len(batch_id) <= 64:
        raise InvalidArgumentError("batch_id must be 1 to 64 characters", field="batch_id")
    return checked_lookup(batch_id, "batch_id")
