"""The Knowledge API's document create and update routes, their checks in Dify's order: create-by-text,
create-by-file, update-by-text, update-by-file (POST and 1.14's PATCH), as controllers/service_api/
dataset/document.py writes them at dify 1.12.0, 1.14.2 and 1.16.1 (research/knowledge_documents.md
§3-§4). Each check ends in a document_save.Save; the actions show it and commit it."""

from __future__ import annotations

import json
from typing import Any

from msgspec.structs import replace

from mockserver.actions import ActContext, Action
from mockserver.actions import document_save as saving
from mockserver.actions.document_save import Save, Source
from mockserver.actions.document_views import document_body
from mockserver.actions.knowledge import account_id, dataset_of, the_dataset
from mockserver.dify import embedding as models
from mockserver.dify.documents import document_extensions, stored_rule
from mockserver.dify.files import extension, stored_filename
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.payload import Model, compile_model
from mockserver.schemarefs import bundled
from mockserver.state.knowledge import Indexing

# DocumentTextCreatePayload's fields in declaration order: model_dump(exclude_none=True) keeps it.
_TEXT_FIELDS: tuple[str, ...] = ("name", "text", "process_rule", "original_document_id", "doc_form", "doc_language")
_TEXT_FIELDS += ("indexing_technique", "retrieval_model", "embedding_model", "embedding_model_provider")


def knowledge_config(ctx: ActContext) -> Model:
    """KnowledgeConfig as the release declares it (compiled once per schema set and release)."""
    spec = ctx.call.spec
    key = (str(spec.schema_file.parent.parent), ctx.call.release.name)
    found = _MODELS.get(key)
    if found is None:
        schema = bundled({"$ref": "../_shared/documents.json#/$defs/knowledge_config"}, spec.base, spec.registry)
        found = _MODELS[key] = compile_model("KnowledgeConfig", schema, release=ctx.call.release.name)
    return found


_MODELS: dict[tuple[str, str], Model] = {}


def _validated(ctx: ActContext, args: dict[str, Any]) -> dict[str, Any]:
    """KnowledgeConfig.model_validate(args), then document_create_args_validate: the coerced fields
    (with KnowledgeConfig's defaults) and the stored form of a given process rule (`stored`)."""
    model = knowledge_config(ctx)
    cfg = model.validate(args, ctx.call.release.pydantic)
    cfg = {"duplicate": True, "doc_form": "text_model", "doc_language": "English", **cfg}
    if not cfg.get("data_source") and not cfg.get("process_rule"):
        raise DifyError("invalid_param", "Data source or Process rule is required")
    if cfg.get("process_rule"):
        try:
            cfg["stored"] = stored_rule(cfg["process_rule"], args.get("process_rule"), ctx.call.release.name)
        except ValueError as exc:
            raise DifyError("invalid_param", str(exc)) from None
    return cfg


def _data_source(upload_id: str) -> dict[str, Any]:
    info = {"data_source_type": "upload_file", "file_info_list": {"file_ids": [upload_id]}}
    return {"type": "upload_file", "info_list": info}


def _text_source(ctx: ActContext, text: str, name: str) -> Source:
    """FileService.upload_text: the name cut to 200 characters, no extension added; the size in
    characters before 1.16, in UTF-8 bytes from 1.16."""
    data = text.encode()
    size = len(data) if compare(ctx.call.release.name, ">=1.16") else len(text)
    return Source(saving.upload_id(ctx), name[:200], size, "txt", "text/plain", account_id(ctx), float(ctx.now), data)


def _check_models(provider: Any, model: Any) -> None:
    """check_embedding_model_setting: the provider must be installed."""
    if provider and model:
        models.require_provider(str(provider))


def _save(ctx: ActContext, cfg: dict[str, Any], source: Source | None, account: str) -> Save:
    saving.check_doc_form(ctx, cfg["doc_form"])
    rule = saving.requested_rule(ctx, cfg.get("stored"))
    if cfg.get("original_document_id"):
        return saving.update(ctx, cfg, source, rule)
    assert source is not None
    return saving.create(ctx, cfg, source, rule, account)


def _check_create_by_text(ctx: ActContext) -> None:
    dataset = dataset_of(ctx)
    payload = ctx.call.payload
    args = {k: payload[k] for k in _TEXT_FIELDS if payload.get(k) is not None}
    if not dataset.indexing_technique and not args.get("indexing_technique"):
        if compare(ctx.call.release.name, "<1.14") and "indexing_technique" not in args:
            raise DifyError("unknown")  # 1.12 reads args["indexing_technique"]: a KeyError
        raise DifyError("invalid_param", "indexing_technique is required.")
    _check_models(args.get("embedding_model_provider"), args.get("embedding_model"))
    source = _text_source(ctx, payload["text"], payload["name"])
    args["data_source"] = _data_source(source.id)
    raw = ctx.call.body if isinstance(ctx.call.body, dict) else {}
    args["process_rule"] = raw.get("process_rule") if "process_rule" in args else None
    cfg = _validated(ctx, {k: v for k, v in args.items() if v is not None})
    ctx.bound["save"] = _save(ctx, cfg, source, account_id(ctx))


