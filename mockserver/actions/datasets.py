"""Knowledge API datasets: create, list, get, update, delete (controllers/service_api/dataset/dataset.py
and services/dataset_service.py at dify 1.12.0, 1.14.2 and 1.16.1; research/knowledge_datasets.md §2-§7).
A knowledge key acts as the workspace owner, so every permission check passes."""

from __future__ import annotations

from typing import Any, Final

from msgspec.structs import replace

from mockserver.actions import ActContext, Action
from mockserver.actions.doc_metadata import BUILT_IN
from mockserver.actions.knowledge import (
    account_id,
    available,
    owner_name,
    paged,
    progress_of,
    retrieval_dump,
    the_dataset,
)
from mockserver.actions.serialize import View, serialize
from mockserver.actions.tags import datasets_tagged, tags_of
from mockserver.dify import embedding as models
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.state.knowledge import Dataset

# DatasetRetrievalModel's default (models/dataset.py retrieval_model_dict): top_k 2, not REFERENCE's 3.
DEFAULT_RETRIEVAL: Final[dict[str, Any]] = {
    "search_method": "semantic_search",
    "reranking_enable": False,
    "reranking_mode": None,
    "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""},
    "weights": None,
    "top_k": 2,
    "score_threshold_enabled": False,
    "score_threshold": None,
}


def retrieval_model_dict(ctx: ActContext, dataset: Dataset) -> dict[str, Any]:
    """The stored model or the default (1.16 merges the stored over the default)."""
    stored = dataset.retrieval_model
    if compare(ctx.call.release.name, ">=1.16"):
        return {**DEFAULT_RETRIEVAL, **(stored or {})}
    return dict(stored or DEFAULT_RETRIEVAL)


def _external_retrieval_model(dataset: Dataset) -> dict[str, Any]:
    """Dataset.external_retrieval_model: the property reads retrieval_model or {top_k 2, threshold 0.0}."""
    stored = dataset.retrieval_model or {"top_k": 2, "score_threshold": 0.0}
    return {k: stored.get(k) for k in ("top_k", "score_threshold", "score_threshold_enabled")}


def doc_metadata(ctx: ActContext, dataset: Dataset) -> list[dict[str, str]]:
    """Dataset.doc_metadata: the custom fields, then the built-in ones when built_in_field_enabled."""
    fields = [
        {"id": m.id, "name": m.name, "type": m.type}
        for m in ctx.tenant.state.metadata_fields.where(dataset_id=dataset.id)
    ]
    if dataset.built_in_field_enabled:
        fields += [{"id": "built-in", "name": name, "type": kind} for name, kind in BUILT_IN]
    return fields


def _views(ctx: ActContext, embedding: View | None = None) -> dict[str, View]:
    state = ctx.tenant.state

    def documents(d: Dataset) -> list[Any]:
        return state.documents.where(dataset_id=d.id)

    def doc_form(d: Dataset) -> str | None:
        first = next(iter(documents(d)), None)
        return d.doc_form or (first.doc_form if first is not None else None)

    return {
        "document_count": lambda d: len(documents(d)),
        "total_documents": lambda d: len(documents(d)),
        "total_available_documents": lambda d: sum(available(ctx, doc) for doc in documents(d)),
        "word_count": lambda d: sum(doc.word_count for doc in documents(d) if progress_of(ctx, doc).segments_visible),
        "author_name": lambda d: owner_name(ctx),
        "updated_by": lambda d: d.updated_by or d.created_by,
        "updated_at": lambda d: d.updated_at or d.created_at,
        "embedding_available": embedding or (lambda d: None),
        "retrieval_model_dict": lambda d: retrieval_model_dict(ctx, d),
        "summary_index_setting": lambda d: d.summary_index_setting or {},
        "tags": lambda d: [{"id": t.id, "name": t.name, "type": t.type} for t in tags_of(state, d.id)],
        "doc_form": doc_form,
        "external_knowledge_info": lambda d: {},
        "external_retrieval_model": _external_retrieval_model,
        "doc_metadata": lambda d: doc_metadata(ctx, d),
        "icon_info": lambda d: d.icon_info or {},
        "maintainer": lambda d: d.created_by,
    }


