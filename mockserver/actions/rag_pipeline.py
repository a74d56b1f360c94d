"""Knowledge pipeline routes (1.13+): a pipeline file upload, and a dataset's pipeline datasource
nodes, node runs and runs (controllers/service_api/dataset/rag_pipeline/rag_pipeline_workflow.py
and services/rag_pipeline/rag_pipeline.py at dify 1.14.2 and 1.16.1;
research/knowledge_retrieval_pipeline.md §1.2, §3).

The emulated pipeline is the trivial one: no dataset has a knowledge pipeline. Dify's console makes
those (a dataset created from a pipeline template); every dataset the Service API creates has
`pipeline_id` null, so Dify's three dataset routes answer it, after their own checks in Dify's
order, 400 invalid_param "Pipeline not found". Their success shapes live in the schemas, for
scenarios to answer. The upload works in full: it needs no dataset."""

from __future__ import annotations

from typing import Any, Final

from mockserver.actions import ActContext, Action
from mockserver.actions.knowledge import account_id, the_dataset
from mockserver.actions.serialize import body
from mockserver.actions.users import iso
from mockserver.dify.files import extension, stored_filename
from mockserver.errors import DifyError
from mockserver.state.records import Blob

NO_PIPELINE: Final = "Pipeline not found"
SSE_TYPE: Final = "text/event-stream; charset=utf-8"  # Flask's Response(mimetype="text/event-stream")


def _check_upload(ctx: ActContext) -> None:
    """KnowledgebasePipelineFileUploadApi, then FileService.upload_file: a part without a MIME type is
    the service's UnsupportedFileTypeError (a ValueError with no text: 400 invalid_param ""), not the
    app upload's 415; a file over its limit is the release's error, with no text either."""
    call = ctx.call
    if not call.files:
        raise DifyError("no_file_uploaded")
    if call.file_fields > 1:
        raise DifyError("too_many_files")
    upload = call.files[0]
    if not upload.mime:
        raise DifyError("invalid_param", "")
    if not upload.filename:
        raise DifyError("filename_not_exists_error")
    if any(c in upload.filename for c in call.release.upload_forbidden_chars):
        raise DifyError("invalid_param", "Filename contains invalid characters")
    if upload.oversize:
        raise DifyError(call.release.pipeline_upload_too_large, "")


def upload(ctx: ActContext) -> dict[str, Any]:
    """201: the upload as the workspace owner made it, `created_at` an ISO text. Nothing the Service API
    offers reads it back (only a pipeline run would), so the mock keeps no copy."""
    given = ctx.call.files[0]
    made = {
        "id": ctx.draws.uuid("file"),
        "name": stored_filename(given.filename),
        "size": given.size,
        "extension": extension(given.filename),
        "mime_type": given.mime,
        "created_by": account_id(ctx),
        "created_at": iso(ctx.now),
    }
    return {"result": body(ctx, made), "file_id": made["id"]}


def _the_pipeline(ctx: ActContext) -> None:
    """RagPipelineService.get_pipeline: a dataset whose pipeline_id names no pipeline is a ValueError.
    No dataset of the mock has one (module docstring)."""
    raise DifyError("invalid_param", NO_PIPELINE)


def datasource_plugins(ctx: ActContext) -> dict[str, Any]:
    """The datasource nodes of the pipeline's workflow; unreached while no dataset has a pipeline.
    (`is_published`: 1.14 reads bool(text), only an empty value is false; 1.15+ a pydantic bool.)"""
    return {"result": []}


def run_node(ctx: ActContext) -> dict[str, Any]:
    """A datasource node's event stream; unreached while no dataset has a pipeline."""
    return {"result": Blob(b"", {"Content-Type": SSE_TYPE}, chunked=True)}


def run(ctx: ActContext) -> dict[str, Any]:
    """A pipeline run; unreached while no dataset has a pipeline."""
    return {"result": None}


_PIPELINE_CHECKS: Final = (("dataset", the_dataset), ("pipeline", _the_pipeline))

ACTIONS = (
    Action("rag_pipeline.upload", upload, checks=(("upload", _check_upload),)),
    Action("rag_pipeline.datasource_plugins", datasource_plugins, checks=_PIPELINE_CHECKS),
    Action("rag_pipeline.run_node", run_node, checks=_PIPELINE_CHECKS),
    Action("rag_pipeline.run", run, checks=_PIPELINE_CHECKS),
)
