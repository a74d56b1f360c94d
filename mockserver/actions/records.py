"""Generic record actions for plain CRUD routes: `record.get`, `record.list` and `record.delete` on the
collection the schema names (`x-endpoint.collection`), owned by the caller (the collection's owner
keys: app and end user). A route whose Dify rule is nothing more costs a schema and no Python."""

from __future__ import annotations

from typing import Any

from mockserver.actions import ActContext, Action
from mockserver.actions.serialize import body, page_body
from mockserver.actions.users import owner
from mockserver.state import pagination
from mockserver.state.collection import Collection


def _collection(ctx: ActContext) -> Collection[Any]:
    name = ctx.call.spec.collection
    if name is None:
        raise ValueError(f"{ctx.call.spec.id}: a record.* action needs x-endpoint.collection")
    return ctx.tenant.state.collection(name)


def _mine(ctx: ActContext, found: Collection[Any]) -> dict[str, str]:
    app, user = owner(ctx)
    return {k: v for k, v in (("app", app), ("user", user)) if k in found.owners}


def _the_record(ctx: ActContext) -> None:
    """The record the path names (its one parameter), the caller's own, else the collection's 404."""
    found = _collection(ctx)
    (wanted,) = ctx.call.path.values()
    ctx.bound["record"] = found.require(wanted.lower(), **_mine(ctx, found))


def get(ctx: ActContext) -> dict[str, Any]:
    return {"result": body(ctx, ctx.bound["record"])}


def listed(ctx: ActContext) -> dict[str, Any]:
    """The caller's records, oldest first, paged as the schema's `pagination` says."""
    found = _collection(ctx)
    rows = found.where(**_mine(ctx, found))
    p, style = ctx.call.params, ctx.call.spec.pagination
    limit = int(p.get("limit") or 20)
    created = lambda r: (r.created_at, r.created_seq)  # noqa: E731
    if style == "page":
        page = pagination.by_page(rows, int(p.get("page") or 1), limit)
    elif style == "first_id":
        page = pagination.by_first_id(rows, created, p.get("first_id") or None, limit, found.missing)
    else:
        page = pagination.by_last_id(rows, created, True, p.get("last_id") or None, limit, found.missing)
    return {"result": page_body(ctx, page)}


def delete(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    record = ctx.bound["record"]
    if hasattr(record, "deleted"):
        record.deleted = True
    else:
        _collection(ctx).remove(record.id)


ACTIONS = (
    Action("record.get", get, checks=(("record", _the_record),)),
    Action("record.list", listed),
    Action("record.delete", delete, _commit_delete, checks=(("record", _the_record),)),
)
