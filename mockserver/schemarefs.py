"""Inline a schema's `$ref`s (bundling), so compiled request models and record serialisers never
resolve a reference per request and shared definitions cost nothing on the fast path."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from referencing import Registry

MAX_DEPTH: Final = 32  # a reference cycle is an authoring mistake; stop rather than recurse forever


class Schemas:
    """The catalogue's schema documents by path (`service/send_chat_message.json`), and the `referencing`
    Registry over them, built (and `referencing` imported) when a reference is first resolved: reading
    a document needs neither, and a start-up reads only documents.

    `pending` holds texts known to be JSON (the load cache saw them parse), decoded at their first use:
    most shared documents are read only through the registry, which a start-up does not build, and
    decoded they would hold ~0.5 MiB of an idle server's memory."""

    __slots__ = ("_pending", "_registry", "documents")

    def __init__(self, documents: dict[str, Any], pending: dict[str, str] | None = None) -> None:
        self.documents = documents
        self._pending = pending or {}
        self._registry: Registry[Any] | None = None

    @property
    def registry(self) -> Registry[Any]:
        if self._registry is None:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012

            for rel in list(self._pending):
                self._decoded(rel)
            self._registry = Registry().with_resources(
                (rel, Resource.from_contents(doc, default_specification=DRAFT202012))
                for rel, doc in list(self.documents.items())
            )
        return self._registry

    def contents(self, rel: str) -> Any:
        """The document at `rel` (what Registry.contents gives; an unknown one fails as it fails)."""
        if rel in self.documents:
            return self.documents[rel]
        if rel in self._pending:
            return self._decoded(rel)
        return self.registry.contents(rel)

    def __contains__(self, rel: object) -> bool:
        return rel in self.documents or rel in self._pending

    def _decoded(self, rel: str) -> Any:
        # A --reload loads in a worker thread while requests run: whichever thread decodes a document
        # first, both get that one, and it is in `documents` before it leaves `pending`.
        text = self._pending.get(rel)
        if text is None:
            return self.documents[rel]
        doc = self.documents.setdefault(rel, json.loads(text))
        self._pending.pop(rel, None)
        return doc


def bundled(schema: dict[str, Any], base: str, registry: Registry[Any]) -> dict[str, Any]:
    """`schema` (found in the document `base`) with each `$ref` replaced by what it points at; keys
    beside a `$ref` go over the target's (as 2020-12 applies both)."""
    out: dict[str, Any] = _inline(schema, registry.resolver(base_uri=base), 0)
    return out


def _inline(node: Any, resolver: Any, depth: int) -> Any:  # resolver: referencing's (not exported)
    if isinstance(node, list):
        return [_inline(item, resolver, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if depth >= MAX_DEPTH:
            raise ValueError(f"$ref {ref!r}: references nest deeper than {MAX_DEPTH} (a cycle?)")
        found = resolver.lookup(ref)
        target = _inline(found.contents, found.resolver, depth + 1)
        siblings = {k: _inline(v, resolver, depth) for k, v in node.items() if k != "$ref"}
        return {**target, **siblings} if isinstance(target, dict) else target
    return {k: _inline(v, resolver, depth) for k, v in node.items() if k not in ("$id", "$schema")}
