"""Dify's three paging styles, once: `last_id` (forward cursor, ConversationService.pagination_by_last_id),
`first_id` (backward cursor, MessageService.pagination_by_first_id) and `page` (page number + total).
Read at dify 1.12.0, 1.14.2 and 1.16.1; /work/research/conversations.md §4-§5 has the citations.

Dify compares the cursor strictly on a microsecond timestamp; the mock's clock counts whole seconds,
so each sort key is (seconds, sequence): records made in one mock second keep their order and a
walk never loses or repeats one (as Dify's microseconds make it in practice)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mockserver.errors import DifyError

T = TypeVar("T")
SortKey = Callable[[Any], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records and Dify's envelope facts; `total`/`page` only for the page style."""

    items: list[Any]
    limit: int
    has_more: bool
    total: int | None = None
    page: int | None = None

    def envelope(self, data: list[Any]) -> dict[str, Any]:
        """The body, keys in Dify's order: {limit, has_more, data} or {page, limit, total, has_more, data}."""
        if self.page is None:
            return {"limit": self.limit, "has_more": self.has_more, "data": data}
        return {"page": self.page, "limit": self.limit, "total": self.total, "has_more": self.has_more, "data": data}


def by_last_id(
    rows: Sequence[T], key: SortKey, descending: bool, last_id: str | None, limit: int, missing: str
) -> Page:
    """Rows after the cursor row in the sort order, exactly `limit` of them; `has_more` only when the
    page is full and a row lies beyond its last. An unknown cursor is a 404 with `missing`."""
    ordered = _beyond(sorted(rows, key=key, reverse=descending), key, last_id, missing, descending)
    page = ordered[:limit]
    return Page(page, limit, len(page) == limit and len(ordered) > limit)


def by_first_id(rows: Sequence[T], key: SortKey, first_id: str | None, limit: int, missing: str) -> Page:
    """The newest `limit` rows older than the cursor row, oldest first; `has_more` when an older one exists."""
    newest_first = _beyond(sorted(rows, key=key, reverse=True), key, first_id, missing, True)
    page = newest_first[: limit + 1]
    has_more = len(page) > limit
    return Page(list(reversed(page[:limit])), limit, has_more)


def _beyond(ordered: list[T], key: SortKey, cursor: str | None, missing: str, descending: bool) -> list[T]:
    """The rows strictly past the cursor row in the sort order; an unknown cursor is a 404 with `missing`."""
    if not cursor:
        return ordered
    ref = next((r for r in ordered if getattr(r, "id", None) == cursor), None)
    if ref is None:
        raise DifyError("not_found", missing)
    mark = key(ref)
    return [r for r in ordered if (key(r) < mark if descending else key(r) > mark)]


def by_page(rows: Sequence[T], page: int, limit: int, full_means_more: bool = True) -> Page:
    """Page `page` (1-based) of `limit` rows with the total. Most Dify lists say `has_more` when the
    page is full (true on an exactly full last page); others when a next page exists."""
    start = (page - 1) * limit
    items = list(rows[start : start + limit])
    more = len(items) == limit if full_means_more else start + limit < len(rows)
    return Page(items, limit, more, total=len(rows), page=page)
