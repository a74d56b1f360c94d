"""Knowledge API metadata: a dataset's custom fields (create, list, rename, delete), its built-in
fields (list, enable, disable) and the values its documents hold (controllers/service_api/dataset/
metadata.py and services/metadata_service.py at dify 1.12.0, 1.14.2 and 1.16.1; research/
knowledge_segments_metadata.md §4-§6). The documents' side (values, bindings, how bodies render them)
is actions/doc_metadata.py."""

from __future__ import annotations

import copy
from typing import Any, Final

from mockserver.actions import ActContext, Action
from mockserver.actions.doc_metadata import BUILT_IN_NAMES, built_in_values, write_values
from mockserver.actions.knowledge import account_id, available, dataset_of, the_dataset
from mockserver.actions.metadata_ops import update_documents
from mockserver.actions.serialize import body
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.state.knowledge import Dataset, Document, MetadataField

MAX_NAME: Final = 255
# 1.16 dumps the None a swallowed rename returns through DatasetMetadataResponse (libs/helper.py
# dump_response): pydantic's error without a location, a 400 invalid_param.
NO_FIELD_DUMP: Final = (
    "1 validation error for DatasetMetadataResponse\n"
    "  Input should be a valid dictionary or object to extract fields from "
    "[type=model_attributes_type, input_value=None, input_type=NoneType]\n"
    "    For further information visit https://errors.pydantic.dev/{version}/v/model_attributes_type"
)


def _fields(ctx: ActContext, dataset: Dataset) -> list[MetadataField]:
    return ctx.tenant.state.metadata_fields.where(dataset_id=dataset.id)


def _valid_name(ctx: ActContext, name: str) -> None:
    """create_metadata's and update_metadata_name's checks in order: the length, a name of the dataset
    (the field being renamed included), a built-in name (whether or not those are on)."""
    if len(name) > MAX_NAME:
        raise DifyError("invalid_param", "Metadata name cannot exceed 255 characters.")
    if any(f.name == name for f in _fields(ctx, dataset_of(ctx))):
        raise DifyError("invalid_param", "Metadata name already exists.")
    if name in BUILT_IN_NAMES:
        raise DifyError("invalid_param", "Metadata name already exists in Built-in fields.")


def _creatable(ctx: ActContext) -> None:
    _valid_name(ctx, ctx.call.payload["name"])


def create(ctx: ActContext) -> dict[str, Any]:
    p, now = ctx.call.payload, ctx.now
    made = MetadataField(
        id=ctx.draws.uuid("metadata"),
        dataset_id=dataset_of(ctx).id,
        name=p["name"],
        type=p["type"],
        created_by=account_id(ctx),
        created_at=now,
        updated_at=now,
    )
    return {"result": body(ctx, made), "field": made}


