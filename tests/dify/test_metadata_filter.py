"""Metadata filtering as Dify's SQL over doc_metadata decides it (mockserver/dify/metadata_filter.py;
research/knowledge_retrieval_pipeline.md §2.5): the 18 operators, and/or, null values, missing keys,
and the statements Postgres refuses."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.dify.metadata_filter import OPERATORS, FilterError, as_text, select

DOCS: dict[str, dict[str, Any] | None] = {
    "report": {"author": "Alice Smith", "year": 2023, "score": 4.5, "tags": "red", "date": 1700000000},
    "memo": {"author": "bob", "year": "2021", "score": 3, "tags": "blue", "date": 1600000000},
    "blank": {"author": None},
    "bare": None,
}


def names(conditions: list[dict[str, Any]], logical: str | None = "and") -> list[str]:
    return select(list(DOCS), DOCS.__getitem__, conditions, logical)


def one(name: str, op: str, value: Any = None) -> list[str]:
    return names([{"name": name, "comparison_operator": op, "value": value}])


def test_there_are_difys_eighteen_operators() -> None:
    assert len(OPERATORS) == 18 and len(set(OPERATORS)) == 18


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("contains", "Smith", ["report"]),
        ("contains", "smith", []),  # LIKE is case-sensitive
        ("contains", "%", []),  # a literal: LIKE's wildcards are escaped
        ("not contains", "Smith", ["memo"]),  # no key, or a JSON null, fails it too
        ("start with", "Ali", ["report"]),
        ("end with", "ob", ["memo"]),
        ("is", "bob", ["memo"]),
        ("is not", "bob", ["report"]),
    ],
)
def test_text_operators(op: str, value: Any, expected: list[str]) -> None:
    assert one("author", op, value) == expected


def test_is_and_equals_compare_text_for_a_string_and_floats_for_a_number() -> None:
    assert one("year", "is", "2021") == ["memo"]
    assert one("year", "=", 2021) == ["memo"]  # the stored "2021" cast to a float
    assert one("year", "=", "2023") == ["report"]  # 2023 as text
    assert one("year", "≠", 2021) == ["report"]
    assert one("score", "=", 4.5) == ["report"]
    assert one("score", "is", ["4.5"]) == list(DOCS)  # a list matches no branch: no filter at all


def test_empty_is_an_absent_key_and_json_null_counts_as_present() -> None:
    assert one("author", "empty") == ["bare"]
    assert one("author", "not empty") == ["report", "memo", "blank"]
    assert one("tags", "empty", "ignored") == ["blank", "bare"]


def test_in_reads_a_comma_list_a_list_or_one_number() -> None:
    assert one("tags", "in", " red , ,green") == ["report"]
    assert one("tags", "in", ["blue", None]) == ["memo"]
    assert one("tags", "not in", "red") == ["memo"]
    assert one("year", "in", 2023) == ["report"]


def test_an_empty_list_is_false_for_in_and_true_for_not_in_on_every_document() -> None:
    assert one("tags", "in", " , ") == []
    assert one("tags", "not in", []) == list(DOCS)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        (">", 4, ["report"]),
        ("<", 4, ["memo"]),
        ("≥", 3, ["report", "memo"]),
        ("≤", 3, ["memo"]),
        ("before", 1650000000, ["memo"]),
        ("after", "1650000000", ["report"]),  # text Postgres reads as a float
    ],
)
def test_ordering_operators_compare_floats(op: str, value: Any, expected: list[str]) -> None:
    field = "date" if op in ("before", "after") else "score"
    assert one(field, op, value) == expected


def test_a_null_value_adds_no_filter_and_no_filter_lets_everything_through() -> None:
    assert one("author", "contains", None) == list(DOCS)
    assert names([]) == list(DOCS)


def test_and_needs_every_filter_anything_else_any() -> None:
    conditions = [
        {"name": "tags", "comparison_operator": "is", "value": "red"},
        {"name": "author", "comparison_operator": "is", "value": "bob"},
    ]
    assert names(conditions, "and") == []
    assert names(conditions, "or") == ["report", "memo"]
    assert names(conditions, None) == ["report", "memo"]  # null is not "and"


def test_what_postgres_refuses() -> None:
    with pytest.raises(FilterError, match='invalid input syntax for type double precision: "soon"'):
        one("date", "before", "soon")
    with pytest.raises(FilterError, match=r"operator does not exist: double precision >= text\[\]"):
        one("date", "≥", ["1"])
    with pytest.raises(FilterError, match='double precision: "Alice Smith"'):
        one("author", ">", 1)  # a stored text that is no number, cast for the comparison


def test_as_text_is_jsonbs_text() -> None:
    meta = {"s": "x", "i": 5, "f": 5.0, "b": True, "n": None, "o": {"a": [1, 2]}}
    assert [as_text(meta, k) for k in ("s", "i", "f", "b", "n", "o", "missing")] == [
        "x",
        "5",
        "5.0",
        "true",
        None,
        '{"a": [1, 2]}',
        None,
    ]
