"""A tenant's store: typed collections of records with an id index, owner keys, insertion order, soft
delete and caps (oldest first out, by count and by bytes); a reset drops the tenant, store and all."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from msgspec import Struct

from mockserver.state.collection import Collection
from mockserver.state.records import (
    Annotation,
    AnnotationJob,
    Conversation,
    EndUser,
    Feedback,
    HumanInputForm,
    Message,
    RunningTask,
    StoredFile,
    WorkflowRun,
)

if TYPE_CHECKING:  # the Knowledge API's records load with its first action, not at start-up
    from mockserver.state.knowledge import Dataset, Document, MetadataField, Segment, Tag


class StoreLimits(Struct, eq=False):
    """What one tenant keeps; beyond a cap the oldest records go (a soak never grows memory)."""

    conversations: Final[int] = 1000
    messages: Final[int] = 20000
    message_bytes: Final[int] = 64 * 1024 * 1024  # queries and answers (a 5 MB query is one message)
    files: Final[int] = 1000
    file_bytes: Final[int] = 64 * 1024 * 1024
    annotations: Final[int] = 5000
    jobs: Final[int] = 200
    end_users: Final[int] = 5000
    feedbacks: Final[int] = 5000
    workflow_runs: Final[int] = 5000
    human_input_forms: Final[int] = 5000
    text_bytes: Final[int] = 16 * 1024 * 1024  # of each collection below holding text a client sent
    datasets: Final[int] = 1000
    documents: Final[int] = 5000
    document_bytes: Final[int] = 64 * 1024 * 1024  # a document's file bytes and its text
    segments: Final[int] = 50000
    segment_bytes: Final[int] = 64 * 1024 * 1024  # segments' and child chunks' texts
    tags: Final[int] = 1000
    metadata_fields: Final[int] = 1000


class Store:
    """One tenant's data. Generic record actions reach a collection by name (`collection()`).

    A plain class with slots, not a struct: the collections are slots left unset until their first use
    (`__getattr__` below), which a struct's fields, always set, cannot be."""

    __slots__ = (
        "annotation_jobs",
        "annotations",
        "chapters",
        "conversations",
        "datasets",
        "documents",
        "end_users",
        "feedbacks",
        "files",
        "human_input_forms",
        "limits",
        "made_names",
        "messages",
        "metadata_fields",
        "reply_settings",
        "segments",
        "tags",
        "tasks",
        "threads",
        "ticks",
        "workflow_runs",
    )

    conversations: Collection[Conversation]
    messages: Collection[Message]
    files: Collection[StoredFile]
    annotations: Collection[Annotation]
    annotation_jobs: Collection[AnnotationJob]
    end_users: Collection[EndUser]
    feedbacks: Collection[Feedback]
    workflow_runs: Collection[WorkflowRun]
    human_input_forms: Collection[HumanInputForm]  # by token
    # The Knowledge API's: the workspace (tenant) owns them; no app or end user does.
    datasets: Collection[Dataset]
    documents: Collection[Document]
    segments: Collection[Segment]
    tags: Collection[Tag]
    metadata_fields: Collection[MetadataField]

    def __init__(self, limits: StoreLimits | None = None) -> None:
        self.limits = limits if limits is not None else StoreLimits()
        # Each document's segments in position order: a document's reads need no scan, and they go with it.
        self.chapters: dict[str, list[Segment]] = {}
        self.tasks: dict[str, RunningTask] = {}  # running generations by task id
        # Each conversation's messages in order: its history without a scan, and its messages go with it.
        self.threads: dict[str, list[Message]] = {}
        # Each app's annotation-reply setting: the enable/disable job that last changed it, by app key.
        self.reply_settings: dict[str, AnnotationJob] = {}
        self.ticks = 0  # updates: a record's updated_seq
        self.made_names: tuple[str, ...] = ()  # the collections made so far (a tuple: a tenant that chats makes 3)

    # The collections are made on first use (`__getattr__`): a tenant that only chats never pays for the
    # Knowledge API's, and a stream in flight keeps its tenant alive (10,000 streams, 10,000 tenants).
    if not TYPE_CHECKING:  # mypy keeps checking attribute names: only the collections come from here

        def __getattr__(self, name: str) -> Any:
            make = _MAKERS.get(name)
            if make is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            made = make(self)
            self.made_names += (name,)
            setattr(self, name, made)
            return made

    def made(self, name: str) -> Collection[Any] | None:
        """The collection if it exists yet, without making it (a missing one holds no record)."""
        if name not in self.made_names:  # cheaper than the AttributeError of an unset slot
            return None
        found: Collection[Any] = _SLOTS[name].__get__(self, Store)
        return found

    def _conversations(self) -> Collection[Conversation]:
        return Collection(
            "conversations", "Conversation Not Exists.", self.limits.conversations, on_drop=self.drop_thread
        )

    def _messages(self) -> Collection[Message]:
        limits = self.limits
        return Collection(
            "messages",
            "Message Not Exists.",
            limits.messages,
            _message_bytes,
            limits.message_bytes,
            on_drop=self._unthread,
        )

    def _files(self) -> Collection[StoredFile]:
        limits = self.limits
        return Collection(
            "files", "The requested file was not found.", limits.files, lambda f: len(f.data), limits.file_bytes
        )

    # Every collection whose records hold text a client sent is capped by bytes too (text_bytes each),
    # so a tenant's memory stays bounded whatever the requests carry.
    def _annotations(self) -> Collection[Annotation]:
        limits = self.limits
        return Collection(
            "annotations",
            "Annotation not found",
            limits.annotations,
            lambda a: len(a.question) + len(a.answer) + 256,
            limits.text_bytes,
            owners=("app",),
        )

    def _annotation_jobs(self) -> Collection[AnnotationJob]:
        return Collection("annotation_jobs", "The job does not exist.", self.limits.jobs, owners=("app",))

    def _end_users(self) -> Collection[EndUser]:
        limits = self.limits
        return Collection(
            "end_users",
            "End user not found.",
            limits.end_users,
            _end_user_bytes,  # not a lambda: a function object per tenant (every stream of the bench makes one)
            limits.text_bytes,
            owners=("app",),
            missing_code="end_user_not_found",
        )

    def _feedbacks(self) -> Collection[Feedback]:
        limits = self.limits
        return Collection(
            "feedbacks",
            "Message Not Exists.",
            limits.feedbacks,
            lambda f: len(f.content or "") + 256,
            limits.text_bytes,
            owners=("app",),
        )

    def _workflow_runs(self) -> Collection[WorkflowRun]:
        limits = self.limits
        return Collection(
            "workflow_runs",
            "Workflow run not found.",
            limits.workflow_runs,
            # A paused run also holds its resumer (envelope, builder: a few KiB), a resumed one its
            # events until they are relayed (about half a KiB each).
            lambda r: len(r.inputs) + 1024 + (4096 if r.resume else 0) + 512 * len(r.relay or ()),
            limits.text_bytes,
            owners=("app",),
        )

    def _human_input_forms(self) -> Collection[HumanInputForm]:
        limits = self.limits
        return Collection(
            "human_input_forms",
            "Form not found",
            limits.human_input_forms,
            lambda f: len(f.form_content) + 2048,
            limits.text_bytes,
            owners=("app",),
        )

    def _datasets(self) -> Collection[Dataset]:
        _weigh_knowledge()
        limits = self.limits
        return Collection(
            "datasets",
            "Dataset not found.",
            limits.datasets,
            _dataset_bytes,
            limits.text_bytes,
            on_drop=self._drop_dataset,
            owners=(),
        )

    def _documents(self) -> Collection[Document]:
        _weigh_knowledge()
        limits = self.limits
        return Collection(
            "documents",
            "Document not found.",
            limits.documents,
            _document_bytes,
            limits.document_bytes,
            on_drop=self._drop_document,
            owners=("dataset_id",),
        )

    def _segments(self) -> Collection[Segment]:
        _weigh_knowledge()
        limits = self.limits
        return Collection(
            "segments",
            "Segment not found.",
            limits.segments,
            _segment_bytes,
            limits.segment_bytes,
            on_drop=self._unchapter,
            owners=("document_id",),
        )

    def _tags(self) -> Collection[Tag]:
        _weigh_knowledge()
        limits = self.limits
        return Collection(
            "tags",
            "Tag not found",
            limits.tags,
            lambda t: len(t.name) + 36 * len(t.targets) + 256,
            limits.text_bytes,
            owners=(),
        )

    def _metadata_fields(self) -> Collection[MetadataField]:
        limits = self.limits
        return Collection(
            "metadata_fields",
            "Metadata not found.",
            limits.metadata_fields,
            lambda m: len(m.name) + 256,
            limits.text_bytes,
            owners=("dataset_id",),
        )

    def add_segment(self, segment: Segment) -> None:
        self.chapters.setdefault(segment.document_id, []).append(segment)
        self.segments.add(segment)

    def segments_of(self, document_id: str) -> list[Segment]:
        """The document's live segments, in the order they were added (their positions)."""
        return list(self.chapters.get(document_id, ()))

    def _drop_dataset(self, dataset: Dataset) -> None:
        """A dataset's documents and metadata fields go with it; its tag bindings stay behind as
        orphans (Dify's cleanup leaves TagBinding rows: binding_count still counts them)."""
        for document in self.documents.where(dataset_id=dataset.id):
            self.documents.remove(document.id)
        for gone in self.metadata_fields.where(dataset_id=dataset.id):
            self.metadata_fields.remove(gone.id)
        for tag in self.tags:
            if tag.targets.pop(dataset.id, None) is not None:
                tag.orphans += 1
                self.tags.reweigh(tag)

    def _drop_document(self, document: Document) -> None:
        for segment in self.chapters.pop(document.id, ()):
            self.segments.remove(segment.id)

    def _unchapter(self, segment: Segment) -> None:
        chapter = self.chapters.get(segment.document_id)
        if chapter is not None and segment in chapter:
            chapter.remove(segment)
            if not chapter:
                del self.chapters[segment.document_id]

    def add_message(self, message: Message) -> None:
        self.threads.setdefault(message.conversation_id, []).append(message)
        self.messages.add(message)

    def drop_thread(self, conversation: Conversation) -> None:
        """A conversation's messages leave the store (its eviction or deletion), and their feedback
        (Dify's delete_conversation_related_data removes it too)."""
        feedbacks = self.made("feedbacks")
        if feedbacks is not None and len(feedbacks):
            for gone in [f for f in feedbacks if f.conversation_id == conversation.id]:
                feedbacks.remove(gone.id)
        for message in self.threads.pop(conversation.id, ()):
            self.messages.discard(message.id)  # its thread is gone already: nothing to unthread

    def _unthread(self, message: Message) -> None:
        thread = self.threads.get(message.conversation_id)
        if thread is not None and message in thread:
            thread.remove(message)
            if not thread:
                del self.threads[message.conversation_id]

    def reweigh(self, values: Iterable[Any]) -> None:
        """Count anew the bytes of the kept records among `values` (and in lists of them): what an
        action's commit changed, whatever it was."""
        for value in values:
            kind = type(value)
            if kind in _NOT_RECORDS:  # most of what an action binds: ids, counts, flags
                continue
            if kind in WEIGHED:
                self._reweigh_one(value)
            elif isinstance(value, list | tuple):  # a NamedTuple too (document_save's Save)
                for record in value:
                    self._reweigh_one(record)

    def _reweigh_one(self, record: Any) -> None:
        name = WEIGHED.get(type(record))
        found = self.made(name) if name is not None else None
        if found is not None:
            found.reweigh(record)

    def collection(self, name: str) -> Collection[Any]:
        found = getattr(self, name) if name in _MAKERS else None
        if not isinstance(found, Collection):
            raise KeyError(f"no collection {name!r}")
        return found

    def tick(self) -> int:
        """The next update sequence number."""
        self.ticks += 1
        return self.ticks


