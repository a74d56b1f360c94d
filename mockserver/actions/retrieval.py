"""Knowledge API retrieval: POST /v1/datasets/{dataset_id}/retrieve and its alias /hit-testing
(controllers/service_api/dataset/hit_testing.py, controllers/console/datasets/hit_testing_base.py and
services/hit_testing_service.py at dify 1.12.0, 1.14.2 and 1.16.1; research/knowledge_retrieval_pipeline.md
§2, §4).

In Dify's order: the dataset (404, 403 enable_api), the body (HitTestingPayload: 1.13+ through the
schema's model, 1.12 here with its lenient `retrieval_model: dict`), `Query or attachment_ids is
required`, then the service: the request's retrieval model, else the dataset's stored one, else
semantic search with top_k 4; the metadata filter (only with a query: the candidate documents whose
doc_metadata passes, mockserver/dify/metadata_filter.py, and no records when none does); then the
search method (1.12's 400 for an unknown one, then its 500s for a model without
score_threshold_enabled or reranking_enable).

The search itself (mockserver/dify/lexical.py): the enabled, completed segments of the dataset's
completed, enabled, non-archived documents; a parent-child document's child chunks, each scored and
grouped under its parent (the parent's score is its best child's); a segment's summary (1.14+ keep
one given to a high_quality segment and index it), whose hit names the segment, shows the summary and
gives its score. Semantic, full-text and hybrid
search rank by the lexical score, drop what shares no word with the query, keep those at or above
score_threshold when score_threshold_enabled, then the first top_k; keyword search needs the keyword
table only a dataset that is not high_quality has (else no records), ranks by how many query words a
chunk's keywords hold and scores 0.0, as Dify's jieba search carries no score. Ties go by document
position, then segment position. Reranking and weights change nothing here.

Dify's hit testing leaves segments' hit_count as it is (only an app's knowledge retrieval counts
hits: DatasetRetrieval._on_retrieval_end); it logs a DatasetQuery row no Service API route shows.
So the call changes no state."""

from __future__ import annotations

import copy
from typing import Any, Final

from msgspec import Struct, field

from mockserver.actions import ActContext, Action
from mockserver.actions.document_views import segment_state, visible_segments
from mockserver.actions.knowledge import available, dataset_of, the_dataset
from mockserver.actions.serialize import body
from mockserver.dify import lexical
from mockserver.dify.metadata_filter import FilterError, select
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.payload import Model, compile_model
from mockserver.payload.types import Invalid
from mockserver.state.knowledge import ChildChunk, Dataset, Document, Segment

METHODS: Final = ("semantic_search", "full_text_search", "hybrid_search", "keyword_search")
# services/hit_testing_service.py default_retrieval_model (not the dataset body's top_k 2)
DEFAULT_MODEL: Final[dict[str, Any]] = {
    "search_method": "semantic_search",
    "reranking_enable": False,
    "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""},
    "top_k": 4,
    "score_threshold_enabled": False,
}
NO_QUERY: Final = "Query or attachment_ids is required"


class Hit(Struct):
    """A segment found: by its own content, by its matched child chunks (a parent-child document's) or
    by its summary (the summary index 1.14+ keeps for a summary given to a high_quality segment)."""

    segment: Segment
    document: Document
    own: float | None = None
    children: list[tuple[ChildChunk, float]] = field(default_factory=list)
    summary: tuple[str, float] | None = None

    @property
    def score(self) -> float:
        """format_retrieval_documents: a summary hit's score goes first (a chunk's own is then not
        read), a parent's is the best of its summary and children."""
        best = [s for _, s in self.children]
        if self.summary is not None:
            return max([self.summary[1], *best])
        return max([s for s in (self.own,) if s is not None] + best, default=0.0)


def _lenient_model(ctx: ActContext) -> Model:
    """1.12's HitTestingPayload: the same fields, `retrieval_model` any dict (hit_testing_base.py@1.12.0)."""
    schema = copy.deepcopy(ctx.call.spec.resolved("body") or {})
    schema.setdefault("properties", {})["retrieval_model"] = {"type": ["object", "null"]}
    return compile_model(ctx.call.spec.request_model, schema)


def _payload(ctx: ActContext) -> None:
    """The request's fields as Dify's handler has them (model_dump(exclude_none=True)), then
    hit_testing_args_check."""
    call = ctx.call
    version = call.release.pydantic
    if compare(call.release.name, "<1.13"):
        model, given = _lenient_model(ctx), call.body
        if given and not isinstance(given, dict):
            text = f"Input should be a valid dictionary or instance of {model.name}"
            raise DifyError("invalid_param", model.describe([Invalid("model_type", given, message=text)], version))
        args = model.validate(given if isinstance(given, dict) else {}, version)
    else:
        args = dict(call.payload)
    args = {k: v for k, v in args.items() if v is not None}
    if not args.get("query") and not args.get("attachment_ids"):
        raise DifyError("invalid_param", NO_QUERY)
    ctx.bound["args"] = args