def _check_update_by_text(ctx: ActContext) -> None:
    dataset = dataset_of(ctx)
    payload = ctx.call.payload
    args: dict[str, Any] = {k: v for k, v in payload.items() if v is not None}
    args["indexing_technique"] = dataset.indexing_technique
    source = None
    if args.get("text"):
        source = _text_source(ctx, args["text"], str(args.get("name")))
        args["data_source"] = _data_source(source.id)
    args["original_document_id"] = ctx.call.path["document_id"].lower()
    raw = ctx.call.body if isinstance(ctx.call.body, dict) else {}
    if "process_rule" in args:
        args["process_rule"] = raw.get("process_rule")
    ctx.bound["save"] = _save(ctx, _validated(ctx, args), source, account_id(ctx))


def _data(ctx: ActContext) -> dict[str, Any]:
    """The `data` form field: json.loads's ValueError text is a 400; JSON that is no object fails
    the controller's own `"doc_form" not in args` / item assignment: a 500."""
    form = ctx.call.form
    args: Any = {}
    if "data" in form:
        try:
            args = json.loads(form["data"])
        except ValueError as exc:
            raise DifyError("invalid_param", str(exc)) from None
    if not isinstance(args, dict):
        raise DifyError("unknown")
    args.setdefault("doc_form", "text_model")  # dataset.chunk_structure: set by pipelines only
    args.setdefault("doc_language", "English")
    return args


def _file_source(ctx: ActContext, *, update: bool) -> Source:
    """FileService.upload_file(source="datasets") after the controller's file checks. The create route
    lets the upload's own errors through as 400 invalid_param with no text (1.16: 413 for size); the
    update routes answer 413 file_too_large and 415 unsupported_file_type."""
    call = ctx.call
    upload = call.files[0]
    if not upload.filename:
        raise DifyError("filename_not_exists_error")
    if any(c in upload.filename for c in call.release.upload_forbidden_chars):
        raise DifyError("invalid_param", "Filename contains invalid characters")
    ext = extension(upload.filename)
    if ext not in document_extensions(call.release.name):
        raise DifyError("unsupported_file_type") if update else DifyError("invalid_param", "")
    if upload.oversize:
        if update:
            raise DifyError("file_too_large", call.release.upload_too_large_message)
        if compare(call.release.name, ">=1.16"):
            raise DifyError("file_too_large", "")
        raise DifyError("invalid_param", "")
    name = stored_filename(upload.filename)
    return Source(
        saving.upload_id(ctx), name, upload.size, ext, upload.mime, account_id(ctx), float(ctx.now), upload.data
    )


def _check_create_by_file(ctx: ActContext) -> None:
    dataset = dataset_of(ctx)
    if dataset.provider == "external":
        raise DifyError("invalid_param", "External datasets are not supported.")
    args = _data(ctx)
    technique = args.get("indexing_technique") or dataset.indexing_technique
    if not technique:
        raise DifyError("invalid_param", "indexing_technique is required.")
    args["indexing_technique"] = technique
    if "embedding_model_provider" in args:
        if "embedding_model" not in args:
            raise DifyError("unknown")  # args["embedding_model"]: a KeyError
        _check_models(args["embedding_model_provider"], args["embedding_model"])
    call = ctx.call
    if not call.files:
        raise DifyError("no_file_uploaded")
    if call.file_fields > 1:
        raise DifyError("too_many_files")
    source = _file_source(ctx, update=False)
    args["data_source"] = _data_source(source.id)
    cfg = _validated(ctx, args)
    # The controller passes the dataset's latest rule only when `data` has no process_rule key at all.
    latest = dataset.process_rule if "process_rule" not in args else None
    if not cfg.get("original_document_id") and latest is None and not cfg.get("process_rule"):
        raise DifyError("invalid_param", "process_rule is required.")
    ctx.bound["save"] = _save(ctx, cfg, source, dataset.created_by)


def _check_update_by_file(ctx: ActContext) -> None:
    dataset = dataset_of(ctx)
    if dataset.provider == "external":
        raise DifyError("invalid_param", "External datasets are not supported.")
    args = _data(ctx)
    args["indexing_technique"] = dataset.indexing_technique
    source = None
    if ctx.call.files:
        if ctx.call.file_fields > 1:
            raise DifyError("too_many_files")
        source = _file_source(ctx, update=True)
        args["data_source"] = _data_source(source.id)
    args["original_document_id"] = ctx.call.path["document_id"].lower()
    ctx.bound["save"] = _save(ctx, _validated(ctx, args), source, dataset.created_by)


def shown(ctx: ActContext) -> dict[str, Any]:
    """{document, batch}: the document queued for a new indexing run from now (`waiting`)."""
    save: Save = ctx.bound["save"]
    queued = replace(save.document, indexing=Indexing(started_at=ctx.now))
    return {"result": {"document": document_body(ctx, queued), "batch": save.batch}}


def _commit(ctx: ActContext, _body: Any) -> None:
    saving.commit(ctx, ctx.bound["save"])


ACTIONS = (
    Action(
        "documents.create_by_text", shown, _commit, checks=(("dataset", the_dataset), ("save", _check_create_by_text))
    ),
    Action(
        "documents.create_by_file", shown, _commit, checks=(("dataset", the_dataset), ("save", _check_create_by_file))
    ),
    Action(
        "documents.update_by_text", shown, _commit, checks=(("dataset", the_dataset), ("save", _check_update_by_text))
    ),
    Action(
        "documents.update_by_file", shown, _commit, checks=(("dataset", the_dataset), ("save", _check_update_by_file))
    ),
)
