"""Dify's three paging styles on plain rows (the HTTP walks are in tests/http)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mockserver.errors import DifyError
from mockserver.state.pagination import by_first_id, by_last_id, by_page


@dataclass
class Row:
    id: str
    at: int
    seq: int


ROWS = [Row(f"r{i}", i // 3, i) for i in range(10)]  # three rows per second: the sequence breaks ties


def key(r: Row) -> tuple[int, int]:
    return (r.at, r.seq)


def test_last_id_walks_every_row_once_even_within_one_second() -> None:
    seen, cursor = [], None
    while True:
        page = by_last_id(ROWS, key, True, cursor, 4, "gone")
        seen += [r.id for r in page.items]
        if not page.has_more:
            break
        cursor = page.items[-1].id
    assert seen == [r.id for r in reversed(ROWS)]


def test_last_id_has_more_only_when_a_full_page_leaves_rows() -> None:
    assert by_last_id(ROWS, key, False, None, 10, "gone").has_more is False
    assert by_last_id(ROWS, key, False, "r4", 5, "gone").has_more is False
    assert by_last_id(ROWS, key, False, "r3", 5, "gone").has_more is True


def test_first_id_pages_are_oldest_first_and_go_back_in_time() -> None:
    newest = by_first_id(ROWS, key, None, 4, "gone")
    assert [r.id for r in newest.items] == ["r6", "r7", "r8", "r9"] and newest.has_more
    older = by_first_id(ROWS, key, "r6", 4, "gone")
    assert [r.id for r in older.items] == ["r2", "r3", "r4", "r5"]


def test_unknown_cursors_are_404_with_the_given_text() -> None:
    for paged in (
        lambda: by_last_id(ROWS, key, True, "nope", 2, "Last Gone."),
        lambda: by_first_id(ROWS, key, "nope", 2, "Last Gone."),
    ):
        with pytest.raises(DifyError) as caught:
            paged()
        assert (caught.value.code, caught.value.message, caught.value.status) == ("not_found", "Last Gone.", 404)


def test_page_style_envelope_and_its_two_has_more_rules() -> None:
    page = by_page(ROWS, 2, 5)
    assert page.envelope([1]) == {"page": 2, "limit": 5, "total": 10, "has_more": True, "data": [1]}
    assert by_page(ROWS, 2, 5, full_means_more=False).has_more is False  # no third page
