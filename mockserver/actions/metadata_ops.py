"""POST /v1/datasets/{dataset_id}/documents/metadata: each operation sets one document's metadata values
and its bindings to fields (MetadataService.update_documents_metadata at dify 1.12.0, 1.14.2 and
1.16.1; research/knowledge_segments_metadata.md §4.6, §5 M2-M4).

1.16 checks every field and document before it writes anything, and stores a value under the field's
name. 1.12 and 1.14 take the ids as plain text and store a value under the name the client gives;
they commit operation by operation, so what went before a failing one stays: 1.14 then answers the
error (Document not found. is a 400; an id Postgres cannot read as a uuid, a 500), 1.12 swallows it
(an unknown document is skipped; after a database error the aborted transaction fails every later
operation, the bindings of the failing one included, but not its values, committed just before)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from msgspec import Struct
from msgspec.structs import replace

from mockserver.actions import ActContext, Action
from mockserver.actions.doc_metadata import built_in_values, write_values
from mockserver.actions.knowledge import dataset_of, the_dataset, updated_at
from mockserver.actions.serialize import body
from mockserver.dify.postgres import pg_uuid
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.state.knowledge import Dataset, Document

NO_DOCUMENT: Final = "Document not found."


class _Shadow(Struct):
    """A document's values and bindings as the operations so far leave them."""

    document: Document
    values: dict[str, Any]
    ids: list[str]
    updated_at: int


class _NoUuid(Exception):
    """Postgres refused a metadata id as a uuid (the binding's insert or lookup fails); `written` is the
    document as the operation left it before its bindings."""

    def __init__(self, text: str, written: _Shadow) -> None:
        super().__init__(text)
        self.written = written


def _operate(
    ctx: ActContext,
    dataset: Dataset,
    before: _Shadow,
    op: dict[str, Any],
    key_of: Callable[[dict[str, Any]], str],
    id_of: Callable[[dict[str, Any]], str | None],
) -> _Shadow:
    """One operation: the values start empty (or from the stored ones with partial_update), each detail
    sets its key, the built-ins are rewritten when on; the bindings are replaced, or with partial_update
    only the missing ones added (a repeated id once; without it, as often as given)."""
    partial = bool(op.get("partial_update", False))
    details: list[dict[str, Any]] = op["metadata_list"]
    values = copy.deepcopy(before.values) if partial else {}
    for detail in details:
        values[key_of(detail)] = detail.get("value")
    if dataset.built_in_field_enabled:
        values.update(built_in_values(ctx, replace(before.document, updated_at=before.updated_at)))
    written = _Shadow(before.document, values, before.ids, ctx.now if values != before.values else before.updated_at)
    ids = list(before.ids) if partial else []
    for detail in details:
        found = id_of(detail)
        if found is None:
            raise _NoUuid(detail["id"], written)
        if not (partial and found in ids):
            ids.append(found)
    written.ids = ids
    return written


def _shadow(ctx: ActContext, shadows: dict[str, _Shadow], document: Document) -> _Shadow:
    found = shadows.get(document.id)
    if found is None:
        values, ids = dict(document.doc_metadata), list(document.metadata_ids)
        found = _Shadow(document, values, ids, updated_at(ctx, document))
    return found


def _apply(ctx: ActContext, shadows: dict[str, _Shadow]) -> None:
    for shadow in shadows.values():
        write_values(ctx, shadow.document, shadow.values)
        shadow.document.metadata_ids = shadow.ids


def _checked(ctx: ActContext) -> None:
    """1.16: every field, then every document, before anything is written (404s); then the plan."""
    dataset = dataset_of(ctx)
    ops: list[dict[str, Any]] = ctx.call.payload["operation_data"]
    wanted = {d["id"] for op in ops for d in op["metadata_list"]}
    fields = {f.id: f for f in ctx.tenant.state.metadata_fields.where(dataset_id=dataset.id) if f.id in wanted}
    if wanted != set(fields):
        raise DifyError("not_found", "Metadata not found.")
    documents = ctx.tenant.state.documents
    found = [documents.get(op["document_id"], dataset_id=dataset.id) for op in ops]
    if any(d is None for d in found):
        raise DifyError("not_found", NO_DOCUMENT)
    shadows: dict[str, _Shadow] = {}
    for op, document in zip(ops, found, strict=True):
        assert document is not None
        before = _shadow(ctx, shadows, document)
        shadows[document.id] = _operate(ctx, dataset, before, op, lambda d: fields[d["id"]].name, lambda d: d["id"])
    ctx.bound["shadows"] = shadows


def _legacy(ctx: ActContext) -> None:
    """1.12/1.14: operation by operation, the client's `name` as the key, any id Postgres reads bound."""
    dataset, release = dataset_of(ctx), ctx.call.release.name
    refuses = compare(release, ">=1.14")  # 1.12 swallows every operation's failure
    shadows: dict[str, _Shadow] = {}
    ctx.bound["shadows"] = shadows
    for op in ctx.call.payload["operation_data"]:
        given = op["document_id"]
        canonical = pg_uuid(given) if given else ""
        if canonical is None:
            if refuses:
                _apply(ctx, shadows)
                raise DifyError("unknown", note=f"document_id {given!r} is no uuid to Postgres: Dify's query fails")
            return  # the aborted transaction fails every later operation
        document = ctx.tenant.state.documents.get(canonical, dataset_id=dataset.id) if canonical else None
        if document is None:
            if refuses:
                _apply(ctx, shadows)
                raise DifyError("invalid_param", NO_DOCUMENT)
            continue
        try:
            shadows[document.id] = _operate(
                ctx, dataset, _shadow(ctx, shadows, document), op, lambda d: str(d["name"]), lambda d: pg_uuid(d["id"])
            )
        except _NoUuid as exc:
            if refuses:
                _apply(ctx, shadows)
                raise DifyError(
                    "unknown", note=f"metadata id {str(exc)!r} is no uuid to Postgres: the binding fails"
                ) from None
            shadows[document.id] = exc.written  # its values were committed before the bindings
            return


def _plan(ctx: ActContext) -> None:
    if compare(ctx.call.release.name, ">=1.16"):
        _checked(ctx)
    else:
        _legacy(ctx)


def _result(ctx: ActContext) -> dict[str, Any]:
    return {"result": body(ctx, {})}


def _commit(ctx: ActContext, _body: Any) -> None:
    _apply(ctx, ctx.bound["shadows"])


update_documents: Final = Action(
    "metadata.update_documents", _result, _commit, checks=(("dataset", the_dataset), ("operations", _plan))
)