def _commit_create(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.metadata_fields.add(ctx.bound["field"])


def listed(ctx: ActContext) -> dict[str, Any]:
    """get_dataset_metadatas: `count` is the field's bindings among the dataset's documents."""
    dataset = dataset_of(ctx)
    documents = ctx.tenant.state.documents.where(dataset_id=dataset.id)
    rows = [
        {"id": f.id, "name": f.name, "type": f.type, "count": sum(d.metadata_ids.count(f.id) for d in documents)}
        for f in _fields(ctx, dataset)
    ]
    return {"result": body(ctx, {"doc_metadata": rows, "built_in_field_enabled": dataset.built_in_field_enabled})}


def _the_field(ctx: ActContext) -> MetadataField | None:
    """The route's field: 1.12 looks it up by id alone (any dataset of the workspace), later releases
    in the route's dataset."""
    wanted = ctx.call.path["metadata_id"].lower()
    fields = ctx.tenant.state.metadata_fields
    if compare(ctx.call.release.name, ">=1.14"):
        return fields.get(wanted, dataset_id=dataset_of(ctx).id)
    return fields.get(wanted)


def _bound_documents(ctx: ActContext, field: MetadataField) -> list[Document]:
    """The documents bound to the field: 1.16 asks for bindings in the route's dataset, 1.12 and 1.14
    for bindings with this field id anywhere (their documents/metadata binds any id it is given)."""
    documents = ctx.tenant.state.documents
    rows = (
        documents.where(dataset_id=dataset_of(ctx).id)
        if compare(ctx.call.release.name, ">=1.16")
        else documents.where()
    )
    return [d for d in rows if field.id in d.metadata_ids]


def _renamable(ctx: ActContext) -> None:
    """The name checks come first; a field not found is then swallowed with the lock errors (the
    service returns None): 1.12/1.14 marshal it as nulls, 1.16's dump refuses it."""
    _valid_name(ctx, ctx.call.payload["name"])
    field = _the_field(ctx)
    if field is None and compare(ctx.call.release.name, ">=1.16"):
        raise DifyError("invalid_param", NO_FIELD_DUMP.format(version=ctx.call.release.pydantic))
    ctx.bound["field"] = field


def update(ctx: ActContext) -> dict[str, Any]:
    field: MetadataField | None = ctx.bound["field"]
    if field is None:
        return {"result": {"id": None, "type": None, "name": None}}
    renamed = copy.copy(field)
    renamed.name = ctx.call.payload["name"]
    return {"result": body(ctx, renamed)}


def _commit_update(ctx: ActContext, _body: Any) -> None:
    """Rename the field and move each bound document's value to the new name (a missing one as null)."""
    field: MetadataField | None = ctx.bound["field"]
    if field is None:
        return
    old, new = field.name, ctx.call.payload["name"]
    for document in _bound_documents(ctx, field):
        values = dict(document.doc_metadata)
        values[new] = values.pop(old, None)
        write_values(ctx, document, values)
    field.name, field.updated_at = new, ctx.now


def delete(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    """Drop the field and its value from the bound documents. Dify's bindings stay, pointing at
    nothing (its reads join them to live fields), so the mock drops them: no read can tell, and a
    document's list stays bounded. An unknown field is swallowed: still 204."""
    field = _the_field(ctx)
    if field is None:
        return
    for document in _bound_documents(ctx, field):
        values = dict(document.doc_metadata)
        values.pop(field.name, None)
        write_values(ctx, document, values)
        document.metadata_ids = [i for i in document.metadata_ids if i != field.id]
        ctx.tenant.state.documents.reweigh(document)
    ctx.tenant.state.metadata_fields.remove(field.id)


def built_in(ctx: ActContext) -> dict[str, Any]:
    return {"result": body(ctx, {})}  # the schema's default: the five fields


def toggle(ctx: ActContext) -> dict[str, Any]:
    return {"result": body(ctx, {})}


def _commit_toggle(ctx: ActContext, _body: Any) -> None:
    """enable/disable_built_in_field: a no-op when already so; else the five values go into (or out of)
    every working document (indexed, enabled, not archived) and the flag flips. Any other action does
    nothing."""
    dataset, action = dataset_of(ctx), ctx.call.path["action"]
    if action not in ("enable", "disable") or dataset.built_in_field_enabled == (action == "enable"):
        return
    for document in ctx.tenant.state.documents.where(dataset_id=dataset.id):
        if not available(ctx, document):
            continue
        values = dict(document.doc_metadata)
        if action == "enable":
            values.update(built_in_values(ctx, document))
        else:
            values = {k: v for k, v in values.items() if k not in BUILT_IN_NAMES}
        write_values(ctx, document, values)
    dataset.built_in_field_enabled = action == "enable"
    dataset.updated_at, dataset.updated_seq = ctx.now, ctx.tenant.state.tick()


ACTIONS = (
    Action("metadata.create", create, _commit_create, checks=(("dataset", the_dataset), ("name", _creatable))),
    Action("metadata.list", listed, checks=(("dataset", the_dataset),)),
    Action("metadata.update", update, _commit_update, checks=(("dataset", the_dataset), ("field", _renamable))),
    Action("metadata.delete", delete, _commit_delete, checks=(("dataset", the_dataset),)),
    Action("metadata.built_in", built_in, checks=(("dataset", the_dataset),)),
    Action("metadata.toggle_built_in", toggle, _commit_toggle, checks=(("dataset", the_dataset),)),
    update_documents,
)
