"""DocumentService.save_document_with_dataset_id and update_document_with_dataset_id for the Knowledge
API's create and update routes, and the indexing run each queues (services/dataset_service.py at dify
1.12.0, 1.14.2 and 1.16.1; research/knowledge_documents.md §4.3-§4.5, knowledge_indexing.md §1-§6).

A write is planned in the checks (every refusal comes before the faults) as a `Save`, shown by the
action's bind, and applied by its commit: the document, the dataset's first-document settings, the
dataset's newest process rule, and the indexing run it queues (document_indexing.py)."""

from __future__ import annotations

from typing import Any, Final

from msgspec import Struct, field
from msgspec.structs import replace

from mockserver.actions import ActContext
from mockserver.actions import document_indexing as indexing
from mockserver.actions.doc_metadata import creation_values
from mockserver.actions.document_views import display
from mockserver.actions.knowledge import dataset_of, retrieval_dump
from mockserver.dify import embedding as models
from mockserver.dify import markdown
from mockserver.dify.documents import automatic_rules, batch_name
from mockserver.dify.postgres import uuid_column
from mockserver.errors import DifyError
from mockserver.state.knowledge import Dataset, Document

# save_document_with_dataset_id's retrieval model for a dataset made high_quality by its first document.
FIRST_RETRIEVAL: Final[dict[str, Any]] = {
    "search_method": "semantic_search",
    "reranking_enable": False,
    "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""},
    "top_k": 4,
    "score_threshold_enabled": False,
}
NO_EMBEDDING: Final = (
    "No Embedding Model available. Please configure a valid provider in the Settings -> Model Provider."
)


class Source(Struct):
    """The UploadFile a call makes (FileService.upload_text or upload_file) and its bytes."""

    id: str
    name: str
    size: int
    extension: str
    mime_type: str
    created_by: str
    created_at: float  # UploadFile.created_at.timestamp()
    data: bytes

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "extension": self.extension,
            "mime_type": self.mime_type,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }


class Save(Struct):
    """What a create or update call commits."""

    document: Document  # the new document, or the existing one as the call leaves it
    existing: Document | None  # the document re-used (same name) or updated
    batch: str
    source: Source | None  # the new file (None: an update that keeps the document's)
    rule: dict[str, Any] | None  # a new process rule: the dataset's newest from now on
    dataset_changes: dict[str, Any] = field(default_factory=dict)


def upload_id(ctx: ActContext) -> str:
    return ctx.draws.uuid("upload_file")


def check_doc_form(ctx: ActContext, doc_form: str) -> None:
    """DatasetService.check_doc_form: a dataset's doc_form is its first document's."""
    first = next(iter(ctx.tenant.state.documents.where(dataset_id=dataset_of(ctx).id)), None)
    if first is not None and first.doc_form != doc_form:
        raise DifyError("invalid_param", "doc_form is different from the dataset doc_form.")


def _dataset_changes(dataset: Dataset, cfg: dict[str, Any]) -> dict[str, Any]:
    """What a dataset's first document sets: its data source type, indexing technique and, for
    high_quality, the embedding model (the given one, else the workspace default) and retrieval model."""
    changes: dict[str, Any] = {}
    if not dataset.data_source_type:
        changes["data_source_type"] = "upload_file"
    if dataset.indexing_technique:
        return changes
    technique = cfg["indexing_technique"]
    changes["indexing_technique"] = technique
    if technique == "high_quality":
        provider, model = cfg.get("embedding_model_provider"), cfg.get("embedding_model")
        if not (provider and model):
            provider, model = models.embedding_model(None, None)  # the workspace default
        changes.update(embedding_model=model, embedding_model_provider=provider)
        if not dataset.retrieval_model:
            given = cfg.get("retrieval_model")
            changes["retrieval_model"] = retrieval_dump(given) if given else dict(FIRST_RETRIEVAL)
    return changes


def new_rule(ctx: ActContext, mode: str, rules: dict[str, Any]) -> dict[str, Any]:
    """A DatasetProcessRule row, as to_dict() shows it."""
    return {"id": ctx.draws.uuid("process_rule"), "dataset_id": dataset_of(ctx).id, "mode": mode, "rules": rules}


