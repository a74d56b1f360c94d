"""Values worked out from an object a scenario hands over unchanged on every request (a constant
template renders the same object each time), remembered by that object's identity."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

V = TypeVar("V")


class ByIdentity(Generic[V]):
    """`value(obj, label)` remembered per (obj, label). An entry holds `obj`, so its id is not reused by
    another object while remembered; objects made anew on each request would only ever miss, so the
    memo forgets everything once it holds `size` entries."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._rows: dict[tuple[int, str], tuple[Any, V]] = {}

    def get(self, obj: Any, label: str) -> V | None:
        known = self._rows.get((id(obj), label))
        return known[1] if known is not None and known[0] is obj else None

    def put(self, obj: Any, label: str, value: V) -> V:
        if len(self._rows) >= self._size:
            self._rows.clear()
        self._rows[(id(obj), label)] = (obj, value)
        return value
