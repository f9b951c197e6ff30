"""The runs table's URL parameters: which columns, sort, filter, page and
grouping a view shows, parsed and checked (errors name the parameter), and how
the filter language names a param or metric key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request

from ragtrack.exceptions import InvalidArgumentError
from ragtrack.server.ui._pages import query_int
from ragtrack.storage.filter import Field

DEFAULT_SORT = "-created"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
PER_PAGE_CHOICES = (20, 50, 100, 200, 500)
#: Default columns beyond an experiment's defined metrics.
DEFAULT_METRIC_COLUMNS = 6
DEFAULT_PARAM_COLUMNS = 6
MAX_COLUMNS = 200

ColumnKind = Literal["params", "metrics", "tags"]
_KINDS: tuple[ColumnKind, ...] = ("params", "metrics")
#: The ``columns`` item of the run's tags (not a key: the only column of its kind).
TAGS_COLUMN = "tags"


def field_ref(kind: ColumnKind, key: str) -> str:
    """How the filter and order-by language names a param or metric key:
    backticks around keys with characters outside the unquoted set, and around
    metric keys that end like an aggregate (``.min``, ``.max``, ...).

    Example:
        >>> field_ref("metrics", "recall@10"), field_ref("params", "my key")
        ('metrics.recall@10', 'params.`my key`')
        >>> field_ref("metrics", "loss.min")
        'metrics.`loss.min`'
    """
    return str(Field(kind, key))


@dataclass(frozen=True)
class Column:
    """A chosen column: a param or a metric (summary value) key, or the tags."""

    kind: ColumnKind
    key: str = ""

    @property
    def id(self) -> str:
        """What the ``columns`` URL parameter holds: ``metrics.recall@10``, ``tags``."""
        return TAGS_COLUMN if self.kind == "tags" else f"{self.kind}.{self.key}"


def parse_columns(values: Iterable[str]) -> tuple[Column, ...]:
    """Columns from ``columns`` URL values: comma-separated ``params.<key>`` and
    ``metrics.<key>`` items and ``tags``, repeated parameters allowed. Keys are
    raw (no backticks); since a key may hold a comma, a piece that does not
    start with ``params.``, ``metrics.`` or is ``tags`` continues the item before it.

    Example:
        >>> [c.id for c in parse_columns(["metrics.recall@10,params.a,b", "tags,metrics.x"])]
        ['metrics.recall@10', 'params.a,b', 'tags', 'metrics.x']
    """
    items: list[str] = []
    for value in values:
        pieces: list[str] = []
        for piece in value.split(","):
            if not piece.strip():  # 'a,,b' and a trailing comma: nothing to add
                continue
            starts_item = piece.strip().startswith(("params.", "metrics."))
            if pieces and not starts_item and piece.strip() != TAGS_COLUMN:
                pieces[-1] += "," + piece
            else:
                pieces.append(piece)
        items.extend(p.strip() for p in pieces)
    columns: dict[Column, None] = {}
    for item in items:
        if item == TAGS_COLUMN:
            columns[Column("tags")] = None
            continue
        kind, _, key = item.partition(".")
        if kind not in _KINDS or not key:
            raise InvalidArgumentError(
                f"columns: {item!r} is not params.<key>, metrics.<key> or tags; "
                f"separate columns with commas, e.g. metrics.recall@10,params.chunker.size",
                field="columns",
            )
        columns[Column("params" if kind == "params" else "metrics", key)] = None
    if len(columns) > MAX_COLUMNS:
        raise InvalidArgumentError(
            f"columns: at most {MAX_COLUMNS} columns, got {len(columns)}", field="columns"
        )
    return tuple(columns)


@dataclass(frozen=True)
class TableQuery:
    """The table's URL parameters, checked; ``sort`` '' and ``columns`` None mean defaults."""

    experiment: str | None = None
    filter: str = ""
    sort: str = ""
    columns: tuple[Column, ...] | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    group_by: str | None = None

    @classmethod
    def from_request(cls, request: Request) -> TableQuery:
        q = request.query_params
        raw_columns = q.getlist("columns")
        return cls(
            experiment=q.get("experiment", "").strip() or None,
            filter=q.get("filter", "").strip(),
            sort=q.get("sort", "").strip(),
            columns=parse_columns(raw_columns) or None,
            page=query_int(request, "page", 1, 1, 10**9),
            per_page=query_int(request, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
            group_by=q.get("group_by", "").strip() or None,
        )

    def params(self, **changes: Any) -> dict[str, Any]:
        """URL parameters of this view with ``changes``; defaults left out."""
        params: dict[str, Any] = {
            "experiment": self.experiment,
            "filter": self.filter,
            "sort": self.sort,
            "columns": ",".join(c.id for c in self.columns) if self.columns else None,
            "group_by": self.group_by,
            "per_page": None if self.per_page == DEFAULT_PER_PAGE else self.per_page,
            "page": None if self.page == 1 else self.page,
        }
        params.update(changes)
        if params["page"] == 1:
            params["page"] = None
        return params
