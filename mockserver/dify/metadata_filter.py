"""Metadata filtering of a retrieval: which documents a `metadata_filtering_conditions` block lets
through, as Dify's SQL over the `documents.doc_metadata` JSONB column decides it
(core/rag/retrieval/dataset_retrieval.py get_metadata_filter_condition and
process_metadata_filter_func, the same at 1.12.0, 1.14.2 and 1.16.1;
research/knowledge_retrieval_pipeline.md §2.5).

A document's metadata is its doc_metadata: values (str, int, float or null) by field NAME. Dify reads
a value two ways: `->>` as text (`as_string()`: a string as is, a number as JSON writes it, JSON null
and a missing key SQL NULL) and that text cast to double precision (`as_float()`). Per operator:

    contains / not contains / start with / end with   text LIKE the value as a literal (str() of it)
    is, = / is not, ≠     a str value: text = / <>; a number: float = / <>; a list: no filter at all
    empty / not empty     the key absent / present (a key holding JSON null is present)
    in / not in           text IN the value's list: a str split on commas (stripped, blanks dropped),
                          a list's non-null items as str, a number as one str; an empty list is
                          false for `in` and true for `not in` on every document
    <, before / >, after / ≤ / ≥    float comparisons (`before`/`after` are `<`/`>` on Unix seconds)

A condition whose value is null adds no filter, except `empty` and `not empty`. SQL's NULL makes a
document without the key fail every condition but `empty` (`not contains`, `is not` and `not in`
included). The filters are ANDed when `logical_operator` is "and", else ORed (null included); none at
all lets every document through.

Where Postgres would refuse the statement Dify answers 500 internal_server_error with the driver's
text, here FilterError: a comparison value that is no float (`invalid input syntax for type double
precision`), a list compared with `<` (`operator does not exist`), or a document whose value a float
comparison must cast and cannot. ⚠ Dify's message goes on with the SQL statement; only its first
line is reproduced."""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

T = TypeVar("T")
Metadata = Mapping[str, Any] | None
Predicate = Callable[[Metadata], bool]

OPERATORS: Final = (
    "contains",
    "not contains",
    "start with",
    "end with",
    "is",
    "is not",
    "empty",
    "not empty",
    "in",
    "not in",
    "=",
    "≠",
    ">",
    "<",
    "≥",
    "≤",
    "before",
    "after",
)
_PRESENCE: Final = ("empty", "not empty")
_ORDER: Final[dict[str, tuple[str, Callable[[float, float], bool]]]] = {
    "<": ("<", operator.lt),
    "before": ("<", operator.lt),
    ">": (">", operator.gt),
    "after": (">", operator.gt),
    "≤": ("<=", operator.le),
    "≥": (">=", operator.ge),
}
# Postgres's float8 input: optional blanks and sign, a decimal or exponent number, or the words.
_FLOAT8: Final = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)\s*", re.IGNORECASE)
_BAD_FLOAT: Final = '(psycopg2.errors.InvalidTextRepresentation) invalid input syntax for type double precision: "{}"'
_NO_OPERATOR: Final = "(psycopg2.errors.UndefinedFunction) operator does not exist: double precision {} text[]"


class FilterError(Exception):
    """The statement Postgres refuses: Dify's 500 internal_server_error with this text."""


def _float8(text: str) -> float:
    if not _FLOAT8.fullmatch(text):
        raise FilterError(_BAD_FLOAT.format(text))
    return float(text)  # Python reads every text the pattern lets through as Postgres does


def as_text(metadata: Metadata, name: str) -> str | None:
    """`doc_metadata ->> name`: None for SQL NULL."""
    if not metadata or name not in metadata:
        return None
    value = metadata[name]
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)  # jsonb's text of a number, list or object


def as_float(metadata: Metadata, name: str) -> float | None:
    """`CAST(doc_metadata ->> name AS FLOAT)`: None for SQL NULL; text that is no number fails."""
    text = as_text(metadata, name)
    return None if text is None else _float8(text)


def _present(metadata: Metadata, name: str) -> bool:
    return bool(metadata) and name in metadata  # type: ignore[operator]


def _like(name: str, value: Any, test: Callable[[str, str], bool]) -> Predicate:
    needle = str(value)
    return lambda meta: (text := as_text(meta, name)) is not None and test(text, needle)


def _equality(name: str, value: Any, equal: bool) -> Predicate | None:
    if isinstance(value, str):
        return lambda meta: (text := as_text(meta, name)) is not None and (text == value) is equal
    if isinstance(value, int | float):
        return lambda meta: (number := as_float(meta, name)) is not None and (number == value) is equal
    return None  # a list matches neither branch of Dify's `match`: no filter


def _members(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _membership(name: str, value: Any, inside: bool) -> Predicate:
    members = _members(value)
    if not members:
        return lambda meta: not inside  # `field IN ()` is false, `NOT IN ()` true
    return lambda meta: (text := as_text(meta, name)) is not None and (text in members) is inside


def _ordering(name: str, op: str, value: Any) -> Predicate:
    symbol, compare = _ORDER[op]
    if isinstance(value, list | tuple):
        raise FilterError(_NO_OPERATOR.format(symbol))
    bound = _float8(value) if isinstance(value, str) else float(value)
    return lambda meta: (number := as_float(meta, name)) is not None and compare(number, bound)


def predicate(name: str, op: str, value: Any) -> Predicate | None:
    """One condition's filter, or None when it adds none (a null value, a list for `is`)."""
    if value is None and op not in _PRESENCE:
        return None
    if op == "contains":
        return _like(name, value, lambda text, needle: needle in text)
    if op == "not contains":
        return _like(name, value, lambda text, needle: needle not in text)
    if op == "start with":
        return _like(name, value, str.startswith)
    if op == "end with":
        return _like(name, value, str.endswith)
    if op in ("is", "=", "is not", "≠"):
        return _equality(name, value, op in ("is", "="))
    if op in _PRESENCE:
        return lambda meta: _present(meta, name) is (op == "not empty")
    if op in ("in", "not in"):
        return _membership(name, value, op == "in")
    if op in _ORDER:
        return _ordering(name, op, value)
    return None  # Dify's `case _: pass`


def select(
    items: Sequence[T],
    metadata: Callable[[T], Metadata],
    conditions: Sequence[Mapping[str, Any]],
    logical_operator: str | None,
) -> list[T]:
    """The items (candidate documents, in order) whose metadata passes the conditions
    (`{name, comparison_operator, value}`): every filter when `logical_operator` is "and", else any.
    Every filter is evaluated on every item, so a value a float comparison cannot cast fails the same
    way whatever the order. FilterError where Postgres would refuse (module docstring)."""
    filters = [
        found
        for c in conditions
        if (found := predicate(str(c.get("name")), str(c.get("comparison_operator")), c.get("value"))) is not None
    ]
    if not filters:
        return list(items)
    combine = all if logical_operator == "and" else any
    return [item for item in items if combine([f(metadata(item)) for f in filters])]
