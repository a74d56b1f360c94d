"""Dify's three paging styles, once: `last_id` (forward cursor, ConversationService.pagination_by_last_id),
`first_id` (backward cursor, MessageService.pagination_by_first_id) and `page` (page number + total).
Read at dify 1.12.0, 1.14.2 and 1.16.1; /work/research/conversations.md §4-§5 has the citations.

Dify compares the cursor strictly on a microsecond timestamp; the mock's clock counts whole seconds,
so each sort key is (seconds, sequence): records made in one mock second keep their order and a
walk never loses or repeats one (as Dify's microseconds make it in practice)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from msgspec import Struct

from mockserver.errors import DifyError

T = TypeVar("T")
SortKey = Callable[[Any], tuple[int, int]]


# Made and read within one request: read-only by type (Final), which mypy enforces.
class Page(Struct, eq=False):
    """One page of records and Dify's envelope facts; `total`/`page` only for the page style."""

    items: Final[list[Any]]
    limit: Final[int]
    has_more: Final[bool]
    total: Final[int | None] = None
    page: Final[int | None] = None

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


# -- flask-sqlalchemy's db.paginate as the list routes call it --------------------------------------

MAX_PER_PAGE: Final = 100  # db.paginate(max_per_page=100) (to 1.15); libs/pagination.py paginate_query (1.16)


def arg_int(value: Any, default: int) -> int:
    """request.args.get(name, default, type=int): text int() cannot read is the default (to 1.14;
    from 1.15 the query model has already made it an int)."""
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def page_size(limit: int, floor: int = 20) -> int:
    """The per_page a paginate call uses: `limit` capped at MAX_PER_PAGE; below 1, `floor` (20 in
    flask-sqlalchemy 3.1's _prepare_page_args with error_out=False, 1 in 1.16's paginate_query)."""
    per_page = min(limit, MAX_PER_PAGE)
    return per_page if per_page >= 1 else floor


def paginate(rows: Sequence[T], page: int, limit: int, floor: int = 20) -> Page:
    """db.paginate over `rows` for the request's page and limit: a page below 1 is the first, the
    page size is page_size(limit, floor); `has_more` when the page is full."""
    return by_page(rows, max(1, page), page_size(limit, floor))


def echoed(data: list[Any], found: Page, page: int, limit: int) -> dict[str, Any]:
    """The envelope the annotation, dataset and document lists build by hand: the request's page and
    limit echoed as given, `has_more` when as many items came as the request asked for."""
    return {"data": data, "has_more": len(data) == limit, "limit": limit, "total": found.total, "page": page}
