"""Constraints: the JSON Schema keywords that narrow a value, for payload/types.py (split off payload/__init__.py
along the noun), checked as pydantic-core checks the Field() arguments they stand for, with its messages:

    multipleOf                               multiple_of                   multiple_of
    maximum, exclusiveMaximum                le, lt                        less_than_equal, less_than
    minimum, exclusiveMinimum                ge, gt                        greater_than_equal, greater_than
    minLength, maxLength, pattern (strings)  min_length, max_length, pattern  string_too_short, ...
    minItems, maxItems (arrays)              min_length, max_length        too_short, too_long

pydantic-core 2.41.5 src/validators/{int,float,string}.rs: one failure per value, the first in
the order above; a nan fails every bound; a bound prints as Rust prints a number (a float field's
1 as "1", 1e-07 as "0.0000001"); a pattern is Rust's regex, searched, whose `$` ends the text
only. An array's maximum counts the input before its items are read, its minimum after (list_of)."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, TypeGuard

Failure = tuple[str, str]  # pydantic's error type and message
Constraint = Callable[[Any], Failure | None]

_BOUNDS: Final = (
    ("maximum", "less_than_equal", "less than or equal to", operator.le),
    ("exclusiveMaximum", "less_than", "less than", operator.lt),
    ("minimum", "greater_than_equal", "greater than or equal to", operator.ge),
    ("exclusiveMinimum", "greater_than", "greater than", operator.gt),
)


def numeric(schema: dict[str, Any], real: bool) -> list[Constraint]:
    """An integer's (or, `real`, a number's) constraints; a number field compares as f64 does."""
    found: list[Constraint] = []
    step = schema.get("multipleOf")
    if _is_number(step) and step > 0:
        found.append(_multiple_of(float(step) if real else step))
    for keyword, kind, words, holds in _BOUNDS:
        bound = schema.get(keyword)
        if _is_number(bound):  # a draft-4 boolean exclusiveMinimum is no bound
            bound = float(bound) if real else bound
            found.append(_bound((kind, f"Input should be {words} {shown(bound)}"), holds, bound))
    return found


def text(schema: dict[str, Any]) -> list[Constraint]:
    """A string's constraints; lengths count characters, as Python's len() does."""
    found: list[Constraint] = []
    low, high, pattern = schema.get("minLength"), schema.get("maxLength"), schema.get("pattern")
    if _is_count(low):
        found.append(_length(operator.lt, low, ("string_too_short", f"String should have at least {_many(low)}")))
    if _is_count(high):
        found.append(_length(operator.gt, high, ("string_too_long", f"String should have at most {_many(high)}")))
    if isinstance(pattern, str):
        found.append(_pattern(pattern))
    return found


def items(schema: dict[str, Any]) -> tuple[int | None, int | None]:
    """An array's (minItems, maxItems)."""
    low, high = schema.get("minItems"), schema.get("maxItems")
    return (low if _is_count(low) else None), (high if _is_count(high) else None)


def too_short(low: int, count: int) -> Failure:
    return "too_short", f"List should have at least {_many(low, 'item')} after validation, not {count}"


def too_long(high: int, count: int) -> Failure:
    return "too_long", f"List should have at most {_many(high, 'item')} after validation, not {count}"


def shown(number: float) -> str:
    """A number as Rust's Display prints it: an int's digits; a float's shortest digits, never an
    exponent and no '.0' (1.0 is "1")."""
    if isinstance(number, int) or math.isinf(number):
        return str(number)
    if math.isnan(number):
        return "NaN"
    digits = format(Decimal(repr(number)), "f")
    return digits.rstrip("0").rstrip(".") if "." in digits else digits


def rust_regex(pattern: str) -> re.Pattern[str]:
    """The pattern as Python's re, with Rust's `$` (the end of the text, unless multi-line): Python's
    would also match before a final newline, and "abc\\n" would pass `^[a-z]+$`."""
    compiled = re.compile(pattern)
    if compiled.flags & re.MULTILINE:
        return compiled
    out, i, in_class = [], 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":  # a ']' first in a class, after any '^', is literal
            in_class, opening = True, re.match(r"\[\^?\]?", pattern[i:])
            char = opening.group() if opening else char
            i += len(char) - 1
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _many(count: int, noun: str = "character") -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _bound(failure: Failure, holds: Callable[[Any, Any], bool], bound: float) -> Constraint:
    return lambda value: None if holds(value, bound) else failure


def _length(fails: Callable[[int, int], bool], limit: int, failure: Failure) -> Constraint:
    return lambda value: failure if fails(len(value), limit) else None


def _multiple_of(step: float) -> Constraint:
    failure = ("multiple_of", f"Input should be a multiple of {shown(step)}")

    def check(value: Any) -> Failure | None:
        if isinstance(value, int) and isinstance(step, int):
            return failure if value % step else None
        quotient = value / step  # f64: within 1e-9 of a multiple, and an inf or nan quotient passes
        if not math.isfinite(quotient):
            return None
        return failure if abs(value - round(quotient) * step) > 1e-9 else None

    return check


def _pattern(pattern: str) -> Constraint:
    regex, failure = rust_regex(pattern), ("string_pattern_mismatch", f"String should match pattern '{pattern}'")
    return lambda value: None if regex.search(value) else failure
