"""What the segment and child-chunk routes share (controllers/service_api/dataset/segment.py and
services/dataset_service.py SegmentService at dify 1.12.0, 1.14.2 and 1.16.1;
research/knowledge_segments_metadata.md §2, §3): the lookups in Dify's order, the request models
applied where Dify's handlers apply them (after the lookups), the document's word-count arithmetic
and a Segment's body.

A document's segment rows exist from its `indexing` stage on (IndexingRunner._load_segments); until the
document completes they are `indexing` and disabled, then `completed` and enabled with the document's
stamps. Segments made through the API carry their own stamps."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from mockserver import validation
from mockserver.actions import ActContext
from mockserver.actions.knowledge import dataset_of, document_of, progress_of
from mockserver.actions.serialize import View, serialize
from mockserver.dify import splitter
from mockserver.dify.splitter import Chunk
from mockserver.dify.versions import compare
from mockserver.endpoint import EndpointSpec
from mockserver.errors import DifyError
from mockserver.schemarefs import bundled
from mockserver.state.knowledge import ChildChunk, Dataset, Document, Segment

SEGMENT_MISSING: Final = "Segment not found."
DOCUMENT_MISSING: Final = "Document not found."
CHILD_MISSING: Final = "Child chunk not found."
# 1.16's _get_segment_for_document: a segment of the URL's dataset and document only; 1.12 and 1.14
# (1.15.0 too) find it by id in the whole workspace (SegmentService.get_segment_by_id).
SCOPED: Final = ">=1.16"
NOT_HIGH_QUALITY: Final = "The knowledge base index technique is not high quality!"


def text_hash(text: str) -> str:
    """libs/helper.py generate_text_hash: sha256(text + "None"), hex."""
    return hashlib.sha256((text + "None").encode("utf-8", "surrogatepass")).hexdigest()


def tokens(dataset: Dataset, text: str) -> int:
    """The embedding model's count of a high_quality dataset (the splitter's estimate); 0 in economy."""
    return splitter.count_tokens(text) if dataset.indexing_technique == "high_quality" else 0


def scoped(ctx: ActContext) -> bool:
    return compare(ctx.call.release.name, SCOPED)


# -- lookups -------------------------------------------------------------------------------------


def visible(ctx: ActContext, segment: Segment) -> bool:
    """A segment row exists once its document reached the indexing stage."""
    document = ctx.tenant.state.documents.get(segment.document_id)
    return document is not None and progress_of(ctx, document).segments_visible


def _find(ctx: ActContext, same_document: bool) -> Segment | None:
    wanted = ctx.call.path["segment_id"].lower()
    owner = {"document_id": document_of(ctx).id} if same_document else {}
    found = ctx.tenant.state.segments.get(wanted, **owner)
    return found if found is not None and visible(ctx, found) else None


def the_segment(ctx: ActContext) -> None:
    """The URL's segment: in the URL document from 1.16, anywhere in the workspace before; else 404."""
    found = _find(ctx, scoped(ctx))
    if found is None:
        raise DifyError("not_found", SEGMENT_MISSING)
    ctx.bound["segment"] = found


def the_own_segment(ctx: ActContext) -> None:
    """A child chunk PATCH's segment: found in the workspace, then it must be the URL document's
    ("Segment not found." either way; 1.16 looks in the document at once)."""
    the_segment(ctx)
    if segment_of(ctx).document_id != document_of(ctx).id:
        raise DifyError("not_found", SEGMENT_MISSING)


def the_deletable_segment(ctx: ActContext) -> None:
    """A child chunk DELETE's segment: before 1.16 one of another document is "Document not found."."""
    the_segment(ctx)
    if segment_of(ctx).document_id != document_of(ctx).id:
        raise DifyError("not_found", DOCUMENT_MISSING)


def segment_of(ctx: ActContext) -> Segment:
    found: Segment = ctx.bound["segment"]
    return found


def the_child_chunk(ctx: ActContext) -> None:
    """The URL's child chunk of the URL's segment, else 404 "Child chunk not found."."""
    wanted = ctx.call.path["child_chunk_id"].lower()
    found = next((c for c in segment_of(ctx).child_chunks if c.id == wanted), None)
    if found is None:
        raise DifyError("not_found", CHILD_MISSING)
    ctx.bound["child_chunk"] = found


def child_chunk_of(ctx: ActContext) -> ChildChunk:
    found: ChildChunk = ctx.bound["child_chunk"]
    return found


def readable_ints(query: Mapping[str, Any], names: tuple[str, ...], as_int: bool) -> dict[str, Any]:
    """The query as a handler hands it to its model: an integer parameter whose text int() cannot read
    is dropped, so its default stands (request.args.get(type=int), query_params_from_request's
    use_defaults_for_malformed_ints); `as_int` hands the others on as ints (type=int), else as text."""
    out = dict(query)
    for name in names:
        if not isinstance(out.get(name), str):
            continue
        try:
            number = int(out[name])
        except ValueError:
            del out[name]
            continue
        if as_int:
            out[name] = number
    return out


def the_body(ctx: ActContext) -> None:
    """The request model over the body, at the point of the handler that validates it."""
    validation.apply_models(ctx.call)


# -- effects -------------------------------------------------------------------------------------


def count_words(ctx: ActContext, document: Document, delta: int, floor: bool = False) -> None:
    """Move the document's word_count (an update clamps it at 0, a delete does not); a row whose
    value changed gets a new updated_at (Document.updated_at's onupdate)."""
    if delta == 0:
        return
    document.word_count = max(0, document.word_count + delta) if floor else document.word_count + delta
    document.updated_at = ctx.now


