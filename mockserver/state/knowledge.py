"""The Knowledge API's records: datasets, their documents, segments and child chunks, knowledge tags
and custom metadata fields. A knowledge key acts as the workspace owner and reaches every dataset of
the workspace (REFERENCE §2.1, §10.1), so these records have no app or end-user owner: the tenant is
the workspace. Attribute names are the response schemas' property names (the serialiser's rule)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field


class Dataset(Struct, eq=False):
    id: str
    name: str
    description: str
    created_by: str  # the workspace owner's account id
    created_at: int
    provider: str = "vendor"
    permission: str = "only_me"
    indexing_technique: str | None = None
    embedding_model: str | None = None
    embedding_model_provider: str | None = None
    retrieval_model: dict[str, Any] | None = None  # as stored; the body shows retrieval_model_dict
    doc_form: str | None = None  # set by the first document
    data_source_type: str | None = None  # likewise (upload_file)
    built_in_field_enabled: bool = False
    enable_api: bool = True
    external_knowledge_api_id: str | None = None
    external_knowledge_id: str | None = None
    external_retrieval_model: dict[str, Any] | None = None
    partial_member_list: list[str] = field(default_factory=list)
    summary_index_setting: dict[str, Any] | None = None
    icon_info: dict[str, Any] | None = None
    updated_by: str | None = None
    updated_at: int = 0
    process_rule: dict[str, Any] | None = None  # the latest document's rule (Dify's DatasetProcessRule)
    created_seq: int = 0
    updated_seq: int = 0


class Indexing(Struct, eq=False):
    """How a document's indexing goes: it advances a stage per status poll or per STAGE_SECONDS of mock
    time, and ends `completed`, or in `error` (with its message) or `paused` at stage `at`."""

    outcome: str = "completed"  # completed | error | paused
    at: str = "indexing"  # the stage an error or pause happens in
    error: str | None = None
    polls: int = 0  # status reads of this document so far
    stopped_at: int | None = None  # mock time a pause or error happened (once reached)
    started_at: int | None = None  # mock time this run was queued (an update's re-index); None: created_at


class Document(Struct, eq=False):
    id: str
    dataset_id: str
    position: int
    name: str
    batch: str
    created_by: str
    created_at: int
    text: str  # the text indexed: the request's, or the uploaded file's decoded
    data_source_type: str = "upload_file"
    upload_file: dict[str, Any] | None = None  # id, name, size, extension, mime_type, created_by, created_at
    data: bytes = b""  # the uploaded (or created-from-text) file's bytes, for download
    doc_form: str = "text_model"
    doc_language: str = "English"
    doc_type: str | None = None
    need_summary: bool = False  # the dataset's summary_index_setting.enable at creation
    process_rule: dict[str, Any] | None = None  # DatasetProcessRule.to_dict(): id, dataset_id, mode, rules
    process_rule_id: str | None = None
    indexing: Indexing = field(default_factory=Indexing)
    created_from: str = "api"
    enabled: bool = True
    disabled_at: int | None = None
    disabled_by: str | None = None
    archived: bool = False
    archived_at: int | None = None
    archived_by: str | None = None
    updated_at: int = 0
    word_count: int = 0  # what indexing finds (shown from the `indexing` stage on)
    tokens: int = 0  # likewise (shown once completed)
    # Dify's Document.doc_metadata JSON: values by metadata field NAME (built-ins included when the
    # dataset's built_in_field_enabled), and the bound custom field ids in binding order.
    doc_metadata: dict[str, Any] = field(default_factory=dict)
    metadata_ids: list[str] = field(default_factory=list)
    created_seq: int = 0
    updated_seq: int = 0


class ChildChunk(Struct, eq=False):  # one chunk is itself only: lists remove it by identity
    id: str
    dataset_id: str
    document_id: str
    segment_id: str
    position: int
    content: str
    word_count: int
    created_at: int
    updated_at: int
    type: str = "automatic"  # automatic | customized
    created_seq: int = 0


class Segment(Struct, eq=False):  # likewise: a document's chapter removes it by identity
    id: str
    dataset_id: str
    document_id: str
    position: int
    content: str
    word_count: int
    tokens: int
    index_node_id: str
    index_node_hash: str
    created_by: str
    created_at: int
    answer: str | None = None
    # null for high_quality indexing (and a 1.12/1.14 API item's explicit null); API items' entries are
    # rendered as text, so a raw 1.12/1.14 item's null entry stays null
    keywords: list[str | None] | None = field(default_factory=list)
    hit_count: int = 0
    enabled: bool = True
    disabled_at: int | None = None
    disabled_by: str | None = None
    status: str = "completed"
    updated_at: int = 0
    updated_by: str | None = None
    indexing_at: int | None = None
    completed_at: int | None = None
    error: str | None = None
    stopped_at: int | None = None
    child_chunks: list[ChildChunk] = field(default_factory=list)
    summary: str | None = None  # a summary an update gave it (1.14+, high_quality; DocumentSegmentSummary)
    created_seq: int = 0


class Tag(Struct, eq=False):
    id: str
    name: str
    created_by: str
    created_at: int
    type: str = "knowledge"
    # The live datasets bound to it: dataset id -> the store tick of the binding (a dataset's tags
    # come in binding order).
    targets: dict[str, int] = field(default_factory=dict)
    # Bindings to datasets since deleted: Dify's dataset cleanup leaves TagBinding rows, so a tag's
    # binding_count still counts them (research/knowledge_datasets.md §7, §8.3).
    orphans: int = 0
    created_seq: int = 0

    @property
    def binding_count(self) -> int:
        return len(self.targets) + self.orphans


class MetadataField(Struct, eq=False):
    id: str
    dataset_id: str
    name: str
    type: str  # string | number | time
    created_by: str
    created_at: int
    updated_at: int = 0
    created_seq: int = 0
