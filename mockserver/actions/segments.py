"""Knowledge API segments (chunks): add, list, get, update, delete (controllers/service_api/dataset/
segment.py and services/dataset_service.py SegmentService at dify 1.12.0, 1.14.2 and 1.16.1;
research/knowledge_segments_metadata.md §3.1-§3.3). A create's body is checked in segment_items.py; the
child-chunk routes are in child_chunks.py, and both families' actions are registered here."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from msgspec.structs import replace

from mockserver import validation
from mockserver.actions import ActContext, Action, child_chunks
from mockserver.actions.chunks import (
    count_words,
    generated_children,
    new_segment,
    readable_ints,
    segment_body,
    segment_of,
    segment_views,
    text_hash,
    the_body,
    the_segment,
    tokens,
    visible,
)
from mockserver.actions.knowledge import account_id, dataset_of, document_of, progress_of, the_dataset, the_document
from mockserver.actions.segment_items import the_items
from mockserver.actions.serialize import View
from mockserver.dify.splitter import Chunk
from mockserver.dify.textsplit import SplitError
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.state import pagination
from mockserver.state.knowledge import Segment

# -- create --------------------------------------------------------------------------------------


def _completed(ctx: ActContext) -> None:
    """SegmentApi.post: the document must be indexed and enabled (both 404 not_found)."""
    document = document_of(ctx)
    if not progress_of(ctx, document).completed:
        raise DifyError("not_found", "Document is not completed.")
    if not document.enabled:
        raise DifyError("not_found", "Document is disabled.")


def create(ctx: ActContext) -> dict[str, Any]:
    """SegmentService.multi_create_segment: positions after the document's highest, completed at
    once; a hierarchical document's segments get child chunks cut by its rule, and when that cannot
    be done (an economy dataset) the whole batch is stored in error, still a 200."""
    dataset, document = dataset_of(ctx), document_of(ctx)
    qa = document.doc_form == "qa_model"
    rows = ctx.tenant.state.segments_of(document.id)
    position = max((s.position for s in rows), default=0) + 1
    made: list[Segment] = []
    for n, item in enumerate(ctx.bound["items"]):
        content: str = item["content"]
        answer: str | None = item["answer"] if qa else None
        words = len(content) + len(answer or "")
        piece = Chunk(content, text_hash(content), words, tokens(dataset, content + (answer or "")), answer=answer)
        segment = new_segment(
            ctx,
            document,
            piece,
            (f"segment:{n}", f"node:{n}"),
            position + n,
            created_by=account_id(ctx),
            keywords=item["keywords"],
            indexing_at=ctx.now,
            completed_at=ctx.now,
        )
        made.append(segment)
    if document.doc_form == "hierarchical_model":
        try:
            for segment in made:
                segment.child_chunks = generated_children(ctx, segment, document)
        except (ValueError, SplitError) as exc:
            for segment in made:
                segment.child_chunks = []
                segment.enabled, segment.disabled_at, segment.status, segment.error = False, ctx.now, "error", str(exc)
    ctx.bound["made"] = made
    views = segment_views(ctx)
    return {"result": {"data": [segment_body(ctx, s, views) for s in made], "doc_form": document.doc_form}}


def _commit_create(ctx: ActContext, _body: Any) -> None:
    made: list[Segment] = ctx.bound["made"]
    for segment in made:
        ctx.tenant.state.add_segment(segment)
    count_words(ctx, document_of(ctx), sum(s.word_count for s in made))


# -- list ----------------------------------------------------------------------------------------


def _query(ctx: ActContext) -> None:
    """1.15+: SegmentListQuery over the query text, malformed integers dropped (query_params_from_request
    use_defaults_for_malformed_ints); before, the raw text."""
    validation.apply_models(ctx.call, readable_ints(ctx.call.query, ("limit", "page"), as_int=False))


def listed(ctx: ActContext) -> dict[str, Any]:
    """SegmentService.get_segments: the document's rows (position, id), `status IN` the list when
    one is given, content ILIKE the keyword; page and limit echo the request."""
    p, document = ctx.call.params, document_of(ctx)
    page, limit = pagination.arg_int(p.get("page"), 1), pagination.arg_int(p.get("limit"), 20)
    statuses = p.get("status") or []
    statuses = statuses if isinstance(statuses, list) else [statuses]
    keyword = str(p.get("keyword") or "").lower()
    views = segment_views(ctx)
    rows = [
        s
        for s in ctx.tenant.state.segments_of(document.id)
        if visible(ctx, s)
        and (not statuses or views["status"](s) in statuses)
        and (not keyword or keyword in s.content.lower())
    ]
    rows.sort(key=lambda s: (s.position, s.id))
    # flask-sqlalchemy's paginate (to 1.14): page < 1 is 1, per_page < 1 is 20; 1.15+ refused them.
    found = pagination.paginate(rows, page, limit)
    data = [segment_body(ctx, s, views) for s in found.items]
    envelope = {
        "data": data,
        "doc_form": document.doc_form,
        "total": len(rows),
        "has_more": len(data) == limit,
        "limit": limit,
        "page": page,
    }
    return {"result": envelope}


# -- get, update, delete -------------------------------------------------------------------------


def get(ctx: ActContext) -> dict[str, Any]:
    return {"result": {"data": segment_body(ctx, segment_of(ctx)), "doc_form": document_of(ctx).doc_form}}


def _updatable(ctx: ActContext) -> None:
    ctx.bound["changes"] = _changes(ctx)


def _changes(ctx: ActContext) -> dict[str, Any]:
    """SegmentService.update_segment's changes to the segment, and the document's word-count delta
    (`_delta`). Refuses with Dify's ValueErrors; an indexing failure after the change is committed
    (child chunks of an economy dataset) leaves the segment in error, still a 200."""
    args: dict[str, Any] = ctx.call.payload["segment"]
    segment, document, dataset = segment_of(ctx), document_of(ctx), dataset_of(ctx)
    qa = document.doc_form == "qa_model"
    enabled = args.get("enabled")
    if enabled is False and segment.enabled:  # disabling does nothing else
        return {"enabled": False, "disabled_at": ctx.now, "disabled_by": account_id(ctx), "_delta": 0}
    if not segment.enabled and enabled is not True:
        raise DifyError("invalid_param", "Can't update disabled segment")
    content = args.get("content") or segment.content
    answer = args.get("answer") if qa else segment.answer
    words = len(content) + (len(answer or "") if qa else 0)
    out: dict[str, Any] = {"enabled": True, "disabled_at": None, "disabled_by": None, "word_count": words}
    if qa:
        out["answer"] = answer
    keywords = args.get("keywords")
    if content == segment.content:
        if keywords and Counter(segment.keywords or []) != Counter(keywords):
            out["keywords"] = keywords
    else:
        if qa and answer is None and dataset.indexing_technique == "high_quality":
            # content + segment.answer with no answer: a TypeError the service's handler stores
            error = 'can only concatenate str (not "NoneType") to str'
            failed = {"enabled": False, "disabled_at": ctx.now, "status": "error", "error": error}
            return {"answer": None, **failed, "_delta": 0}
        out.update(
            content=content,
            index_node_hash=text_hash(content),
            tokens=tokens(dataset, content + (answer or "")),
            status="completed",
            indexing_at=ctx.now,
            completed_at=ctx.now,
            updated_by=account_id(ctx),
            updated_at=ctx.now,
        )
        if keywords and dataset.indexing_technique != "high_quality":
            out["keywords"] = keywords  # the keyword index stores the given ones
    out["_delta"] = words - segment.word_count
    summary = args.get("summary")
    if summary is not None and _summarised(ctx):
        out["summary"] = summary if summary.strip() else None  # a blank one deletes it
    if document.doc_form == "hierarchical_model" and args.get("regenerate_child_chunks"):
        try:
            out["child_chunks"] = generated_children(ctx, replace(segment, content=content), document)
        except (ValueError, SplitError) as exc:
            out.update(enabled=False, disabled_at=ctx.now, status="error", error=str(exc))
    return out


def _summarised(ctx: ActContext) -> bool:
    """SummaryIndexService.update_summary_for_segment (1.14+): a high_quality dataset's segments that
    are not of a qa_model document keep the summary an update gives them."""
    document = ctx.tenant.state.documents.get(segment_of(ctx).document_id)
    return (
        compare(ctx.call.release.name, ">=1.14")
        and dataset_of(ctx).indexing_technique == "high_quality"
        and (document is None or document.doc_form != "qa_model")
    )


def update(ctx: ActContext) -> dict[str, Any]:
    changes = ctx.bound["changes"]
    preview = replace(segment_of(ctx), **{k: v for k, v in changes.items() if not k.startswith("_")})
    views: dict[str, View] = segment_views(ctx)
    return {"result": {"data": segment_body(ctx, preview, views), "doc_form": document_of(ctx).doc_form}}


def _commit_update(ctx: ActContext, _body: Any) -> None:
    segment, changes = segment_of(ctx), ctx.bound["changes"]
    for key, value in changes.items():
        if not key.startswith("_"):
            setattr(segment, key, value)
    # the URL's document, even for another document's segment (1.12/1.14)
    count_words(ctx, document_of(ctx), changes["_delta"], floor=True)


def delete(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    """The row goes with its child chunks; the URL document loses its word_count (no clamp)."""
    segment = segment_of(ctx)
    ctx.tenant.state.segments.remove(segment.id)
    count_words(ctx, document_of(ctx), -segment.word_count)


_SEGMENT: Final = (("dataset", the_dataset), ("document", the_document), ("segment", the_segment))

ACTIONS = (
    Action(
        "segments.create",
        create,
        _commit_create,
        checks=(("dataset", the_dataset), ("document", the_document), ("completed", _completed), ("body", the_items)),
    ),
    Action("segments.list", listed, checks=(("dataset", the_dataset), ("query", _query), ("document", the_document))),
    Action("segments.get", get, checks=_SEGMENT),
    Action("segments.update", update, _commit_update, checks=(*_SEGMENT, ("body", the_body), ("changes", _updatable))),
    Action("segments.delete", delete, _commit_delete, checks=_SEGMENT),
    *child_chunks.ACTIONS,
)