def _available_embedding(d: Dataset) -> bool:
    """GET detail: a high_quality dataset's `{model}:{provider}` among the workspace's embedding models."""
    if d.indexing_technique != "high_quality":
        return True
    return (d.embedding_model_provider, d.embedding_model) in models.embedding_models()


def _listed_embedding(d: Dataset) -> bool:
    """The list also rewrites a short provider name to its plugin id first (ModelProviderID)."""
    if d.indexing_technique != "high_quality" or not d.embedding_model_provider:
        return True
    return (models.provider_id(d.embedding_model_provider), d.embedding_model) in models.embedding_models()


def dataset_body(ctx: ActContext, dataset: Dataset, embedding: View | None = None, **extra: View) -> Any:
    schema = ctx.call.spec.record_schema or {}
    return serialize(dataset, schema, ctx.call.release.name, {**_views(ctx, embedding), **extra})


def _check_models(provider: str | None, model: str | None) -> None:
    """check_embedding_model_setting, when both names are given (whatever the technique)."""
    if provider and model:
        models.require_provider(provider)


def _creatable(ctx: ActContext) -> None:
    """create_empty_dataset's checks in order: the model settings, a duplicate name in the workspace,
    the default embedding model, the external template (the emulated workspace has none)."""
    p = ctx.call.payload
    provider, model = p.get("embedding_model_provider"), p.get("embedding_model")
    _check_models(provider, model)
    if any(d.name == p["name"] for d in ctx.tenant.state.datasets):
        raise DifyError("dataset_name_duplicate")
    # Only a high_quality dataset stores its model (the given one, else the default).
    hq = p.get("indexing_technique") == "high_quality"
    provider, model = models.embedding_model(provider, model) if hq else (None, None)
    if p.get("provider") == "external" and p.get("external_knowledge_api_id"):
        raise DifyError("invalid_param", "api template not found")
    ctx.bound["embedding"] = (provider, model)


def create(ctx: ActContext) -> dict[str, Any]:
    p = ctx.call.payload
    provider, model = ctx.bound["embedding"]
    owner = account_id(ctx)
    made = Dataset(
        id=ctx.draws.uuid("dataset"),
        name=p["name"],
        description=p.get("description", ""),
        created_by=owner,
        created_at=ctx.now,
        provider=p.get("provider") or "vendor",
        permission=p.get("permission") or "only_me",
        indexing_technique=p.get("indexing_technique"),
        embedding_model=model,
        embedding_model_provider=provider,
        retrieval_model=retrieval_dump(p["retrieval_model"]) if p.get("retrieval_model") else None,
        summary_index_setting=p.get("summary_index_setting"),
        updated_by=owner,
        updated_at=ctx.now,
    )
    return {"result": dataset_body(ctx, made), "dataset": made}


