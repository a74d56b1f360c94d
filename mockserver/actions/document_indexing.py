"""The indexing run a document write queues, as Dify's worker runs it (tasks/document_indexing_task.py,
core/indexing_runner.py at dify 1.12.0, 1.14.2 and 1.16.1; research/knowledge_indexing.md §1-§6): the
raw documents a file gives, cut by dify/splitter.py into the segment rows stored now and shown from
the `indexing` stage on (document_views.py); how the run ends (a scenario's `indexing:` block, or a
splitter error in its splitting step)."""

from __future__ import annotations

import html
import re
from typing import Final

from msgspec.structs import replace

from mockserver.actions import ActContext
from mockserver.actions.chunks import new_child, new_segment
from mockserver.dify import markdown
from mockserver.dify.splitter import Chunk, SplitError, split
from mockserver.state.knowledge import Dataset, Document, Indexing, Segment

# Files the emulator cannot read (no PDF or office parser): indexed as no text, so no segment.
_BINARY: Final = frozenset({"pdf", "docx", "xlsx", "xls", "odt"})
_TAGS: Final = re.compile(r"<[^>]*>")


def raw_documents(data: bytes, extension: str) -> list[str]:
    """What indexing extracts from a file: a Markdown file's sections, an HTML file's text (its tags
    dropped, its entities read: roughly BeautifulSoup's get_text), another text file's whole text; nothing
    from PDF and office files, which the emulator cannot parse (they complete with no segment)."""
    if extension in _BINARY:
        return []
    text = markdown.decode(data)
    if extension in ("html", "htm"):
        return [html.unescape(_TAGS.sub("", text))]
    return markdown.sections(text) if extension in markdown.EXTENSIONS else [text]


def run(ctx: ActContext) -> Indexing:
    """A new run from now: the scenario's `indexing` block says how it ends (completed by default);
    `cleaning`, a stage Dify never writes, fails where cleaning happens, in the splitting step."""
    given = ctx.directives.get("indexing") or {}
    at = str(given.get("at", "indexing"))
    return Indexing(
        outcome=str(given.get("outcome", "completed")),
        at="splitting" if at == "cleaning" else at,
        error=given.get("error"),
        started_at=ctx.now,
    )


def index(ctx: ActContext, dataset: Dataset, document: Document, texts: list[str]) -> None:
    """Cut the document as the worker will (each raw document on its own; full-doc joins them), and
    store the segments. A splitter error ends the run in `error` in its splitting step."""
    rule = document.process_rule or {}
    process_rule = {"mode": rule.get("mode", "automatic"), "rules": rule.get("rules")}
    economy = dataset.indexing_technique != "high_quality"
    release = ctx.call.release.name
    full_doc = (rule.get("rules") or {}).get("parent_mode") == "full-doc" and document.doc_form == "hierarchical_model"
    chunks: list[Chunk] = []
    try:
        for text in ["\n".join(texts)] if full_doc else texts:
            chunks += split(text, process_rule, document.doc_form, release, economy=economy)
    except SplitError as exc:
        if document.indexing.outcome == "completed":
            document.indexing = replace(document.indexing, outcome="error", at="splitting", error=str(exc))
        chunks = []
    if document.indexing.outcome == "error" and _before_segments(document.indexing.at):
        chunks = []
    document.word_count = sum(c.word_count for c in chunks)
    document.tokens = sum(c.tokens for c in chunks)
    for i, chunk in enumerate(chunks):
        ctx.tenant.state.add_segment(_segment(ctx, document, i, chunk))


def _before_segments(stage: str) -> bool:
    return stage in ("waiting", "parsing", "splitting")


def _segment(ctx: ActContext, document: Document, i: int, chunk: Chunk) -> Segment:
    made = new_segment(ctx, document, chunk, (f"segment:{i}", f"index_node:{i}"), i + 1, created_by=document.created_by)
    made.child_chunks = [new_child(ctx, f"child:{i}:{j}", made, j + 1, text) for j, text in enumerate(chunk.children)]
    return made
