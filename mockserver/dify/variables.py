"""Conversation variables as Dify types them (core/variables/types.py SegmentType and
factories/variable_factory.py at dify 1.12.0; graphon 0.4.0/0.7.0 behave the same at 1.14.2 and 1.16.1;
/work/research/appkey_misc.md §3-§4): the stored subtype, the type a JSON value is inferred as, the
update check and its texts, and `value` as Dify prints it (Python's str(), not JSON)."""

from __future__ import annotations

import sys
from typing import Any, Final

from mockserver.errors import DifyError

ARRAYS: Final = {"array[string]": str, "array[object]": dict, "array[boolean]": bool}
MAX_VARIABLE_SIZE: Final = 204800  # Dify's default MAX_VARIABLE_SIZE (configs/feature)


def stored_type(declared: str, value: Any) -> str:
    """A `number` is stored as `integer` or `float` after its value; the rest as declared."""
    if declared == "number":
        return "float" if isinstance(value, float) else "integer"
    return declared


def exposed_type(stored: str) -> str:
    return "number" if stored in ("integer", "float") else stored


def shown(value: Any) -> str | None:
    """`value` on the wire: str() of the Python value (`True`, `{'a': 1}`, `['a']`, `1.5`)."""
    return None if value is None else str(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float)  # bool is an int, as in Python


def inferred(value: Any) -> str:
    """SegmentType.infer_segment_type of a JSON value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value) and value:
            return "array[string]"
        if all(_number(v) and not isinstance(v, bool) for v in value):  # [] counts as numbers
            return "array[number]"
        if all(isinstance(v, dict) for v in value):
            return "array[object]"
        if all(isinstance(v, bool) for v in value):
            return "array[boolean]"
        return "array[any]"
    return "unknown"


def _valid(expected: str, value: Any) -> bool:
    if expected in ("string", "secret"):
        return isinstance(value, str)
    if expected in ("number", "float"):
        return _number(value)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array[number]":
        return isinstance(value, list) and all(_number(v) for v in value)
    element = ARRAYS.get(expected)
    return element is not None and isinstance(value, list) and all(isinstance(v, element) for v in value)


def updated(name: str, stored: str, value: Any) -> Any:
    """The value a PUT stores: the type check (400 bad_request "Type mismatch: ..."), then the factory's
    own refusals of a number of the other kind (400 invalid_param "not supported value type ...")."""
    expected = "number" if stored == "integer" else stored
    if not _valid(expected, value):
        raise DifyError(
            "bad_request", f"Type mismatch: variable '{name}' expects {expected}, but got {inferred(value)} type"
        )
    if stored == "integer":
        if isinstance(value, float):
            raise DifyError("invalid_param", "not supported value type integer")
        return int(value)
    if stored == "float" and not isinstance(value, float):
        raise DifyError("invalid_param", "not supported value type float")
    if stored == "array[number]":
        value = [float(v) if isinstance(v, bool) else v for v in value]
    size = sys.getsizeof(value)  # shallow, as the factory measures it (MAX_VARIABLE_SIZE)
    if size > MAX_VARIABLE_SIZE:
        raise DifyError("invalid_param", f"variable size {size} exceeds limit {MAX_VARIABLE_SIZE}")
    return value
