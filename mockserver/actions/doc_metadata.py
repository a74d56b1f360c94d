"""A document's metadata: the values Dify keeps in its `doc_metadata` JSON column (by field NAME, the
five built-ins among them once written), its bindings to custom fields (Document.metadata_ids, in
binding order), and how document bodies render the two (models/dataset.py doc_metadata_details and
get_built_in_fields at dify 1.12.0, 1.14.2 and 1.16.1; research/knowledge_segments_metadata.md §4.5,
§4.7). The documents and retrieval actions call in here; the metadata routes are actions/metadata.py."""

from __future__ import annotations

import time
from typing import Any, Final

from mockserver.actions import ActContext
from mockserver.actions.knowledge import account_id, owner_name, updated_at
from mockserver.dify.versions import compare
from mockserver.state.knowledge import Dataset, Document, MetadataField

# core/rag/index_processor/constant/built_in_field.py BuiltInField, with the type each renders with.
BUILT_IN: Final = (
    ("document_name", "string"),
    ("uploader", "string"),
    ("upload_date", "time"),
    ("last_update_date", "time"),
    ("source", "string"),
)
BUILT_IN_NAMES: Final = frozenset(name for name, _ in BUILT_IN)
# MetadataDataSource, looked up by the document's data_source_type (local_file is upload_file's alias).
SOURCES: Final = {
    "upload_file": "file_upload",
    "website_crawl": "website",
    "notion_import": "notion",
    "local_file": "file_upload",
    "online_document": "online_document",
    "online_drive": "online_drive",
}


def uploader(ctx: ActContext, document: Document) -> str | None:
    """Document.uploader: the name of the account that created it (a knowledge key acts as the owner)."""
    return owner_name(ctx) if document.created_by == account_id(ctx) else None


def _built_ins(ctx: ActContext, document: Document, upload: Any, last_update: Any, source: Any) -> dict[str, Any]:
    """The five built-in values, in BUILT_IN's order."""
    return {
        "document_name": document.name,
        "uploader": uploader(ctx, document),
        "upload_date": upload,
        "last_update_date": last_update,
        "source": source,
    }


def built_in_values(ctx: ActContext, document: Document) -> dict[str, Any]:
    """The five values enable_built_in_field and update_documents_metadata store: the dates as float
    seconds, the source mapped (metadata_service.py)."""
    source = SOURCES.get(document.data_source_type, document.data_source_type)
    return _built_ins(ctx, document, float(document.created_at), float(updated_at(ctx, document)), source)


def creation_values(ctx: ActContext, dataset: Dataset, document: Document) -> dict[str, Any]:
    """What a document made while the dataset's built-in fields are on starts with (build_document,
    services/dataset_service.py): UTC "%Y-%m-%d %H:%M:%S" dates and the raw data_source_type; else
    nothing."""
    if not dataset.built_in_field_enabled:
        return {}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ctx.now))
    return _built_ins(ctx, document, stamp, stamp, document.data_source_type)


def write_values(ctx: ActContext, document: Document, values: dict[str, Any]) -> None:
    """Store the document's values; a row that changes moves its updated_at (the column's onupdate)."""
    if values == document.doc_metadata:
        return
    document.doc_metadata = values
    document.updated_at = ctx.now
    document.updated_seq = ctx.tenant.state.tick()


def bound_field(ctx: ActContext, dataset_id: str, field_id: str) -> MetadataField | None:
    """The field a binding of a document of `dataset_id` points at, as doc_metadata_details' join finds
    it: 1.16 also asks that it be a field of that dataset; 1.12 and 1.14 join on the id alone."""
    field = ctx.tenant.state.metadata_fields.get(field_id)
    if field is None:
        return None
    if compare(ctx.call.release.name, ">=1.16") and field.dataset_id != dataset_id:
        return None
    return field


def _shown(value: Any, typed: bool) -> Any:
    # flask-restx's fields.String (1.12/1.14 list, create and update bodies): str() of what is not None
    return value if typed or value is None else str(value)


def document_metadata(
    ctx: ActContext, dataset: Dataset, document: Document, typed: bool
) -> list[dict[str, Any]] | None:
    """Document.doc_metadata_details: None while the stored values are empty; else each bound field with
    its value by the field's current name, then the five built-ins with live values, whether or not the
    dataset has them on. `typed` False renders every value as a string (the 1.12/1.14 `document_fields`
    marshal of list, create and update bodies); 1.16's bodies and every detail body keep the JSON type.
    A caller whose body shows None as `[]` (1.16's DocumentResponse) does that itself."""
    if not document.doc_metadata:
        return None
    ids = document.metadata_ids
    if not compare(ctx.call.release.name, ">=1.14"):
        ids = list(dict.fromkeys(ids))  # 1.12's legacy Query uniquifies the joined rows
    shown: list[dict[str, Any]] = []
    for field_id in ids:
        field = bound_field(ctx, dataset.id, field_id)
        if field is not None:
            value = document.doc_metadata.get(field.name)
            shown.append({"id": field.id, "name": field.name, "type": field.type, "value": _shown(value, typed)})
    live = built_in_values(ctx, document)  # get_built_in_fields shows the dates as str(timestamp)
    shown += [
        {"id": "built-in", "name": name, "type": kind, "value": str(live[name]) if kind == "time" else live[name]}
        for name, kind in BUILT_IN
    ]
    return shown
