"""The runs filter language: parsing of filters and order-by specs into an AST.

Pure Python: backends compile the AST (see ``storage/sql/_filter_compiler.py``).
The language is documented in ``docs/filter.md``.

Example:
    >>> expr = parse_filter("metrics.recall@10 > 0.8 and params.retriever.top_k in (5, 10)")
    >>> print(expr)
    metrics.recall@10 > 0.8 and params.retriever.top_k in (5, 10)
    >>> [str(k) for k in parse_order_by("-metrics.recall@10, params.lr")]
    ['-metrics.recall@10', 'params.lr']
"""

from __future__ import annotations

from collections.abc import Sequence

from ragtrack.exceptions import InvalidFilterError
from ragtrack.storage.filter._ast import (
    Aggregate,
    And,
    CompareOp,
    Comparison,
    Contains,
    Expr,
    Field,
    FieldName,
    InList,
    IsNull,
    Not,
    Or,
    OrderKey,
    Value,
)
from ragtrack.storage.filter._lexer import MAX_FILTER_LENGTH
from ragtrack.storage.filter._order import parse_order_text
from ragtrack.storage.filter._params import param_key
from ragtrack.storage.filter._parser import MAX_DEPTH, parse_filter_text
from ragtrack.storage.filter._warnings import (
    MAX_PROJECTS_READ,
    FilterWarning,
    filter_warnings,
    replace_key,
    unknown_keys,
    unknown_param,
    warning_from_json,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_PROJECTS_READ",
    "Aggregate",
    "And",
    "CompareOp",
    "Comparison",
    "Contains",
    "Expr",
    "Field",
    "FieldName",
    "FilterWarning",
    "InList",
    "IsNull",
    "Not",
    "Or",
    "OrderKey",
    "Value",
    "filter_warnings",
    "param_key",
    "parse_filter",
    "parse_order_by",
    "replace_key",
    "unknown_keys",
    "unknown_param",
    "warning_from_json",
]


def parse_filter(text: str) -> Expr | None:
    """Parse a runs filter; ``None`` when ``text`` is empty or only whitespace.

    Raises:
        InvalidFilterError: naming what was expected, with ``position`` at the
            offending character.

    Example:
        >>> expr = parse_filter('status = "running" and not tags = "baseline"')
        >>> type(expr).__name__, str(expr)
        ('And', 'status = "running" and not tags = "baseline"')
        >>> parse_filter("   ") is None
        True
    """
    if not isinstance(text, str):
        raise InvalidFilterError(f"a filter must be a str, not {type(text).__name__}", "", 0)
    if not text.strip():
        return None
    return parse_filter_text(text)


def parse_order_by(spec: str | Sequence[str] | None) -> list[OrderKey]:
    """Parse an order-by spec: a comma-separated string or a list of strings.

    Each item is a field, prefixed with ``-`` (descending) or ``+``, or followed
    by ``desc``/``asc``. Blank strings and list items are ignored.

    Raises:
        InvalidFilterError: for an unknown or unorderable field (``tags``).

    Example:
        >>> [str(k) for k in parse_order_by(["metrics.loss.min asc", "-created"])]
        ['metrics.loss.min', '-created']
    """
    if spec is None:
        return []
    items = [spec] if isinstance(spec, str) else list(spec)
    keys: list[OrderKey] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidFilterError(
                f"order-by items must be str, not {type(item).__name__}", repr(item), 0
            )
        if item.strip():
            keys.extend(parse_order_text(item))
    return keys
