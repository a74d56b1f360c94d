"""A segment-create request's body as each release checks it (controllers/service_api/dataset/segment.py
SegmentApi.post and services/dataset_service.py segment_create_args_validate at dify 1.12.0, 1.14.2 and
1.16.1; research/knowledge_segments_metadata.md §3.1): the model, then every item before anything is
written. From 1.15 any SegmentCreatePayload error is the handler's own `{"error": str(e)}` body;
before, only a missing or null `segments` is."""

from __future__ import annotations

from typing import Any, Final

from mockserver import validation
from mockserver.actions import ActContext
from mockserver.actions.knowledge import document_of
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.payload import compile_model
from mockserver.payload.types import Invalid

ATTACHMENT_LIMIT: Final = 10  # SINGLE_CHUNK_ATTACHMENT_LIMIT's default
# SegmentCreatePayload before 1.15: `segments: list[dict[str, Any]] | None`, its errors the standard 400.
_LEGACY_CREATE: Final = compile_model(
    "SegmentCreatePayload",
    {"properties": {"segments": {"type": ["array", "null"], "items": {"type": "object"}}}},
)


def the_items(ctx: ActContext) -> None:
    """The body, then every item, before anything is written. From 1.15 any SegmentCreatePayload error
    is the handler's own `{"error": str(e)}`; before, only a missing or null `segments` is."""
    call = ctx.call
    if compare(call.release.name, ">=1.15"):
        try:
            validation.apply_models(call)
        except DifyError as exc:
            raise DifyError("invalid_param", exc.message, raw={"error": exc.message}) from None
        # model_dump(exclude_none=True): a null field is a missing one
        items = [{k: v for k, v in item.items() if v is not None} for item in call.payload["segments"]]
    else:
        body = call.body or {}
        if not isinstance(body, dict):
            wrong = Invalid(
                "model_type", body, message="Input should be a valid dictionary or instance of SegmentCreatePayload"
            )
            raise DifyError("invalid_param", _LEGACY_CREATE.describe([wrong], call.release.pydantic))
        checked = _LEGACY_CREATE.validate(body, call.release.pydantic)
        if checked.get("segments") is None:
            raise DifyError("invalid_param", "Segments is required", raw={"error": "Segments is required"})
        items = checked["segments"]
    qa = document_of(ctx).doc_form == "qa_model"
    for item in items:
        _item_rules(item, qa)
    # The stored keywords; a raw item's that cannot be rendered fail here (Dify: after the commit).
    ctx.bound["items"] = [{**item, "keywords": _keywords(item)} for item in items]


def _item_rules(item: dict[str, Any], qa: bool) -> None:
    """SegmentService.segment_create_args_validate. A truthy non-text content or answer (only a raw
    1.12/1.14 item can have one) fails on `.strip()`: an AttributeError, Dify's 500."""
    if qa:
        answer = item.get("answer")
        if not answer:
            raise DifyError("invalid_param", "Answer is required")
        if not isinstance(answer, str):
            raise DifyError("unknown")
        if not answer.strip():
            raise DifyError("invalid_param", "Answer is empty")
    content = item.get("content")
    if content and not isinstance(content, str):
        raise DifyError("unknown")
    if not content or not content.strip():
        raise DifyError("invalid_param", "Content is empty")
    attachments = item.get("attachment_ids")
    if attachments:
        if not isinstance(attachments, list):
            raise DifyError("invalid_param", "Attachment IDs is invalid")
        if len(attachments) > ATTACHMENT_LIMIT:
            raise DifyError("invalid_param", f"Exceeded maximum attachment limit of {ATTACHMENT_LIMIT}")


def _keywords(item: dict[str, Any]) -> list[str | None] | None:
    """`item.get("keywords", [])`; a raw 1.12/1.14 item may hold anything, which flask-restx's
    List(String) renders item by item as text (a string, character by character)."""
    given = item.get("keywords", [])
    if given is None:
        return None
    if isinstance(given, str | list):
        return [k if isinstance(k, str) or k is None else str(k) for k in given]
    raise DifyError("unknown")