def requested_rule(ctx: ActContext, stored: tuple[str, dict[str, Any]] | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    mode, rules = stored
    return new_rule(ctx, mode, automatic_rules() if mode == "automatic" else rules)


def create(ctx: ActContext, cfg: dict[str, Any], source: Source, rule: dict[str, Any] | None, account: str) -> Save:
    """save_document_with_dataset_id without original_document_id. `rule` is the request's validated
    rule as a new row; without one the dataset's latest rule serves, or a new automatic one."""
    dataset = dataset_of(ctx)
    changes = _dataset_changes(dataset, cfg)
    batch = batch_name(ctx.now, ctx.draws.random("batch").randrange)
    if rule is None and dataset.process_rule is None:
        rule = new_rule(ctx, "automatic", automatic_rules())
    used = rule or dataset.process_rule
    assert used is not None
    documents = ctx.tenant.state.documents.where(dataset_id=dataset.id)
    same = next(
        (d for d in documents if d.enabled and d.data_source_type == "upload_file" and d.name == source.name), None
    )
    if cfg.get("duplicate", True) and same is not None:
        preview = replace(
            same,
            process_rule_id=used["id"],
            process_rule=used,
            updated_at=ctx.now,
            created_from="api",
            doc_form=cfg["doc_form"],
            doc_language=cfg["doc_language"],
            upload_file=source.row(),
            batch=batch,
        )
        return Save(preview, same, batch, source, rule, changes)
    made = Document(
        id=ctx.draws.uuid("document"),
        dataset_id=dataset.id,
        position=max((d.position for d in documents), default=0) + 1,
        name=source.name,
        batch=batch,
        created_by=account,
        created_at=ctx.now,
        text="",
        upload_file=source.row(),
        doc_form=cfg["doc_form"],
        doc_language=cfg["doc_language"],
        need_summary=bool((dataset.summary_index_setting or {}).get("enable") is True),
        process_rule=used,
        process_rule_id=used["id"],
        updated_at=ctx.now,
    )
    made.doc_metadata = creation_values(ctx, dataset, made)
    return Save(made, None, batch, source, rule, changes)


def update(ctx: ActContext, cfg: dict[str, Any], source: Source | None, rule: dict[str, Any] | None) -> Save:
    """update_document_with_dataset_id: the dataset's embedding model must work, the document must
    exist and be available; the call renames it, points it at the new file and rule, and queues it."""
    dataset = dataset_of(ctx)
    changes = _dataset_changes(dataset, cfg)
    if dataset.indexing_technique == "high_quality":
        wanted = (models.provider_id(dataset.embedding_model_provider or ""), dataset.embedding_model)
        if wanted not in models.embedding_models():
            raise DifyError("invalid_param", NO_EMBEDDING)
    found = _document(ctx, str(cfg["original_document_id"]))
    if display(ctx, found) != "available":
        raise DifyError("invalid_param", "Document is not available")
    edits: dict[str, Any] = {"updated_at": ctx.now, "created_from": "api", "doc_form": cfg["doc_form"]}
    if rule is not None:
        edits.update(process_rule_id=rule["id"], process_rule=rule)
    if source is not None:
        edits.update(upload_file=source.row(), name=source.name)
    if cfg.get("name"):
        edits["name"] = cfg["name"]
    return Save(replace(found, **edits), found, found.batch, source, rule, changes)


def _document(ctx: ActContext, wanted: str) -> Document:
    """DocumentService.get_document by id and dataset: an id Postgres cannot cast is its error (500)."""
    key = uuid_column(wanted, "original_document_id")
    found = ctx.tenant.state.documents.get(key, dataset_id=dataset_of(ctx).id)
    if found is None:
        raise DifyError("not_found", "Document not found")
    return found


def commit(ctx: ActContext, save: Save) -> None:
    """Apply a Save and queue the document's indexing run (its segments are cut now, shown later)."""
    state = ctx.tenant.state
    dataset = dataset_of(ctx)
    for key, value in save.dataset_changes.items():
        setattr(dataset, key, value)
    if save.rule is not None:
        dataset.process_rule = save.rule
    document = save.existing or save.document
    if save.existing is not None:
        for name in Document.__struct_fields__:
            setattr(document, name, getattr(save.document, name))
        for gone in state.segments_of(document.id):  # re_segment: the run replaces them
            state.segments.remove(gone.id)
    if save.source is not None:
        document.data = save.source.data
        document.text = markdown.decode(save.source.data)
    document.indexing = indexing.run(ctx)
    texts = indexing.raw_documents(document.data, (document.upload_file or {}).get("extension", ""))
    indexing.index(ctx, dataset, document, texts)
    if save.existing is None:
        state.documents.add(document)
