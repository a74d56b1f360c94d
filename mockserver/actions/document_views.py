"""How a Knowledge API document reads at this request's mock time: its indexing columns, the
computed fields of its bodies (create/update/list, the detail, an indexing-status item) and the
state its indexed segments are in. Dify's worker writes these columns as it goes; the emulator
derives them from dify/indexing.py's progress (research/knowledge_documents.md §2, knowledge_
indexing.md §1). Segment and metadata routes read documents through here too."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from mockserver.actions import ActContext
from mockserver.actions.doc_metadata import document_metadata
from mockserver.actions.knowledge import progress_of, updated_at
from mockserver.actions.serialize import View, serialize
from mockserver.dify.documents import DEFAULT_RULES, display_status
from mockserver.dify.indexing import STAGES, Progress
from mockserver.dify.versions import compare
from mockserver.schemarefs import bundled
from mockserver.state.knowledge import Dataset, Document, Segment


class Columns(Struct, frozen=True):
    """A document's indexing columns as Dify's worker would have left them by now."""

    progress: Progress
    indexing_status: str  # the column: the stage reached, `error`, or the stage a pause stopped at
    is_paused: bool
    error: str | None
    times: dict[str, int]

    @property
    def segments_visible(self) -> bool:
        return self.progress.segments_visible

    @property
    def completed(self) -> bool:
        return self.progress.completed


def columns(ctx: ActContext, document: Document) -> Columns:
    found = progress_of(ctx, document)
    paused = found.status == "paused"
    status = STAGES[found.stage] if paused else found.status
    error = (document.indexing.error or "") if found.status == "error" else None
    return Columns(found, status, paused, error, found.times)


def display(ctx: ActContext, document: Document) -> str | None:
    col = columns(ctx, document)
    return display_status(col.indexing_status, col.is_paused, document.enabled, document.archived)


def segment_state(ctx: ActContext, document: Document) -> tuple[str, bool, int | None, int | None] | None:
    """(status, enabled, indexing_at, completed_at) of the segments indexing made, or None while they
    do not exist yet (before the `indexing` stage). They are `indexing` and disabled until the document
    completes, then `completed` and enabled (IndexingRunner._load_segments, _load)."""
    col = columns(ctx, document)
    if not col.segments_visible:
        return None
    started = col.times.get("splitting_completed_at")
    if col.completed:
        return "completed", True, started, col.times.get("completed_at")
    return "indexing", False, started, None


def visible_segments(ctx: ActContext, document: Document) -> list[Segment]:
    """The document's segment rows that exist at this mock time (none before the `indexing` stage)."""
    if not columns(ctx, document).segments_visible:
        return []
    return ctx.tenant.state.segments_of(document.id)


def doc_metadata(ctx: ActContext, document: Document, *, detail: bool = False) -> list[dict[str, Any]] | None:
    """Document.doc_metadata_details, rendered by actions/doc_metadata.py: the list and create bodies
    (not the detail) show [] for None from 1.16, and stringify values before 1.16 (fields.String)."""
    newest = compare(ctx.call.release.name, ">=1.16")
    dataset = ctx.tenant.state.datasets.require(document.dataset_id)
    shown = document_metadata(ctx, dataset, document, typed=newest or detail)
    return [] if shown is None and newest and not detail else shown


def hit_count(ctx: ActContext, document: Document) -> int:
    return sum(s.hit_count for s in visible_segments(ctx, document))


def _views(ctx: ActContext) -> dict[str, View]:
    def word_count(d: Document) -> int | None:
        return d.word_count if columns(ctx, d).segments_visible else None

    return {
        "data_source_info": lambda d: {"upload_file_id": (d.upload_file or {}).get("id")},
        "data_source_detail_dict": lambda d: {"upload_file": d.upload_file} if d.upload_file else {},
        "dataset_process_rule_id": lambda d: d.process_rule_id,
        "tokens": lambda d: d.tokens if columns(ctx, d).completed else None,
        "indexing_status": lambda d: columns(ctx, d).indexing_status,
        "error": lambda d: columns(ctx, d).error,
        "display_status": lambda d: display(ctx, d),
        "word_count": word_count,
        "hit_count": lambda d: hit_count(ctx, d),
        "doc_metadata": lambda d: doc_metadata(ctx, d),
        "summary_index_status": lambda d: None,
    }


def document_body(ctx: ActContext, document: Document) -> Any:
    """The document as create, update and the list send it (the `document` schema of the release)."""
    spec = ctx.call.spec
    schema = bundled({"$ref": "../_shared/documents.json#/$defs/document"}, spec.base, spec.registry)
    return serialize(document, schema, ctx.call.release.name, _views(ctx))


def latest_rule(dataset: Dataset) -> dict[str, Any]:
    """DatasetService.get_process_rules: the dataset's latest rule as {mode, rules}, else DEFAULT_RULES."""
    rule = dataset.process_rule
    if rule is None:
        return {"mode": DEFAULT_RULES["mode"], "rules": DEFAULT_RULES["rules"]}
    return {"mode": rule["mode"], "rules": rule["rules"] or {}}


def detail_views(ctx: ActContext, dataset: Dataset) -> dict[str, View]:
    """The detail route's own fields (a hand-built dict in Dify, documents/<id> GET)."""

    def latency(d: Document) -> float | None:
        times = columns(ctx, d).times
        if "completed_at" not in times:
            return None
        return float(times["completed_at"] - times["splitting_completed_at"])

    def average(d: Document) -> int:
        count = len(visible_segments(ctx, d))
        words = d.word_count if columns(ctx, d).segments_visible else 0
        return words // count if words and count else 0

    return {
        **_views(ctx),
        "data_source_info": lambda d: {"upload_file": d.upload_file} if d.upload_file else {},
        "dataset_process_rule": lambda d: latest_rule(dataset),
        "document_process_rule": lambda d: dict(d.process_rule or {}),
        "completed_at": lambda d: columns(ctx, d).times.get("completed_at"),
        "updated_at": lambda d: updated_at(ctx, d),
        "indexing_latency": latency,
        "doc_metadata": lambda d: doc_metadata(ctx, d, detail=True),
        "segment_count": lambda d: len(visible_segments(ctx, d)),
        "average_segment_length": average,
        "need_summary": lambda d: bool(d.need_summary),
    }


def status_item(ctx: ActContext, document: Document) -> dict[str, Any]:
    """One indexing-status item (document_status_fields; 1.16's three extra keys stay null)."""
    col = columns(ctx, document)
    segments = visible_segments(ctx, document)
    item = {
        "id": document.id,
        "indexing_status": "paused" if col.is_paused else col.indexing_status,
        **{key: col.times.get(key) for key in _STAMPS},
        "paused_at": col.progress.paused_at,
        "error": col.error,
        "stopped_at": col.progress.stopped_at,
        "completed_segments": len(segments) if col.completed else 0,
        "total_segments": len(segments),
    }
    schema = ctx.call.spec.record_schema or {}
    return dict(serialize(item, schema, ctx.call.release.name))


_STAMPS: tuple[str, ...] = ("processing_started_at", "parsing_completed_at", "cleaning_completed_at")
_STAMPS += ("splitting_completed_at", "completed_at")
