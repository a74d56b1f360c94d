"""Knowledge API documents (issue 11): the read, delete and status routes here, the create and update
routes in document_writes.py (controllers/service_api/dataset/document.py and dataset.py, services/
dataset_service.py at dify 1.12.0, 1.14.2 and 1.16.1; research/knowledge_documents.md §4.6-§4.11).

Every read of a document's status (the list, the detail, a batch's indexing status) is a poll: its
commit moves the document's indexing on a stage (dify/indexing.py), so a refused or faulted read
moves nothing."""

from __future__ import annotations

import re
from typing import Any, Final

from mockserver.actions import ActContext, Action
from mockserver.actions import document_files as files
from mockserver.actions.document_save import NO_EMBEDDING
from mockserver.actions.document_views import columns, detail_views, document_body, status_item
from mockserver.actions.document_writes import ACTIONS as WRITES
from mockserver.actions.knowledge import account_id, dataset_of, document_of, paged, the_dataset, the_document
from mockserver.actions.serialize import serialize
from mockserver.dify import embedding as models
from mockserver.dify.documents import status_filter
from mockserver.dify.postgres import uuid_column
from mockserver.errors import DifyError
from mockserver.state.knowledge import Document

ACTIONS_ALLOWED: Final = ("enable", "disable", "archive", "un_archive")
_WITHOUT: Final = ("doc_type", "doc_metadata")


def _polled(documents: list[Document]) -> None:
    for document in documents:
        document.indexing.polls += 1


def _check_batch(ctx: ActContext) -> None:
    batch = ctx.call.path["batch"]
    found = [d for d in ctx.tenant.state.documents.where(dataset_id=dataset_of(ctx).id) if d.batch == batch]
    if not found:
        raise DifyError("not_found", "Documents not found.")
    ctx.bound["documents"] = found


def indexing_status(ctx: ActContext) -> dict[str, Any]:
    return {"result": {"data": [status_item(ctx, d) for d in ctx.bound["documents"]]}}


def _commit_polls(ctx: ActContext, _body: Any) -> None:
    _polled(ctx.bound["documents"])


def listed(ctx: ActContext) -> dict[str, Any]:
    """DocumentService's list: keyword a case-sensitive LIKE (its % and _ are wildcards), status by
    display rule, newest first then highest position; paged as the dataset list is (knowledge.paged)."""
    p = ctx.call.params
    rows = ctx.tenant.state.documents.where(dataset_id=dataset_of(ctx).id)
    keyword = p.get("keyword")
    if keyword:
        rows = [d for d in rows if _like(keyword, d.name)]
    wanted = status_filter(p.get("status"))
    if wanted is not None:
        rows = [d for d in rows if _matches(ctx, d, wanted)]
    rows.sort(key=lambda d: (d.created_at, d.position), reverse=True)
    ctx.bound["documents"], envelope = paged(ctx, rows, lambda d: document_body(ctx, d))
    return {"result": envelope}


