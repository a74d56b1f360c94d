"""Knowledge tags: list, create, rename and delete the workspace's tags, bind and unbind them to a
dataset, and a dataset's tags (controllers/service_api/dataset/dataset.py DatasetTagsApi,
DatasetTagBindingApi, DatasetTagUnbindingApi, DatasetTagsBindingStatusApi and
services/tag_service.py at dify 1.12.0, 1.14.2 and 1.16.1; research/knowledge_datasets.md §8).

A knowledge key acts as the workspace owner, so no permission check ever refuses. Ids in a body go
to Postgres as text: one its uuid grammar refuses is Dify's 500 (dify/postgres.py). A dataset's
bindings outlive it (binding_count still counts them); a tag's go with it.

`tags_of` and `datasets_tagged` are what the datasets code reads: a Dataset body's `tags`, and
GET /v1/datasets?tag_ids=... (1.15+)."""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from mockserver.actions import ActContext, Action
from mockserver.actions.knowledge import account_id, dataset_of, the_dataset
from mockserver.actions.serialize import serialize
from mockserver.dify.postgres import uuid_column
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.payload import Model, compile_model
from mockserver.payload.types import Invalid
from mockserver.schemarefs import bundled
from mockserver.state.knowledge import Tag
from mockserver.state.store import Store

NAME_TAKEN = "Tag name already exists"
NO_DATASET = "Dataset not found"  # TagService.check_target_exists: no period, unlike the wrapper's
LEGACY_UNBINDING = "../_shared/tags.json#/$defs/unbinding_payload_1_12"


def tags_of(state: Store, dataset_id: str) -> list[Tag]:
    """The dataset's knowledge tags, in the order they were bound (Dify's join has no ORDER BY; its
    index scan on tag_bindings.target_id gives the rows as they were written)."""
    bound = [t for t in state.tags if dataset_id in t.targets]
    return sorted(bound, key=lambda t: t.targets[dataset_id])


def datasets_tagged(state: Store, tag_ids: list[str]) -> set[str]:
    """The live datasets bound to every one of `tag_ids` (1.15+ get_target_ids_by_tag_ids with
    match_all): the ids are deduplicated as given, and unless each names a knowledge tag of the
    workspace the answer is empty. An empty `tag_ids` is empty too: the caller filters only when the
    query named tags. An id Postgres cannot read is Dify's 500."""
    requested = list(dict.fromkeys(tag_ids))
    ids = {uuid_column(t, "tag_ids") for t in requested}
    found = [tag for tag in (state.tags.get(i) for i in ids) if tag is not None]
    if not found or len(found) != len(requested):
        return set()
    return set.intersection(*(set(tag.targets) for tag in found))


def _tag_body(ctx: ActContext, tag: Tag, schema: Any = None) -> Any:
    """KnowledgeTagResponse: binding_count as text (coerce_numbers_to_str)."""
    schema = schema if schema is not None else ctx.call.spec.record_schema or {}
    return serialize(tag, schema, ctx.call.release.name, {"binding_count": lambda t: str(t.binding_count)})


def _refuse_counts(ctx: ActContext, counts: list[int], many: bool) -> None:
    """1.12 and 1.14: DataSetTag (binding_count: str | None, no coercion) refuses the int it is given,
    after the handler's work is committed: pydantic's text, one error per tag."""
    if not ctx.call.release.tag_count_refused or not counts:
        return
    errors = [
        Invalid("string_type", n, (i, "binding_count") if many else ("binding_count",)) for i, n in enumerate(counts)
    ]
    model = Model("list[DataSetTag]" if many else "DataSetTag", ())
    raise DifyError("invalid_param", model.describe(errors, ctx.call.release.pydantic))


def _named(state: Store, name: str, other_than: str | None = None) -> bool:
    return any(t.name == name and t.id != other_than for t in state.tags)


# GET /datasets/tags ------------------------------------------------------------------------------


def listed(ctx: ActContext) -> dict[str, Any]:
    """Newest first (created_at DESC), every binding counted."""
    rows = sorted(ctx.tenant.state.tags, key=lambda t: (t.created_at, t.created_seq), reverse=True)
    item = (ctx.call.spec.record_schema or {}).get("items") or {}
    ctx.bound["tags"] = rows
    return {"result": [_tag_body(ctx, t, item) for t in rows]}


def _commit_list(ctx: ActContext, _body: Any) -> None:
    _refuse_counts(ctx, [t.binding_count for t in ctx.bound["tags"]], many=True)


# POST /datasets/tags -----------------------------------------------------------------------------


def _name_free(ctx: ActContext) -> None:
    if _named(ctx.tenant.state, ctx.call.payload["name"]):
        raise DifyError("invalid_param", NAME_TAKEN)


def create(ctx: ActContext) -> dict[str, Any]:
    tag = Tag(ctx.draws.uuid("tag"), ctx.call.payload["name"], account_id(ctx), ctx.now)
    ctx.bound["tag"] = tag
    return {"result": _tag_body(ctx, tag), "tag_id": tag.id}