def _conditions_block(ctx: ActContext, given: Any) -> dict[str, Any] | None:
    """The metadata_filtering_conditions block as the service's MetadataFilteringCondition holds it
    ({logical_operator, conditions}), or None when Dify skips filtering. 1.13+ had it through the
    request model and model_dump(exclude_none=True): the default "and" makes any object truthy unless
    both fields are null, and a null operator comes back as the default "and". 1.12 validates the raw
    dict here (MetadataFilteringCondition's own errors), so a null operator stays null: "or"."""
    if compare(ctx.call.release.name, "<1.13"):
        if not given:
            return None
        schema = (ctx.call.spec.resolved("body") or {}).get("properties", {}).get("retrieval_model", {})
        block = schema.get("properties", {}).get("metadata_filtering_conditions", {})
        model = compile_model(str(block.get("title")), block)
        version = ctx.call.release.pydantic
        if not isinstance(given, dict):
            text = f"Input should be a valid dictionary or instance of {model.name}"
            raise DifyError("invalid_param", model.describe([Invalid("model_type", given, message=text)], version))
        held = model.validate(given, version)
        return {"logical_operator": held.get("logical_operator", "and"), "conditions": held.get("conditions")}
    if not isinstance(given, dict):
        return None
    dumped = {"logical_operator": given.get("logical_operator", "and"), "conditions": given.get("conditions")}
    dumped = {k: v for k, v in dumped.items() if v is not None}
    if not dumped:
        return None
    return {"logical_operator": dumped.get("logical_operator", "and"), "conditions": dumped.get("conditions")}


def _documents(ctx: ActContext, dataset: Dataset) -> list[Document]:
    """The documents Dify searches: completed, enabled, not archived; in position order."""
    found = [d for d in ctx.tenant.state.documents.where(dataset_id=dataset.id) if available(ctx, d)]
    return sorted(found, key=lambda d: d.position)


def _filtered(ctx: ActContext, documents: list[Document], block: dict[str, Any]) -> list[Document]:
    conditions = block.get("conditions")
    if conditions is None:  # the service enumerates None
        raise DifyError("internal_server_error", "'NoneType' object is not iterable")
    try:
        return select(documents, lambda d: d.doc_metadata, conditions, block["logical_operator"])
    except FilterError as exc:
        raise DifyError("internal_server_error", str(exc)) from None


def _settings(model: dict[str, Any]) -> tuple[str, int, float]:
    """search method, top_k, score threshold, read in RetrievalService.retrieve's argument order."""
    method = model.get("search_method", "semantic_search")
    if method not in METHODS:  # only 1.12's dict gets here with another: RetrievalMethod(value)
        raise DifyError("invalid_param", f"{method!r} is not a valid RetrievalMethod")
    top_k = model.get("top_k", 4)
    top_k = top_k if isinstance(top_k, int) and not isinstance(top_k, bool) else 4  # ⚠ 1.12's other values
    for key in ("score_threshold_enabled", "reranking_enable"):
        if key not in model:  # a KeyError outside the handler's typed excepts: InternalServerError(str(e))
            raise DifyError("internal_server_error", repr(key))
    threshold = model.get("score_threshold") if model["score_threshold_enabled"] else 0.0
    return str(method), max(top_k, 0), float(threshold) if isinstance(threshold, int | float) else 0.0


def _search(ctx: ActContext) -> None:
    """HitTestingService.retrieve: the model, the metadata filter, the search (module docstring)."""
    dataset, args = dataset_of(ctx), ctx.bound["args"]
    model = args.get("retrieval_model") or dataset.retrieval_model or DEFAULT_MODEL
    query = str(args.get("query") or "")
    documents = _documents(ctx, dataset)
    block = _conditions_block(ctx, model.get("metadata_filtering_conditions")) if query else None
    if block is not None:
        documents = _filtered(ctx, documents, block)
        if not documents:
            ctx.bound["hits"] = []
            return
    method, top_k, threshold = _settings(model)
    if not query:  # attachment ids only: the mock has no image index
        ctx.bound["hits"] = []
    elif method == "keyword_search":
        ctx.bound["hits"] = _keyword_hits(ctx, dataset, documents, query)[:top_k]
    else:
        ctx.bound["hits"] = _scored_hits(ctx, documents, query, top_k, threshold)


def _segments(ctx: ActContext, document: Document) -> list[Segment]:
    found = [s for s in visible_segments(ctx, document) if s.enabled and s.status == "completed"]
    return sorted(found, key=lambda s: s.position)


