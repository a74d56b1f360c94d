"""Numbers as pydantic-core reads them in lax mode, for payload/types.py (split off payload/__init__.py along
the noun).

A query string's `limit=1_0` is text, and pydantic-core's grammar for text is neither Python's
int() nor float(): `" 5 "`, `"+5"`, `"0005"`, `"1_0"` and `"2.0"` are ints; `"5."`, `"1.5"`,
`"1e3"`, non-ASCII digits and `""` are not. A float with a fraction is int_from_float, one past
i64 int_parsing_size, inf and nan finite_number. Ported from pydantic-core 2.41.5
src/input/shared.rs (str_as_int, clean_int_str, strip_leading_zeros, strip_underscores,
str_as_float, float_as_int) and jiter 0.11.1 NumberInt::try_from; the same in pydantic 2.11.10,
2.12.5 and 2.14.4 (tests/payload/test_payload_constraints.py)."""

from __future__ import annotations

import math
import re
from typing import Final

# Rust's str::trim strips Unicode White_Space; Python's str.strip() would also strip U+001C-U+001F.
_SPACE: Final = "".join(
    map(
        chr,
        (*range(0x9, 0xE), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000),
    )
)
_JSON_INT: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")  # what jiter reads as an integer, and nothing more
_DIGITS: Final = re.compile(r"-?[1-9][0-9]*")
_RUST_FLOAT: Final = re.compile(r"[+-]?(?:inf|infinity|nan|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?)", re.I)
_LONGEST: Final = 4300  # characters; jiter's limit, and CPython's int_max_str_digits
_I64: Final = float(2**63)  # i64::MAX as f64


class NotANumber(ValueError):
    """The text or float is not one: `kind` is pydantic's error type."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def int_from_text(text: str) -> int:
    """str_as_int: the text as JSON reads it, else cleaned (spaces, '+', leading zeros, '.0', '_')."""
    run = _DIGITS.match(text)
    if run is not None and len(run.group()) > _LONGEST:
        raise NotANumber("int_parsing_size")
    if _JSON_INT.fullmatch(text):
        return int(text)
    cleaned = _cleaned(text)
    if cleaned is None or len(cleaned) > _LONGEST or not _JSON_INT.fullmatch(cleaned):
        raise NotANumber("int_parsing")
    return int(cleaned)


def float_from_text(text: str) -> float:
    """str_as_float: Rust's f64 grammar on the trimmed text, else on the untrimmed text less its '_'."""
    trimmed = text.strip(_SPACE)
    if _RUST_FLOAT.fullmatch(trimmed):
        return float(trimmed)
    unscored = _without_underscores(text)
    if unscored is not None and _RUST_FLOAT.fullmatch(unscored):
        return float(unscored)
    raise NotANumber("float_parsing")


def int_from_float(number: float) -> int:
    if math.isinf(number) or math.isnan(number):
        raise NotANumber("finite_number")
    if not number.is_integer():
        raise NotANumber("int_from_float")
    if -_I64 < number < _I64:
        return int(number)
    raise NotANumber("int_parsing_size")


def _cleaned(text: str) -> str | None:
    """clean_int_str; None when nothing was cleaned (the text was already refused as it is)."""
    rest = text.strip(_SPACE)
    if rest.startswith("+"):
        if rest[1:].startswith("-"):
            return None
        rest = rest[1:]
    sign = ""
    if rest.startswith("-"):
        if rest[1:2] in ("-", "+"):
            return None
        sign, rest = "-", rest[1:]
    stripped = _without_leading_zeros(rest)
    if stripped is None:
        return None
    point = stripped.find(".")
    if point >= 0 and stripped[point + 1 :] and not stripped[point + 1 :].strip("0"):
        stripped = stripped[:point]
    unscored = _without_underscores(stripped)
    if unscored is not None:
        return sign + unscored
    # A negative number always counts as cleaned: its sign was taken off `stripped`.
    return None if len(stripped) == len(text) else sign + stripped


def _without_leading_zeros(text: str) -> str | None:
    """strip_leading_zeros: keeps one zero before a '.' or when all are zeros; None for a non-digit."""
    if not text.startswith("0"):
        return text if text[:1] and text[0] in "123456789-" else None
    for i, char in enumerate(text[1:], 1):
        if char in "0_":
            continue
        if char in "123456789-":
            return text[i:]
        return text[i - 1 :] if char == "." else None
    return text[-1:]


def _without_underscores(text: str) -> str | None:
    """strip_underscores: Python's placement rules (none leading, trailing or doubled), else None."""
    if "_" not in text or text.startswith("_") or text.endswith("_") or "__" in text:
        return None
    return text.replace("_", "")