def shows_children(document: Document) -> bool:
    """DocumentSegment.child_chunks: a hierarchical rule whose parent_mode is not full-doc (a stored
    hierarchical rule always has one: paragraph unless said otherwise)."""
    rule = document.process_rule or {}
    rules = rule.get("rules") or {}
    parent_mode = rules.get("parent_mode") or "paragraph"
    return rule.get("mode") == "hierarchical" and bool(rules) and parent_mode != "full-doc"


def generated_children(ctx: ActContext, segment: Segment, document: Document) -> list[ChildChunk]:
    """VectorService.generate_child_chunks: the segment's content cut into `automatic` child chunks by
    the document's rule in full-doc mode. Raises ValueError (Dify's text) when it cannot."""
    if dataset_of(ctx).indexing_technique != "high_quality":
        raise ValueError(NOT_HIGH_QUALITY)
    rule = document.process_rule or {}
    if rule.get("mode") != "hierarchical" or not rule.get("rules"):
        return []
    full_doc = {"mode": "hierarchical", "rules": {**rule["rules"], "parent_mode": "full-doc"}}
    pieces = splitter.split(segment.content, full_doc, "hierarchical_model", ctx.call.release.name)
    texts = pieces[0].children if pieces else ()
    return [new_child(ctx, f"child:{segment.id}:{n}", segment, n, text) for n, text in enumerate(texts, start=1)]


# -- factories -----------------------------------------------------------------------------------


def new_segment(
    ctx: ActContext,
    document: Document,
    piece: Chunk,
    draws: tuple[str, str],
    position: int,
    created_by: str,
    **columns: Any,
) -> Segment:
    """A segment row of `document` made now from a cut piece (indexing's, or an API item's); `draws` label
    its id and its index node id. `columns` are the rest an API item sets (keywords, its stamps)."""
    return Segment(
        id=ctx.draws.uuid(draws[0]),
        dataset_id=document.dataset_id,
        document_id=document.id,
        position=position,
        content=piece.content,
        word_count=piece.word_count,
        tokens=piece.tokens,
        index_node_id=ctx.draws.uuid(draws[1]),
        index_node_hash=piece.index_node_hash,
        created_by=created_by,
        created_at=ctx.now,
        answer=piece.answer,
        updated_at=ctx.now,
        **columns,
    )


def new_child(
    ctx: ActContext,
    draw: str,
    segment: Segment,
    position: int,
    content: str,
    document: Document | None = None,
    kind: str = "automatic",
) -> ChildChunk:
    """A child chunk of `segment` made now, its id drawn as `draw`; it belongs to the segment's dataset
    and document unless `document` is given (an API call's URL document, which a 1.12/1.14 segment need
    not be in). `kind`: automatic (cut by a rule) or customized (given through the API)."""
    return ChildChunk(
        id=ctx.draws.uuid(draw),
        dataset_id=document.dataset_id if document else segment.dataset_id,
        document_id=document.id if document else segment.document_id,
        segment_id=segment.id,
        position=position,
        content=content,
        word_count=len(content),
        created_at=ctx.now,
        updated_at=ctx.now,
        type=kind,
    )


# -- bodies --------------------------------------------------------------------------------------


def _record_schema(spec: EndpointSpec) -> Mapping[str, Any]:
    """The Segment (or ChildChunk) schema inside an endpoint's body: `data`, or its items (a body that
    is only `{"data": <object>}` has no record_schema: its own, bundled)."""
    schema = spec.record_schema
    if schema is None and spec.response_schema is not None:
        schema = bundled(spec.response_schema, spec.base, spec.registry)
    found = (schema or {}).get("properties", {}).get("data", schema or {})
    return found.get("items", found) if isinstance(found, Mapping) else {}


def segment_views(ctx: ActContext) -> dict[str, View]:
    """A segment's computed fields: its stamps and state follow its document's indexing until the
    document completes; child_chunks only for a hierarchical paragraph document."""
    documents = ctx.tenant.state.documents

    def progress(s: Segment) -> Any:
        document = documents.get(s.document_id)
        return progress_of(ctx, document) if document is not None else None

    def indexed(s: Segment) -> bool:
        found = progress(s)
        return s.completed_at is not None or found is None or found.completed

    def stamp(column: str, own: str) -> View:
        def view(s: Segment) -> Any:
            value = getattr(s, own)
            if value is not None:
                return value
            found = progress(s)
            return found.times.get(column) if found is not None else None

        return view

    def children(s: Segment) -> list[ChildChunk]:
        document = documents.get(s.document_id)
        if document is None or not shows_children(document):
            return []
        return sorted(s.child_chunks, key=lambda c: (c.position, c.created_seq))

    return {
        "sign_content": lambda s: s.content,
        "status": lambda s: s.status if indexed(s) else "indexing",
        "enabled": lambda s: s.enabled if indexed(s) else False,
        "indexing_at": stamp("splitting_completed_at", "indexing_at"),
        "completed_at": lambda s: stamp("completed_at", "completed_at")(s) if indexed(s) else None,
        "updated_at": lambda s: s.updated_at or s.created_at,
        "child_chunks": children,
        # 1.12 marshals a segment without looking its summary up
        "summary": lambda s: s.summary if compare(ctx.call.release.name, ">=1.14") else None,
    }


def segment_body(ctx: ActContext, segment: Segment, views: dict[str, View] | None = None) -> Any:
    schema = _record_schema(ctx.call.spec)
    return serialize(segment, schema, ctx.call.release.name, views or segment_views(ctx))


def child_body(ctx: ActContext, child: ChildChunk) -> Any:
    return serialize(child, _record_schema(ctx.call.spec), ctx.call.release.name)
