"""The parsed form of a runs filter: frozen dataclasses, no I/O.

Every node renders back to filter text with ``str()``, and parsing that text gives
an equal node, so a filter can be normalised, stored or shown to the user.

Values are already checked and converted for their field by the parser: numbers
are floats, times are epoch seconds, statuses are lower-case RunStatus values,
and ``= null`` / ``!= null`` become :class:`IsNull`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

from ragtrack.storage.filter._lexer import is_word_char

FieldName = Literal[
    "params",
    "metrics",
    "tags",
    "status",
    "name",
    "id",
    "experiment",
    "project",
    "created",
    "started",
    "ended",
    "duration",
]
#: ``value`` is the run's summary value; the others are columns of the summary.
Aggregate = Literal["value", "last", "min", "max", "count"]
CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]
Value: TypeAlias = "float | str | bool"

#: Suffixes that turn ``metrics.<key>`` into an aggregate when the key is unquoted.
AGGREGATE_SUFFIXES: tuple[Aggregate, ...] = ("last", "min", "max", "count")


@dataclass(frozen=True)
class Field:
    """What a condition or an order key looks at.

    ``key`` is set for ``params`` and ``metrics`` only; ``aggregate`` for
    ``metrics`` only (``"value"``, the default, unless a ``.last/.min/.max/.count``
    suffix was given).

    Example:
        >>> str(Field("metrics", "recall@10", "max"))
        'metrics.recall@10.max'
    """

    name: FieldName
    key: str | None = None
    aggregate: Aggregate | None = None

    def __post_init__(self) -> None:
        if self.name == "metrics" and self.aggregate is None:
            object.__setattr__(self, "aggregate", "value")

    def __str__(self) -> str:
        if self.key is None:
            return self.name
        key = self.key
        needs_quotes = not key or not all(is_word_char(c) for c in key)
        if self.name == "metrics":
            needs_quotes = needs_quotes or key.endswith(tuple(f".{a}" for a in AGGREGATE_SUFFIXES))
        text = f"{self.name}.{quote_key(key) if needs_quotes else key}"
        if self.aggregate not in (None, "value"):
            text += f".{self.aggregate}"
        return text


@dataclass(frozen=True)
class Comparison:
    """``field op value``, e.g. ``params.lr < 0.01``."""

    field: Field
    op: CompareOp
    value: Value

    def __str__(self) -> str:
        return f"{self.field} {self.op} {format_value(self.value)}"


@dataclass(frozen=True)
class InList:
    """``field in (v1, v2)`` or, negated, ``field not in (...)``; never empty."""

    field: Field
    values: tuple[Value, ...]
    negated: bool = False

    def __str__(self) -> str:
        op = "not in" if self.negated else "in"
        return f"{self.field} {op} ({', '.join(format_value(v) for v in self.values)})"


@dataclass(frozen=True)
class Contains:
    """``field contains "sub"``: a case-insensitive substring match."""

    field: Field
    substring: str

    def __str__(self) -> str:
        return f"{self.field} contains {format_value(self.substring)}"


@dataclass(frozen=True)
class IsNull:
    """``field is null`` (the run has no such value) or ``is not null``."""

    field: Field
    negated: bool = False

    def __str__(self) -> str:
        return f"{self.field} is {'not ' if self.negated else ''}null"


@dataclass(frozen=True)
class And:
    """All operands hold; ``a and b and c`` is one node with three operands."""

    operands: tuple[Expr, ...]

    def __str__(self) -> str:
        return " and ".join(_group(e) for e in self.operands)


@dataclass(frozen=True)
class Or:
    """At least one operand holds."""

    operands: tuple[Expr, ...]

    def __str__(self) -> str:
        return " or ".join(_group(e) for e in self.operands)


@dataclass(frozen=True)
class Not:
    """The exact complement of ``operand``: runs without a value included."""

    operand: Expr

    def __str__(self) -> str:
        return f"not {_group(self.operand)}"


Expr: TypeAlias = "Comparison | InList | Contains | IsNull | And | Or | Not"


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` entry; runs without a value sort last either way."""

    field: Field
    descending: bool = False

    def __str__(self) -> str:
        return f"{'-' if self.descending else ''}{self.field}"


def quote_key(key: str) -> str:
    """``key`` in backticks, inner backticks doubled.

    Example:
        >>> quote_key("my key (v2)")
        '`my key (v2)`'
    """
    return "`" + key.replace("`", "``") + "`"


def format_value(value: Value) -> str:
    """A literal as filter text: ``true``, ``-inf``, ``0.1`` or a double-quoted string.

    Example:
        >>> print(format_value('say "hi"'), format_value(float("-inf")), format_value(True))
        "say \\"hi\\"" -inf true
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "-inf" if value < 0 else "inf"
        # Whole numbers read better without ".0"; below 2**53 they parse back exactly.
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    out = []
    for ch in escaped:
        if ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else ch)
    return '"' + "".join(out) + '"'


def _group(expr: Expr) -> str:
    return f"({expr})" if isinstance(expr, (And, Or)) else str(expr)
