"""What each field accepts: its operators, the type of its values, ordering.

Kept apart from the grammar so the rules for a field read as one table. The
checks return or raise plain reasons; the parser attaches the position.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Literal, get_args

from ragtrack.entities.run import RunStatus
from ragtrack.storage.filter._ast import Field, FieldName, Value

#: Operators as named in messages; ``=`` .. ``>=`` are the comparison operators.
Operator = Literal["=", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "is null"]
LiteralKind = Literal["number", "string", "bool"]

_OPERATOR_ORDER: tuple[Operator, ...] = get_args(Operator)
_COMPARE = frozenset(_OPERATOR_ORDER[:6])
_EQUALITY = frozenset({"=", "!=", "in", "not in"})

_OPERATORS: dict[FieldName, frozenset[str]] = {
    "params": frozenset(_OPERATOR_ORDER),
    "metrics": _COMPARE | {"in", "not in", "is null"},
    "tags": _EQUALITY | {"contains", "is null"},
    "status": _EQUALITY,
    "name": _COMPARE | {"in", "not in", "contains"},
    "id": _COMPARE | {"in", "not in", "contains"},
    "experiment": _COMPARE | {"in", "not in", "contains", "is null"},
    "project": _COMPARE | {"in", "not in", "contains"},
    "created": _COMPARE | {"in", "not in"},
    "started": _COMPARE | {"in", "not in", "is null"},
    "ended": _COMPARE | {"in", "not in", "is null"},
    "duration": _COMPARE | {"in", "not in", "is null"},
}

SIMPLE_FIELDS: tuple[FieldName, ...] = tuple(
    f for f in _OPERATORS if f not in ("params", "metrics")
)
ORDER_FIELDS: tuple[FieldName, ...] = tuple(f for f in _OPERATORS if f != "tags")
_TEXT_FIELDS = frozenset({"tags", "name", "id", "project", "experiment"})
_TIME_FIELDS = frozenset({"created", "started", "ended"})
_STATUSES = tuple(s.value for s in RunStatus)

FIELDS_HINT = "params.<key>, metrics.<key>, metrics.<key>.last/.min/.max/.count, " + ", ".join(
    SIMPLE_FIELDS
)


class FieldRuleError(Exception):
    """A value or operator does not suit its field; ``str()`` is the reason."""


def operator_problem(field: Field, op: Operator) -> str | None:
    """Why ``op`` cannot be used on ``field``, or ``None`` when it can.

    Example:
        >>> operator_problem(Field("status"), "<")
        "status does not support '<'; it supports =, !=, in, not in"
    """
    allowed = _OPERATORS[field.name]
    if op in allowed:
        return None
    names = ", ".join(o for o in _OPERATOR_ORDER if o in allowed)
    why = ""
    if op == "contains" and field.name in ("metrics", "duration"):
        why = " (contains works on text, and this field is a number)"
    elif op == "is null":
        why = " (it always has a value)"
    return f"{field} does not support {op!r}{why}; it supports {names}"


def coerce_value(field: Field, op: Operator, kind: LiteralKind, value: Value) -> Value:
    """Check a literal against its field and convert it to what the compiler needs.

    Times become epoch seconds, statuses lower case; a wrong type raises
    FieldRuleError with the reason.

    Example:
        >>> coerce_value(Field("created"), ">", "string", "2024-05-01")
        1714521600.0
    """
    name = field.name
    if name == "params":
        if kind == "bool" and op not in ("=", "!=", "in", "not in"):
            raise FieldRuleError("true and false can only be compared with =, !=, in and not in")
        return value
    if name in ("metrics", "duration"):
        if kind != "number":
            raise FieldRuleError(f"{field} is a number; expected a number, inf or -inf")
        return value
    if name in _TIME_FIELDS:
        if kind == "bool":
            raise FieldRuleError(f"{field} is a time; expected an ISO-8601 date or epoch seconds")
        return value if kind == "number" else parse_time(str(value))
    if kind != "string":
        raise FieldRuleError(f'{field} is text; expected a quoted string, e.g. "{_fmt(value)}"')
    if name == "status":
        status = str(value).lower()
        if status not in _STATUSES:
            raise FieldRuleError(
                f"unknown status {value!r}; expected one of {', '.join(_STATUSES)}"
            )
        return status
    assert name in _TEXT_FIELDS
    return value


def parse_time(text: str) -> float:
    """Epoch seconds of an ISO-8601 date or datetime; UTC unless an offset is given.

    Example:
        >>> parse_time("2024-05-01T00:00:00+02:00")
        1714514400.0
    """
    iso = text.strip()
    # datetime.fromisoformat() only learned the "Z" suffix in Python 3.11.
    if iso[-1:] in ("Z", "z"):
        iso = iso[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise FieldRuleError(
            f"invalid date {text!r}; expected an ISO-8601 date such as '2024-05-01', a "
            "datetime such as '2024-05-01T12:30:00Z', or epoch seconds as a number"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _fmt(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and not math.isinf(value):
        return str(int(value))
    return str(value)
