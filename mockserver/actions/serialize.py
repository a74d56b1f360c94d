"""Records -> response bodies through the response schema (moto's serialize step): the record schema's
property order gives the keys, a record attribute of the same name the value, else a view (a
computed field), else the property's `default`. `x-since: "1.14"` marks a field that releases before
it do not send, so one schema serves every emulated release; `x-optional: true` one that is sent only
when the action's view supplies it."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from mockserver.state.pagination import Page

if TYPE_CHECKING:
    from mockserver.actions import ActContext

View = Callable[[Any], Any]  # a computed field: the record -> its value


def serialize(record: Any, schema: Mapping[str, Any], release: str, views: Mapping[str, View] | None = None) -> Any:
    """`record` (a struct, a dict or a plain value) as the schema shapes it."""
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(props, Mapping):
        return _plain(record)
    views = views or {}
    out: dict[str, Any] = {}
    for name, sub in props.items():
        if not _sent(sub, release):
            continue
        if name in views:
            value = views[name](record)
        elif _optional(sub):
            continue  # sent only when a view supplies it (a dataset's partial_member_list)
        elif _has(record, name):
            value = _get(record, name)
        elif isinstance(sub, Mapping) and "default" in sub:
            value = copy.deepcopy(sub["default"])  # never share a mutable default between bodies
        else:
            value = None
        out[name] = _nested(value, sub, release)
    return out


def _nested(value: Any, schema: Any, release: str) -> Any:
    if not isinstance(schema, Mapping):
        return _plain(value)
    if value is None and schema.get("type") == "object" and "properties" in schema:
        # A nested object that may not be null: Dify marshals a None there as an object of nulls
        # (flask-restx Nested without allow_null; 1.16's _expand_null_nested).
        return serialize({}, schema, release)
    if isinstance(value, list | tuple) and isinstance(schema.get("items"), Mapping):
        return [serialize(v, schema["items"], release) for v in value]
    if value is not None and not isinstance(value, str | int | float | bool) and "properties" in schema:
        return serialize(value, schema, release)
    return _plain(value)


def _optional(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("x-optional") is True


def _sent(schema: Any, release: str) -> bool:
    since = schema.get("x-since") if isinstance(schema, Mapping) else None
    return since is None or _version(release) >= _version(str(since))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def _has(record: Any, name: str) -> bool:
    return name in record if isinstance(record, Mapping) else hasattr(record, name)


def _get(record: Any, name: str) -> Any:
    return record[name] if isinstance(record, Mapping) else getattr(record, name)


def _plain(value: Any) -> Any:
    """A JSON-ready copy: structs become dicts; nothing of a record is shared with the body."""
    if isinstance(value, msgspec.Struct):
        return {k: _plain(v) for k, v in msgspec.structs.asdict(value).items()}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def body(ctx: ActContext, record: Any, views: Mapping[str, View] | None = None) -> Any:
    """`record` through the endpoint's record schema, as the request's release sends it."""
    return serialize(record, ctx.call.spec.record_schema or {}, ctx.call.release.name, views)


def page_body(ctx: ActContext, page: Page, views: Mapping[str, View] | None = None) -> dict[str, Any]:
    return page.envelope([body(ctx, item, views) for item in page.items])