def _keyword_hits(ctx: ActContext, dataset: Dataset, documents: list[Document], query: str) -> list[Hit]:
    """Dify's jieba keyword table: only a dataset that is not high_quality has one. A chunk's keywords
    are its stored ones, else its content's tokens (the mock's stand-in for jieba's extraction)."""
    if dataset.indexing_technique == "high_quality":
        return []
    counted = []
    for document in documents:
        for segment in _segments(ctx, document):
            keywords = [k for k in segment.keywords or () if k] or [segment.content]
            count = lexical.keyword_matches(query, keywords)
            if count:
                counted.append((count, Hit(segment, document, own=0.0)))
    counted.sort(key=lambda pair: -pair[0])  # stable: document, then segment position among equals
    return [hit for _, hit in counted]


Unit = tuple[float, Segment, Document, ChildChunk | None, str | None]  # score, where, child or summary


def _units(ctx: ActContext, documents: list[Document], query: str) -> list[Unit]:
    """Every vector Dify would have: a chunk's content, or a parent-child document's child chunks; and
    a segment's summary, if it has one."""
    units: list[Unit] = []
    for document in documents:
        for segment in _segments(ctx, document):
            children = sorted(segment.child_chunks, key=lambda c: c.position)
            if document.doc_form == "hierarchical_model" and children:
                units += [(lexical.score(query, c.content), segment, document, c, None) for c in children]
            else:
                units.append((lexical.score(query, segment.content), segment, document, None, None))
            summary = segment.summary
            if summary:
                units.append((lexical.score(query, summary), segment, document, None, summary))
    return units


def _scored_hits(ctx: ActContext, documents: list[Document], query: str, top_k: int, threshold: float) -> list[Hit]:
    """The lexical ranking over every unit, the first top_k kept, then grouped by segment."""
    ranked = [u for u in _units(ctx, documents, query) if u[0] > 0.0 and u[0] >= threshold]
    ranked.sort(key=lambda u: -u[0])  # stable: document, segment, child position among equals
    hits: dict[str, Hit] = {}
    for score, segment, document, child, summary in ranked[:top_k]:
        hit = hits.setdefault(segment.id, Hit(segment, document))
        if summary is not None:
            hit.summary = (summary, score)
        elif child is not None:
            hit.children.append((child, score))
        else:
            hit.own = score
    return sorted(hits.values(), key=lambda h: (-h.score, h.document.position, h.segment.position))


def _record(ctx: ActContext, hit: Hit) -> dict[str, Any]:
    """A record's values as the release renders them (research note §2.4): 1.12 marshals the ORM
    segment (sign_content = content, empty lists as null, NULL keywords null); 1.14 dumps a dataclass
    (no sign_content, no created_at); 1.16 validates a response model (created_at back)."""
    release = ctx.call.release.name
    marshalled = compare(release, "<1.13")
    segment, document = hit.segment, hit.document
    # Indexing's segments leave their times to the document's progress (document_views.segment_state).
    _, _, indexing_at, completed_at = segment_state(ctx, document) or (None, None, None, None)
    keywords = segment.keywords
    if keywords is None and not marshalled:
        keywords = []
    children = [{"id": c.id, "content": c.content, "position": c.position, "score": s} for c, s in hit.children]
    return {
        "segment": {
            **{name: getattr(segment, name) for name in _SEGMENT_FIELDS},
            "sign_content": segment.content if marshalled else None,
            "keywords": keywords,
            "created_at": None if compare(release, ">=1.13,<1.15") else segment.created_at,
            "indexing_at": segment.indexing_at if segment.indexing_at is not None else indexing_at,
            "completed_at": segment.completed_at if segment.completed_at is not None else completed_at,
            "document": {
                "id": document.id,
                "data_source_type": document.data_source_type,
                "name": document.name,
                "doc_type": None,
                "doc_metadata": document.doc_metadata or None,
            },
        },
        "child_chunks": children or (None if marshalled else []),
        "score": float(hit.score),
        "tsne_position": None,
        "files": None if marshalled else [],
        "summary": hit.summary[0] if hit.summary is not None else None,
    }


# The record's segment fields read straight from the stored segment (the schema gives their order).
_SEGMENT_FIELDS: Final = (
    "id", "position", "document_id", "content", "answer", "word_count", "tokens", "index_node_id",
    "index_node_hash", "hit_count", "enabled", "disabled_at", "disabled_by", "status", "created_by", "error",
    "stopped_at",
)  # fmt: skip


def retrieve(ctx: ActContext) -> dict[str, Any]:
    query = str(ctx.bound["args"].get("query", ""))
    shown: Any = query if compare(ctx.call.release.name, ">=1.14,<1.15") else {"content": query}
    records = [_record(ctx, hit) for hit in ctx.bound["hits"]]
    return {"result": body(ctx, {"query": shown, "records": records})}


ACTIONS = (
    Action(
        "retrieval.retrieve",
        retrieve,
        checks=(("dataset", the_dataset), ("payload", _payload), ("search", _search)),
    ),
)
