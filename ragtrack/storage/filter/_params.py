"""A param named the way ``sort``, ``columns`` and the filter name it.

``group_by=chunker.size`` (a raw key) and ``group_by=params.chunker.size`` (a
field of the filter language, backticks allowed) mean the same param; the
second used to group every run under "(no value)".
"""

from __future__ import annotations

from collections.abc import Collection

from ragtrack.exceptions import InvalidArgumentError, InvalidFilterError
from ragtrack.storage.filter._order import parse_order_text


def param_key(text: str, known: Collection[str], field: str = "group_by") -> str:
    """The param key ``text`` names: itself when a run has that key, else the
    key of a ``params.<key>`` reference; other text is a raw key (no run may
    have it: see :func:`~ragtrack.storage.filter.unknown_param`). A metric, a
    malformed reference or one with a direction (``-params.x``, ``params.x
    desc``) is an InvalidArgumentError naming ``field``.

    Example:
        >>> known = {"chunker.size", "lr"}
        >>> param_key("params.chunker.size", known), param_key("lr", known)
        ('chunker.size', 'lr')
        >>> param_key("params.`my key`", known)
        'my key'
    """
    # A config {"params": {"x": 1}} has the raw key 'params.x': it wins.
    if text in known:
        return text
    reference = text[1:] if text.startswith("-") else text
    if not reference.startswith(("params.", "metrics.")):
        return text  # a raw key; a caller warns when no run has it (unknown_param)
    try:
        (order_key,) = parse_order_text(reference)
    except (InvalidFilterError, ValueError) as e:
        raise InvalidArgumentError(
            f"{field}: {text} is not a param reference ({_first_line(e)}); write "
            f"params.<key>, with backticks around a key holding spaces: params.`my key`",
            field=field,
        ) from None
    if order_key.descending or reference is not text:
        raise InvalidArgumentError(
            f"{field}: {text} has a direction; groups are ordered by value, so name only "
            f"the param: params.<key> (no '-', 'asc' or 'desc')",
            field=field,
        )
    if order_key.field.name == "metrics":
        raise InvalidArgumentError(
            f"{field}: {text} is a metric; group by a param (params.<key>): each group "
            f"shows the mean, min and max of the metric columns",
            field=field,
        )
    assert order_key.field.key is not None  # 'params.' parses only with a key
    return order_key.field.key


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
