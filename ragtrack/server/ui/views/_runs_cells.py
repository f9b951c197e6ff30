"""The cells of the runs table: values as the text shown, the full-precision
value CSV export takes, and one number of decimals per column. No store, no
links: what a value looks like in a cell.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ragtrack.entities import RunRecord
from ragtrack.server.ui._templates import format_number
from ragtrack.server.ui.views._runs_query import Column


class Cell(NamedTuple):
    """One table cell: the text shown, the full-precision ``data-value`` of a
    number (what CSV export takes), and whether it aligns as a number."""

    text: str
    value: str | None = None
    numeric: bool = False


def full_precision(x: float | int) -> str:
    """A number's exact text for ``data-value``: ``repr`` of floats, ``NaN``, ``Infinity``."""
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return repr(x)
    return str(x)


def value_cell(value: Any) -> Cell:
    """The cell of a param or summary value (``None``: an empty cell)."""
    if value is None:
        return Cell("")
    if isinstance(value, bool):
        return Cell("true" if value else "false")
    if isinstance(value, (int, float)):
        return Cell(format_number(value), full_precision(value), True)
    if isinstance(value, str):
        return Cell(value)
    return Cell(json.dumps(value, sort_keys=True, allow_nan=True))


def row_cells(run: RunRecord, params: Mapping[str, Any], columns: Sequence[Column]) -> list[Cell]:
    """The cells of ``run`` in ``columns`` (``params``: its flattened config)."""
    summary = run.summary

    def cell(c: Column) -> Cell:
        if c.kind == "tags":
            return Cell(", ".join(run.tags))
        return value_cell(params.get(c.key) if c.kind == "params" else summary.get(c.key))

    return [cell(c) for c in columns]


#: More decimals than this and a column keeps each value's own precision.
_MAX_DECIMALS = 6


def align_precision(rows: Sequence[Sequence[Cell]]) -> list[list[Cell]]:
    """Cells of rows whose number columns show one number of decimals each, so
    values line up and 0.59 next to 0.6123 reads 0.5900: the most decimals any
    value of the column needs at 4 significant digits. A column holding a value
    shown in scientific notation keeps each value as it is; so do NaN and
    infinities.

    Example:
        >>> rows = [[value_cell(0.59), value_cell(3)], [value_cell(0.61234), value_cell(4)]]
        >>> [[c.text for c in row] for row in align_precision(rows)]
        [['0.5900', '3'], ['0.6123', '4']]
    """
    columns = [list(column) for column in zip(*rows, strict=True)]
    for column in columns:
        finite = [
            i for i, c in enumerate(column) if c.numeric and math.isfinite(float(c.value or "nan"))
        ]
        texts = [column[i].text for i in finite]
        if not texts or any("e" in t for t in texts):
            continue
        decimals = max(len(t.partition(".")[2]) for t in texts)
        if decimals > _MAX_DECIMALS:
            continue
        for i in finite:
            column[i] = column[i]._replace(text=f"{float(column[i].value or 0):.{decimals}f}")
    return [list(row) for row in zip(*columns, strict=True)] if columns else [list(r) for r in rows]
