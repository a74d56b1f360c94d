"""Knowledge API child chunks of a segment: add, list, update, delete (controllers/service_api/dataset/
segment.py ChildChunkApi / DatasetChildChunkApi and SegmentService's child-chunk methods at dify
1.12.0, 1.14.2 and 1.16.1; research/knowledge_segments_metadata.md §3.4). No handler checks the
document's doc_form or state; no word count moves."""

from __future__ import annotations

import math
from typing import Any

from msgspec.structs import replace

from mockserver import validation
from mockserver.actions import ActContext, Action
from mockserver.actions.chunks import (
    child_body,
    child_chunk_of,
    new_child,
    readable_ints,
    scoped,
    segment_of,
    the_body,
    the_child_chunk,
    the_deletable_segment,
    the_own_segment,
    the_segment,
)
from mockserver.actions.knowledge import dataset_of, document_of, the_dataset, the_document
from mockserver.state import pagination


def create(ctx: ActContext) -> dict[str, Any]:
    """SegmentService.create_child_chunk: `customized`, after the highest position of the segment's
    chunks under this dataset and document."""
    segment, document = segment_of(ctx), document_of(ctx)
    content: str = ctx.call.payload["content"]
    mine = [c for c in segment.child_chunks if c.document_id == document.id and c.dataset_id == dataset_of(ctx).id]
    position = max((c.position for c in mine), default=0) + 1
    # the URL's document (a 1.12/1.14 segment may be another document's)
    made = new_child(ctx, "child_chunk", segment, position, content, document, kind="customized")
    ctx.bound["made"] = made
    return {"result": {"data": child_body(ctx, made)}}


def _commit_create(ctx: ActContext, _body: Any) -> None:
    segment_of(ctx).child_chunks.append(ctx.bound["made"])


def _query(ctx: ActContext) -> None:
    """ChildChunkListQuery after the lookups: before 1.16 over request.args.get(type=int)'s ints, from
    1.16 over the text, so its error shows an int or the text; malformed integers are the defaults."""
    validation.apply_models(ctx.call, readable_ints(ctx.call.query, ("limit", "page"), as_int=not scoped(ctx)))


def listed(ctx: ActContext) -> dict[str, Any]:
    """SegmentService.get_child_chunks: this dataset's, document's and segment's chunks by position,
    content ILIKE the keyword; `limit` capped at 100 and echoed capped; total_pages = ceil(total/limit)."""
    p = ctx.call.params
    page, limit = int(p["page"]), min(int(p["limit"]), pagination.MAX_PER_PAGE)
    keyword = str(p.get("keyword") or "").lower()
    dataset, document = dataset_of(ctx), document_of(ctx)
    rows = sorted(
        (
            c
            for c in segment_of(ctx).child_chunks
            if c.dataset_id == dataset.id
            and c.document_id == document.id
            and (not keyword or keyword in c.content.lower())
        ),
        key=lambda c: (c.position, c.created_seq),
    )
    data = [child_body(ctx, c) for c in pagination.by_page(rows, page, limit).items]
    envelope = {
        "data": data,
        "total": len(rows),
        "total_pages": math.ceil(len(rows) / limit),
        "page": page,
        "limit": limit,
    }
    return {"result": envelope}


def update(ctx: ActContext) -> dict[str, Any]:
    """SegmentService.update_child_chunk: the content, its word_count, `customized`, a new updated_at."""
    content: str = ctx.call.payload["content"]
    changes: dict[str, Any] = {"content": content, "word_count": len(content), "type": "customized"}
    changes["updated_at"] = ctx.now
    ctx.bound["changes"] = changes
    return {"result": {"data": child_body(ctx, replace(child_chunk_of(ctx), **changes))}}


def _commit_update(ctx: ActContext, _body: Any) -> None:
    child = child_chunk_of(ctx)
    for key, value in ctx.bound["changes"].items():
        setattr(child, key, value)


def delete(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    segment_of(ctx).child_chunks.remove(child_chunk_of(ctx))


_FOUND = (("dataset", the_dataset), ("document", the_document))

ACTIONS = (
    Action(
        "segments.create_child_chunk",
        create,
        _commit_create,
        checks=(*_FOUND, ("segment", the_segment), ("body", the_body)),
    ),
    Action("segments.list_child_chunks", listed, checks=(*_FOUND, ("segment", the_segment), ("query", _query))),
    Action(
        "segments.update_child_chunk",
        update,
        _commit_update,
        checks=(*_FOUND, ("segment", the_own_segment), ("child_chunk", the_child_chunk), ("body", the_body)),
    ),
    Action(
        "segments.delete_child_chunk",
        delete,
        _commit_delete,
        checks=(*_FOUND, ("segment", the_deletable_segment), ("child_chunk", the_child_chunk)),
    ),
)