def _commit_create(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.tags.add(ctx.bound["tag"])
    _refuse_counts(ctx, [0], many=False)  # save_tags committed; the response is built from 0


# PATCH and DELETE /datasets/tags -----------------------------------------------------------------


def _the_tag(ctx: ActContext) -> None:
    """By id (a 404 with flask-restx's route hint). 1.12 first refuses a name any tag has, the tag's
    own included; later releases refuse only another tag's name, once the tag is found."""
    state, payload = ctx.tenant.state, ctx.call.payload
    rename = ctx.call.method == "PATCH"
    if rename and ctx.call.release.tag_rename_name_first and _named(state, payload["name"]):
        raise DifyError("invalid_param", NAME_TAKEN)
    tag = state.tags.require(uuid_column(payload["tag_id"], "tag_id"))
    if rename and payload["name"] != tag.name and _named(state, payload["name"], other_than=tag.id):
        raise DifyError("invalid_param", NAME_TAKEN)
    ctx.bound["tag"] = tag


def update(ctx: ActContext) -> dict[str, Any]:
    return {"result": _tag_body(ctx, replace(ctx.bound["tag"], name=ctx.call.payload["name"]))}


def _commit_update(ctx: ActContext, _body: Any) -> None:
    tag: Tag = ctx.bound["tag"]
    tag.name = ctx.call.payload["name"]
    _refuse_counts(ctx, [tag.binding_count], many=False)  # the rename is committed first


def delete(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.tags.remove(ctx.bound["tag"].id)  # its bindings are the record's: they go too


# POST /datasets/tags/binding and /unbinding ------------------------------------------------------


def _legacy_unbinding(ctx: ActContext) -> None:
    """1.12's TagUnbindingPayload {tag_id, target_id}, both required, `tag_ids` ignored: the route's
    `models_since` hands 1.12's raw body here (a truthy body that is no object fails the model)."""
    spec, release = ctx.call.spec, ctx.call.release
    if spec.models_since is None or compare(release.name, f">={spec.models_since}"):
        return
    model = compile_model(spec.request_model, bundled({"$ref": LEGACY_UNBINDING}, spec.base, spec.registry))
    raw = ctx.call.body
    if raw and not isinstance(raw, dict):
        text = f"Input should be a valid dictionary or instance of {model.name}"
        raise DifyError("invalid_param", model.describe([Invalid("model_type", raw, message=text)], release.pydantic))
    fields = model.validate(raw if isinstance(raw, dict) else {}, release.pydantic)
    ctx.call.payload = {"tag_ids": [fields["tag_id"]], "target_id": fields["target_id"]}


def _the_target(ctx: ActContext) -> None:
    """check_target_exists: a dataset of the workspace, whatever its API access; then the tag ids,
    each of which Postgres must read as a uuid (else the query fails: a 500)."""
    state, payload = ctx.tenant.state, ctx.call.payload
    dataset = state.datasets.get(uuid_column(payload["target_id"], "target_id"))
    if dataset is None:
        raise DifyError("not_found", NO_DATASET)
    ctx.bound["dataset"] = dataset
    ctx.bound["tag_ids"] = [uuid_column(t, "tag_ids") for t in payload["tag_ids"]]


def bind(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_bind(ctx: ActContext, _body: Any) -> None:
    """Each knowledge tag of the workspace gets the binding it lacks. An id that is no tag binds
    nothing: 1.15+ skips it; 1.12 and 1.14 write a row that no read joins to a tag, which no client
    can tell apart."""
    state, dataset_id = ctx.tenant.state, ctx.bound["dataset"].id
    for tag_id in ctx.bound["tag_ids"]:
        tag = state.tags.get(tag_id)
        if tag is not None and dataset_id not in tag.targets:
            tag.targets[dataset_id] = state.tick()
            state.tags.reweigh(tag)


def _commit_unbind(ctx: ActContext, _body: Any) -> None:
    state, dataset_id = ctx.tenant.state, ctx.bound["dataset"].id
    for tag_id in ctx.bound["tag_ids"]:
        tag = state.tags.get(tag_id)
        if tag is not None and tag.targets.pop(dataset_id, None) is not None:
            state.tags.reweigh(tag)


# GET /datasets/{dataset_id}/tags -----------------------------------------------------------------


def of_dataset(ctx: ActContext) -> dict[str, Any]:
    found = tags_of(ctx.tenant.state, dataset_of(ctx).id)
    return {"result": {"data": [{"id": t.id, "name": t.name} for t in found], "total": len(found)}}


ACTIONS = (
    Action("tags.list", listed, _commit_list),
    Action("tags.create", create, _commit_create, checks=(("name", _name_free),)),
    Action("tags.update", update, _commit_update, checks=(("tag", _the_tag),)),
    Action("tags.delete", delete, _commit_delete, checks=(("tag", _the_tag),)),
    Action("tags.bind", bind, _commit_bind, checks=(("target", _the_target),)),
    Action("tags.unbind", bind, _commit_unbind, checks=(("payload", _legacy_unbinding), ("target", _the_target))),
    Action("tags.of_dataset", of_dataset, checks=(("dataset", the_dataset),)),
)