def _commit_create(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.datasets.add(ctx.bound["dataset"])


def _visible(ctx: ActContext, dataset: Dataset, include_all: bool) -> bool:
    """get_datasets' permission filter for the owner: everything with include_all, else all-team
    datasets, the owner's only-me ones, and partial-member ones that list the owner."""
    if include_all or dataset.permission == "all_team_members":
        return True
    if dataset.permission == "partial_members":
        return account_id(ctx) in dataset.partial_member_list
    return dataset.created_by == account_id(ctx)


def listed(ctx: ActContext) -> dict[str, Any]:
    p, release = ctx.call.params, ctx.call.release.name
    if "tag_ids" in ctx.call.query and not compare(release, ">=1.15"):
        given = ctx.call.query["tag_ids"]
        raise DifyError("invalid_param", _tag_ids_not_a_list(given[0] if isinstance(given, list) else given, release))
    keyword = (p.get("keyword") or "").lower()
    rows = [
        d
        for d in ctx.tenant.state.datasets
        if _visible(ctx, d, bool(p.get("include_all"))) and (not keyword or keyword in d.name.lower())
    ]
    if p.get("tag_ids"):
        tagged = datasets_tagged(ctx.tenant.state, p["tag_ids"])
        rows = [d for d in rows if d.id in tagged]
    rows.sort(key=lambda d: d.id)
    rows.sort(key=lambda d: d.created_at, reverse=True)
    _rows, envelope = paged(ctx, rows, lambda d: dataset_body(ctx, d, _listed_embedding))
    return {"result": envelope}


def _tag_ids_not_a_list(given: str, release: str) -> str:
    """1.12/1.14 read the query with to_dict(): `tag_ids` is one string, which list[str] refuses."""
    version = "2.11" if release == "1.12" else "2.12"
    return (
        "1 validation error for DatasetListQuery\ntag_ids\n"
        f"  Input should be a valid list [type=list_type, input_value={given!r}, input_type=str]\n"
        f"    For further information visit https://errors.pydantic.dev/{version}/v/list_type"
    )


def _members(d: Dataset) -> list[str]:
    return list(d.partial_member_list)


def get(ctx: ActContext) -> dict[str, Any]:
    dataset: Dataset = ctx.bound["dataset"]
    extra: dict[str, View] = {"partial_member_list": _members} if dataset.permission == "partial_members" else {}
    out = dataset_body(ctx, dataset, _available_embedding, **extra)
    if dataset.indexing_technique != "high_quality":
        out["retrieval_model_dict"]["search_method"] = "keyword_search"
    return {"result": out}


def _updatable(ctx: ActContext) -> None:
    """update_dataset's changes to an internal dataset, checked as Dify checks them."""
    dataset: Dataset = ctx.bound["dataset"]
    p = ctx.call.payload
    technique = p.get("indexing_technique")
    provider, model = p.get("embedding_model_provider"), p.get("embedding_model")
    if (technique == "high_quality" or provider) and provider and model:
        _check_models(provider, model)
    name = p.get("name")
    if name and name != dataset.name and any(d.name == name for d in ctx.tenant.state.datasets if d is not dataset):
        raise DifyError("invalid_param", "Dataset name already exists")
    if dataset.provider == "external":
        for key, text in (
            ("external_knowledge_id", "External knowledge id"),
            ("external_knowledge_api_id", "External knowledge api id"),
        ):
            if not p.get(key):
                raise DifyError("invalid_param", f"{text} is required.")
        raise DifyError("invalid_param", "api template not found")
    keep = ("name", "description", "permission", "retrieval_model")
    changes = {k: v for k, v in p.items() if k in keep and (v is not None or k == "description")}
    if "retrieval_model" in changes:  # replaced only when truthy, by its model_dump()
        given = changes.pop("retrieval_model")
        if given:
            changes["retrieval_model"] = retrieval_dump(given)
    if technique == "economy":
        changes.update(indexing_technique="economy", embedding_model=None, embedding_model_provider=None)
    elif technique == "high_quality" and dataset.indexing_technique != "high_quality":
        body = ctx.call.body if isinstance(ctx.call.body, dict) else {}
        if "embedding_model_provider" not in body or "embedding_model" not in body:
            raise DifyError("unknown")  # Dify indexes the body with [], a KeyError: its generic 500
        provider, model = models.embedding_model(provider, model)
        changes.update(indexing_technique="high_quality", embedding_model=model, embedding_model_provider=provider)
    elif provider and model and (provider, model) != (dataset.embedding_model_provider, dataset.embedding_model):
        changes.update(embedding_model=model, embedding_model_provider=models.provider_id(provider))
    members = p.get("partial_member_list")
    permission = changes.get("permission", dataset.permission)
    if members and permission == "partial_members":
        changes["partial_member_list"] = [str(m.get("user_id", "")) for m in members]
    elif permission in ("only_me", "all_team_members"):
        changes["partial_member_list"] = []
    changes.update(updated_by=account_id(ctx), updated_at=ctx.now)
    ctx.bound["changes"] = changes


def update(ctx: ActContext) -> dict[str, Any]:
    preview = replace(ctx.bound["dataset"], **ctx.bound["changes"])
    return {"result": dataset_body(ctx, preview, partial_member_list=_members)}


def _commit_update(ctx: ActContext, _body: Any) -> None:
    dataset: Dataset = ctx.bound["dataset"]
    for key, value in ctx.bound["changes"].items():
        setattr(dataset, key, value)


def delete(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.datasets.remove(ctx.bound["dataset"].id)


ACTIONS = (
    Action("datasets.create", create, _commit_create, checks=(("dataset", _creatable),)),
    Action("datasets.list", listed),
    Action("datasets.get", get, checks=(("dataset", the_dataset),)),
    Action("datasets.update", update, _commit_update, checks=(("dataset", the_dataset), ("changes", _updatable))),
    Action("datasets.delete", delete, _commit_delete, checks=(("dataset", the_dataset),)),
)