def _like(pattern: str, text: str) -> bool:
    """SQL LIKE '%pattern%': `%` any run, `_` any one character, the rest literal."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.search("".join(parts), text, re.DOTALL) is not None


def _matches(ctx: ActContext, document: Document, wanted: Any) -> bool:
    col = columns(ctx, document)
    return bool(wanted(col.indexing_status, col.is_paused, document.enabled, document.archived))


def detail(ctx: ActContext) -> dict[str, Any]:
    document = document_of(ctx)
    metadata = ctx.call.params.get("metadata", "all")
    ctx.bound["documents"] = [document]
    schema = ctx.call.spec.record_schema or {}
    body = serialize(document, schema, ctx.call.release.name, detail_views(ctx, dataset_of(ctx)))
    if metadata == "only":
        body = {k: body[k] for k in ("id", *_WITHOUT)}
    elif metadata == "without":
        body = {k: v for k, v in body.items() if k not in _WITHOUT}
    return {"result": body}


def _check_metadata(ctx: ActContext) -> None:
    """The metadata value is checked after the document (documents/<id> GET)."""
    metadata = ctx.call.params.get("metadata", "all")
    if metadata not in ("all", "only", "without"):
        raise DifyError("invalid_metadata", f"Invalid metadata value: {metadata}")


def _check_delete(ctx: ActContext) -> None:
    wanted = ctx.call.path["document_id"].lower()
    found = ctx.tenant.state.documents.get(wanted, dataset_id=dataset_of(ctx).id)
    if found is None:
        raise DifyError("not_found", "Document Not Exists.")
    if found.archived:
        raise DifyError("archived_document_immutable")
    ctx.bound["document"] = found


def deleted(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.documents.remove(document_of(ctx).id)


def _check_status(ctx: ActContext) -> None:
    """batch_update_document_status: the body read with get_json() (no object: a 500), no ids is a
    success whatever the action, an unknown action is 400, unknown ids are skipped, and every document
    is checked before any changes."""
    dataset = dataset_of(ctx)
    if dataset.indexing_technique == "high_quality":  # check_dataset_model_setting, before the body
        wanted = (models.provider_id(dataset.embedding_model_provider or ""), dataset.embedding_model)
        if wanted not in models.embedding_models():
            raise DifyError("invalid_param", NO_EMBEDDING)
    body = ctx.call.body
    if not isinstance(body, dict):
        raise DifyError("unknown")
    ids = body.get("document_ids", [])
    ctx.bound["changes"] = []
    if not ids:
        return
    action = ctx.call.path["action"]
    if action not in ACTIONS_ALLOWED:
        raise DifyError("invalid_action", f"Invalid action: {action}. Must be one of {list(ACTIONS_ALLOWED)!r}")
    if not isinstance(ids, list):
        raise DifyError("unknown")
    changes = []
    for given in ids:
        key = uuid_column(str(given), "document_ids")  # Postgres reads the id (a text it refuses: 500)
        found = ctx.tenant.state.documents.get(key, dataset_id=dataset.id)
        if found is None:
            continue
        edit = _status_edit(ctx, found, action)
        if edit:
            changes.append((found, edit))
    ctx.bound["changes"] = changes


def _status_edit(ctx: ActContext, document: Document, action: str) -> dict[str, Any]:
    if action == "enable":
        return {} if document.enabled else {"enabled": True, "disabled_at": None, "disabled_by": None}
    if action == "disable":
        col = columns(ctx, document)
        if "completed_at" not in col.times or col.indexing_status != "completed":
            raise DifyError("invalid_action", f"Document: {document.name} is not completed.")
        return {"enabled": False, "disabled_at": ctx.now, "disabled_by": account_id(ctx)} if document.enabled else {}
    if action == "archive":
        return {} if document.archived else {"archived": True, "archived_at": ctx.now, "archived_by": account_id(ctx)}
    return {"archived": False, "archived_at": None, "archived_by": None} if document.archived else {}


def status_result(ctx: ActContext) -> dict[str, Any]:
    return {"result": {"result": "success"}}


def _commit_status(ctx: ActContext, _body: Any) -> None:
    for document, edit in ctx.bound["changes"]:
        for key, value in {**edit, "updated_at": ctx.now}.items():
            setattr(document, key, value)


ACTIONS = (
    *WRITES,
    Action(
        "documents.indexing_status",
        indexing_status,
        _commit_polls,
        checks=(("dataset", the_dataset), ("batch", _check_batch)),
    ),
    Action("documents.list", listed, _commit_polls, checks=(("dataset", the_dataset),)),
    Action(
        "documents.get",
        detail,
        _commit_polls,
        checks=(("dataset", the_dataset), ("document", the_document), ("metadata", _check_metadata)),
    ),
    Action("documents.delete", deleted, _commit_delete, checks=(("dataset", the_dataset), ("document", _check_delete))),
    Action(
        "documents.status", status_result, _commit_status, checks=(("dataset", the_dataset), ("changes", _check_status))
    ),
    *files.ACTIONS,
)
