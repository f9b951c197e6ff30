"""``?limit=`` and ``?cursor=`` of list endpoints, and their ``next_cursor``.

A cursor is opaque to clients (``_wire.encode_cursor`` of an offset): pass the
``next_cursor`` of one page to get the next; it is ``null`` on the last page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query

from ragtrack.storage.rest import _wire

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class PageRequest:
    """Which page a list request asks for.

    Example:
        >>> page = PageRequest(offset=0, limit=2)
        >>> items, cursor = page.slice(["a", "b", "c"])
        >>> items, PageRequest(_wire.decode_cursor(cursor), 2).slice(["a", "b", "c"])[0]
        (['a', 'b'], ['c'])
    """

    offset: int
    limit: int

    def slice(self, items: Sequence[T]) -> tuple[list[T], str | None]:
        """This page of a complete list, and the cursor of the next page."""
        page = list(items[self.offset : self.offset + self.limit])
        return page, self.next_cursor(len(items) > self.offset + self.limit)

    def next_cursor(self, more: bool) -> str | None:
        return _wire.encode_cursor(self.offset + self.limit) if more else None


# A coroutine, so FastAPI calls it without a thread hop (see api/_common.py).
async def page_request(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-1000).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(description="The next_cursor of the previous page.")
    ] = None,
) -> PageRequest:
    return PageRequest(offset=_wire.decode_cursor(cursor), limit=limit)


#: Endpoint parameter: the requested page.
Page = Annotated[PageRequest, Depends(page_request)]
