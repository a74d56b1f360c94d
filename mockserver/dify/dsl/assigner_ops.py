"""The type rules and operations of the v2 `assigner` node (assigner.py runs it): graphon
`src/graphon/nodes/variable_assigner/v2/helpers.py` and `node.py` `_handle_item`, with segment types
as `src/graphon/variables/factory.py` `build_segment` infers them and `types.py` `get_zero_value`
(v0.4.0 = v0.7.0: Dify 1.14.2-1.16.1). Types are SegmentType values ("string", "integer", "float",
"array[string]", ...); operations the DSL's (`over-write`, `+=`, `remove-first`, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

NUMERIC: Final = frozenset({"number", "integer", "float"})
ARITHMETIC: Final = frozenset({"+=", "-=", "*=", "/="})
NO_VALUE: Final = frozenset({"clear", "remove-first", "remove-last"})  # never read an input
ARRAY_ONLY: Final = frozenset({"append", "extend", "remove-first", "remove-last"})
SCALAR_INPUT: Final[dict[str, type | tuple[type, ...]]] = {"string": str, "boolean": bool, "object": dict}
# v2/helpers.py _ARRAY_APPEND_INPUT_TYPES (a bool passes as an int, as isinstance says in Python)
ELEMENT: Final[dict[str, type | tuple[type, ...]]] = {
    "array[any]": (str, float, int, dict),
    "array[string]": str,
    "array[number]": (int, float),
    "array[object]": dict,
    "array[boolean]": bool,
}
ZERO: Final[dict[str, Any]] = {"object": {}, "string": "", "integer": 0, "float": 0.0, "number": 0, "boolean": False}


class AssignError(Exception):
    """An item the node refuses: the node fails with this text (VariableOperatorNodeError and the
    ValueError of get_zero_value alike)."""


def segment_type(value: Any) -> str:
    """graphon's build_segment: the type of a value the pool holds without a declared type."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        kinds = {segment_type(v) for v in value}
        if all(isinstance(v, list | tuple) for v in value):  # [] too
            return "array[any]"
        if len(kinds) != 1:
            return "array[number]" if kinds <= NUMERIC else "array[any]"
        kind = kinds.pop()
        return {"string": "array[string]", "boolean": "array[boolean]", "object": "array[object]"}.get(
            kind, "array[number]" if kind in NUMERIC else "array[any]"
        )
    return "none"


def zero(kind: str) -> Any:
    if kind in ELEMENT:  # every array type but array[file]
        return []
    if kind in ZERO:
        return dict(ZERO[kind]) if kind == "object" else ZERO[kind]
    raise AssignError(f"unsupported variable type: {kind}")


def supported(kind: str, op: str) -> bool:
    """helpers.is_operation_supported."""
    if op in ("over-write", "clear"):
        return True
    if op == "set":
        return kind in NUMERIC or kind in SCALAR_INPUT
    if op in ARITHMETIC:
        return kind in NUMERIC
    return op in ARRAY_ONLY and kind.startswith("array")


def constant_supported(kind: str, op: str) -> bool:
    """helpers.is_constant_input_supported: never for an array, whatever the operation."""
    if kind in SCALAR_INPUT:
        return op in ("over-write", "set")
    return kind in NUMERIC and (op in ("over-write", "set") or op in ARITHMETIC)


def valid(kind: str, op: str, value: Any) -> bool:
    """helpers.is_input_value_valid."""
    if op in NO_VALUE:
        return True
    if kind in NUMERIC:
        return isinstance(value, int | float) and not (op == "/=" and value == 0)
    scalar = SCALAR_INPUT.get(kind)
    if scalar is not None and isinstance(value, scalar):
        return True
    element = ELEMENT.get(kind)
    if element is None:
        return False
    if op == "append":
        return isinstance(value, element)
    return op in ("extend", "over-write") and isinstance(value, list) and all(isinstance(v, element) for v in value)


def result(kind: str, op: str, current: Any, value: Any) -> Any:
    """`_handle_item`: Python's own arithmetic (an integer divided is a float; the type stays)."""
    if op in ("over-write", "set"):
        return value
    if op == "clear":
        return zero(kind)
    if op == "append":
        return [*current, value]
    if op in ("extend", "+="):
        return current + value
    if op == "-=":
        return current - value
    if op == "*=":
        return current * value
    if op == "/=":
        return current / value
    if not current:  # remove-first / remove-last of an empty array: unchanged
        return current
    return current[1:] if op == "remove-first" else current[:-1]