_NOT_RECORDS: Final = frozenset({str, int, bool, float, type(None), dict})


def _json_bytes(value: Any) -> int:
    """What a client's JSON value costs to keep, near enough (its repr's length)."""
    return len(repr(value)) if value else 0


def _dataset_bytes(dataset: Dataset) -> int:
    held = (dataset.retrieval_model, dataset.partial_member_list, dataset.summary_index_setting)
    return len(dataset.name) + len(dataset.description or "") + sum(map(_json_bytes, held)) + 1024


def _document_bytes(document: Document) -> int:
    held = len(document.data) + len(document.text) + len(document.name)
    return held + _json_bytes(document.doc_metadata) + 40 * len(document.metadata_ids) + 1024


def _segment_bytes(segment: Segment) -> int:
    chunks = sum(len(c.content) + 256 for c in segment.child_chunks)
    words = sum(len(k or "") + 16 for k in segment.keywords or ())
    return len(segment.content) + len(segment.answer or "") + len(segment.summary or "") + words + chunks + 512


def _message_bytes(message: Message) -> int:
    # What a message holds beyond its fixed fields: its texts (inputs are bounded by the app's form).
    return len(message.query) + len(message.answer) + 512


COLLECTIONS = (
    "conversations",
    "messages",
    "files",
    "annotations",
    "annotation_jobs",
    "end_users",
    "feedbacks",
    "workflow_runs",
    "human_input_forms",
    "datasets",
    "documents",
    "segments",
    "tags",
    "metadata_fields",
)

# The collection of each record type whose records change after they are kept (reweigh()). The
# Knowledge API's types join with the first of their collections made (_weigh_knowledge): until then
# no tenant holds such a record, and start-up does not load their module.
WEIGHED: Final[dict[type, str]] = {
    Annotation: "annotations",
    Feedback: "feedbacks",
    WorkflowRun: "workflow_runs",
}


def _weigh_knowledge() -> None:
    """The Knowledge API's weighed types into WEIGHED (again: once a tenant and collection, idempotent)."""
    from mockserver.state.knowledge import Dataset, Document, Segment, Tag  # loaded: its action is running

    WEIGHED.update({Dataset: "datasets", Document: "documents", Segment: "segments", Tag: "tags"})


_MAKERS: Final[dict[str, Callable[[Store], Collection[Any]]]] = {n: getattr(Store, f"_{n}") for n in COLLECTIONS}
_SLOTS: Final[dict[str, Any]] = {name: Store.__dict__[name] for name in COLLECTIONS}


def _end_user_bytes(user: EndUser) -> int:
    return len(user.user) + 256
