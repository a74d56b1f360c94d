"""Hypothesis strategies from the JSON Schemas of the served OpenAPI document (the fuzz of
tests/http/test_fuzz.py).

A small generator of its own rather than hypothesis-jsonschema (0.23 breaks on current hypothesis
releases) or schemathesis (which pins jsonschema-rs below the 0.61 this project needs): the served
schemas use few keywords (type, properties, required, enum, items, format, bounds, $ref, anyOf), and
`valid` examples need only be mostly valid, since every answer is checked the same way (no 5xx, errors
in Dify's envelope, bodies conforming to the schema under --strict)."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_TEXT = st.text(string.ascii_letters + string.digits + " -_", max_size=24) | st.text(max_size=24)
_FORMATS = {
    "uuid": st.uuids().map(str),
    "date-time": st.datetimes().map(lambda d: d.isoformat() + "Z"),
    "date": st.dates().map(str),
    "email": st.emails(),
    "uri": st.sampled_from(["https://example.com/a.png", "http://localhost/x"]),
}


def from_schema(schema: Any, root: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values (mostly) valid for `schema`; `$ref`s resolve in `root` (the OpenAPI document)."""
    if not isinstance(schema, dict) or depth > 6:
        return JSON
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return from_schema(target, root, depth + 1)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return st.one_of([from_schema(s, root, depth + 1) for s in schema[combinator]])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part if isinstance(part, dict) else {})
        return from_schema(merged, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": k}, root, depth) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        ints = st.integers(min_value=low, max_value=high)
        if kind == "integer":
            return ints
        return ints | st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        low, high = schema.get("minLength", 0), schema.get("maxLength", 24)
        return st.text(min_size=low, max_size=max(low, min(high, 64)))
    if kind == "array":
        items = from_schema(schema.get("items", {}), root, depth + 1)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=max(low, min(schema.get("maxItems", 3), 3)))
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = [k for k in schema.get("required", []) if k in properties]
        optional = [k for k in properties if k not in required]
        return st.fixed_dictionaries(
            {k: from_schema(properties[k], root, depth + 1) for k in required},
            optional={k: from_schema(properties[k], root, depth + 1) for k in optional},
        )
    return JSON


def broken(schema: Any, root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that miss `schema` somewhere: any JSON, or the schema's object with wrong-typed values and
    unknown keys."""
    properties = list((schema or {}).get("properties", {})) if isinstance(schema, dict) else []
    keys = st.sampled_from([*properties, "unknown_key"]) if properties else st.text(max_size=8)
    return JSON | st.dictionaries(keys, JSON, max_size=6)
