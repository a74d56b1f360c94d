"""dumps(value): orjson's bytes for a value that holds what a client sent, which orjson may refuse.

Request bodies are parsed as Flask parses them (readers.flask_json): integers beyond 64 bits and
nesting down to the interpreter's recursion limit get through, and orjson refuses to write either
(it writes at most 255 levels). What the mock echoes or journals of such a body (a workflow's inputs
in its events, a journal entry) is written with the too-deep part cut and the too-large integers as
their decimal text: the mock never fails on what a client sent. Values orjson takes cost nothing more.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from msgspec import Struct

MAX_DEPTH: Final = 200  # below orjson's 255, leaving room for the envelope a value is written inside
TOO_DEEP: Final = f"(nested deeper than {MAX_DEPTH} levels; not shown)"
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**64 - 1


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=shown)
    except TypeError:
        return orjson.dumps(tame(value), default=shown)


def shown(value: Any) -> Any:
    """orjson's `default`: an object that says how it is written (`__json__`, e.g. a journal entry's
    headers), or a record (a struct) as its fields by name but `_private` ones, as orjson writes a dataclass."""
    if isinstance(value, Struct):
        return {name: getattr(value, name) for name in value.__struct_fields__ if name[0] != "_"}
    show = getattr(type(value), "__json__", None)
    if show is None:
        raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")
    return show(value)


def tame(value: Any, depth: int = 0) -> Any:
    """`value` with what orjson cannot write replaced: containers below MAX_DEPTH by TOO_DEEP,
    integers beyond 64 bits by their text."""
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return TOO_DEEP
        return {k: tame(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return TOO_DEEP
        return [tame(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_MIN <= value <= _INT_MAX:
        return str(value)
    return value
