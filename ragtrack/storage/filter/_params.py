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
    key of a ``params.<key>`` reference. A metric or another field cannot be a
    param: InvalidArgumentError naming ``field``.

    Example:
        >>> known = {"chunker.size", "lr"}
        >>> param_key("params.chunker.size", known), param_key("lr", known)
        ('chunker.size', 'lr')
        >>> param_key("params.`my key`", known)
        'my key'
    """
    # A config {"params": {"x": 1}} has the raw key 'params.x': it wins.
    if text in known or not text.startswith(("params.", "metrics.")):
        return text
    try:
        (order_key,) = parse_order_text(text)
    except (InvalidFilterError, ValueError):
        return text  # not a field reference: a raw key no run has (yet)
    if order_key.descending or order_key.field.key is None:
        return text
    if order_key.field.name == "metrics":
        raise InvalidArgumentError(
            f"{field}: {text} is a metric; group by a param (params.<key>): each group "
            f"shows the mean, min and max of the metric columns",
            field=field,
        )
    return order_key.field.key
