"""Copies schemas/ definitions into one OpenAPI `components/schemas`, rewriting every `$ref` to point
inside the document, so a published document resolves offline."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import unquote

COMPONENTS: Final = "#/components/schemas/"
# Keywords whose value maps names to subschemas: the names are data, never keywords to strip.
_NAMED: Final = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
# Keywords whose value is instance data: a `$ref` or an `x-` key in there is a value, not a schema.
_DATA: Final = frozenset({"const", "enum", "default", "examples", "example"})
# A bundled copy drops its document's identity: an `$id` inside a component would re-base every
# `#/components/...` reference under it; `$defs` are bundled one by one, as they are referenced.
_DROPPED: Final = frozenset({"$id", "$schema", "$defs"})
_BAD_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


class Bundle:
    """`schema(node, base)` gives a copy of `node` (from the document at `base`, e.g.
    `service/run_workflow.json`) whose references all point into `components`."""

    def __init__(self, contents: Callable[[str], Any]) -> None:
        self._contents = contents  # a schema document by its path under schemas/
        self.components: dict[str, Any] = {}
        self._names: dict[tuple[str, str], str] = {}

    def schema(self, node: Any, base: str) -> Any:
        if isinstance(node, list):
            return [self.schema(item, base) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            # `x-` keys are the mock's own annotations (x-pydantic, x-message): not Dify's contract.
            if key in _DROPPED or key.startswith("x-"):
                continue
            if key == "$ref" and isinstance(value, str):
                out[key] = self.ref(value, base)
            elif key in _NAMED and isinstance(value, dict):
                out[key] = {name: self.schema(sub, base) for name, sub in value.items()}
            elif key in _DATA:
                out[key] = value
            else:
                out[key] = self.schema(value, base)
        return out

    def ref(self, ref: str, base: str) -> str:
        """The component `ref` (relative to the document `base`) is bundled as; bundles it once."""
        url, _, fragment = ref.partition("#")
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(base), url)) if url else base
        key = (rel, fragment)
        if key not in self._names:
            name = self._name(rel, fragment)
            self._names[key] = name
            self.components[name] = {}  # claimed first, so a schema that refers to itself ends
            self.components[name] = self.schema(_pointer(self._contents(rel), fragment, ref), rel)
        return COMPONENTS + self._names[key]

    def _name(self, rel: str, fragment: str) -> str:
        # `_shared/responses.json#/$defs/chat_blocking` -> `responses.chat_blocking`: readable in
        # generated clients, and unique because each part of the file path and pointer is kept.
        parts = [p for p in rel.removesuffix(".json").split("/") if p != "_shared"]
        parts += [unquote(p).replace("~1", "/").replace("~0", "~") for p in fragment.split("/") if p]
        name = ".".join(_BAD_NAME.sub("_", p) for p in parts if p != "$defs") or "schema"
        taken, n = set(self._names.values()), 2
        unique = name
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        return unique


def _pointer(document: Any, fragment: str, ref: str) -> Any:
    """The node at the JSON pointer `fragment` (`/$defs/x`); anchors are not used in schemas/."""
    if fragment and not fragment.startswith("/"):
        raise ValueError(f"$ref {ref!r}: only JSON-pointer fragments are bundled")
    node = document
    for raw in filter(None, fragment.split("/")):
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"$ref {ref!r} does not resolve") from None
    return node
