"""A compiled yes/no check of a document against a schema (jsonschema-rs): at start-up every fixture
file and every x-endpoint block is checked, and the Rust validator does it ~20x faster than the Python
one. Only a document it refuses goes to the Python validator, whose errors carry the paths and texts
the located problems are made of."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

_BASE: Final = "json-schema:///"  # where jsonschema-rs resolves a relative $id such as _meta/fixture.json

Check = Callable[[Any], bool]


def compiled(schema: dict[str, Any], documents: Callable[[str], Any]) -> Check:
    """`is_valid` of `schema`; its references to other schema files come from `documents(rel)`."""

    import jsonschema_rs  # by the first check compiled: a start-up the load cache vouches for needs none

    def retrieve(uri: str) -> Any:
        return documents(uri.removeprefix(_BASE).lstrip("/"))

    validator = jsonschema_rs.validator_for(schema, retriever=retrieve, validate_formats=False)
    return validator.is_valid
