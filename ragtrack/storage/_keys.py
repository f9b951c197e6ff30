"""Rules for metric, summary and param keys, shared by every backend."""

from __future__ import annotations

import re

from ragtrack.exceptions import InvalidArgumentError

MAX_KEY_LENGTH = 250

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def key_problem(key: object) -> str | None:
    """Why ``key`` cannot name a metric or param, or ``None`` when it can.

    Keys may hold ``/``, ``@``, ``.``, spaces inside and any unicode letter;
    they may not be empty, longer than 250 characters, start or end with
    whitespace, or contain control characters.

    Example:
        >>> key_problem("recall@10") is None
        True
        >>> key_problem("")
        'it is empty'
    """
    if not isinstance(key, str):
        return f"it is a {type(key).__name__}, not a str"
    if not key:
        return "it is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"it is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}"
    if key != key.strip():
        return "it starts or ends with whitespace"
    if _CONTROL.search(key):
        return "it contains a control character (newline, tab, NUL, ...)"
    return None


def validate_key(key: object, what: str = "metric", field: str | None = None) -> str:
    """Return ``key`` if it is valid, else raise InvalidArgumentError saying why.

    The error names ``field`` (a name or tag: ``"name"``, ``"tags"``), or else
    the key itself (a metric or summary key).
    """
    problem = key_problem(key)
    if problem is not None:
        if field is not None:
            raise InvalidArgumentError(f"invalid {what} {key!r}: {problem}", field=field)
        raise InvalidArgumentError(f"invalid {what} key {key!r}: {problem}", field=str(key))
    return key  # type: ignore[return-value]
