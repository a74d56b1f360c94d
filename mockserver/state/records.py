"""The typed records a tenant's store keeps: conversations, messages, uploaded files; running tasks.
A record's attribute names are its response schema's property names, so the serialiser needs no
per-field code; `owner` keys (app, user) are what the store filters on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Final

from msgspec import Struct, field

UUID_NIL = "00000000-0000-0000-0000-000000000000"


class ConversationVariable(Struct, eq=False):
    """A chatflow conversation's variable; its id is the workflow definition's, the same in every
    conversation. `value_type` is stored as Dify stores it (a number as `integer` or `float`)."""

    id: str
    name: str
    value_type: str
    value: Any
    description: str
    created_at: int
    updated_at: int


class Conversation(Struct, eq=False):
    """A conversation, owned by its app and end user."""

    id: str
    app: str  # the app's key: owner
    user: str  # the end user's `user` string: owner
    inputs: dict[str, Any]
    introduction: str
    created_at: int
    updated_at: int
    name: str
    status: str = "normal"
    deleted: bool = False  # soft delete (1.16): gone from every read, kept until evicted
    # A chatflow's, made at its first run; () for the rest: no list a conversation for the collector to walk.
    variables: Sequence[ConversationVariable] = ()
    created_seq: int = 0  # the store's tick at creation: orders records created in one mock second
    updated_seq: int = 0  # and at the last update


class MessageFile(Struct, eq=False):
    """A file a message carries (message_files[]); `upload_file_id` is the upload it refers to."""

    id: str
    filename: str
    type: str
    url: str | None
    mime_type: str | None
    size: int
    transfer_method: str
    belongs_to: str
    upload_file_id: str | None


class Message(Struct, eq=False):
    """One turn of a conversation: the query, the answer and their metadata."""

    id: str
    conversation_id: str
    app: str
    user: str
    inputs: dict[str, Any]
    query: str
    answer: str
    created_at: int
    # What the answer's message_end metadata reported (usage, retriever_resources): the list view
    # reads its fields from it, so a turn stores one reference, not a copy of each.
    metadata: dict[str, Any] = field(default_factory=dict)
    parent_message_id: str | None = UUID_NIL  # a Service API message never has a parent
    feedback: dict[str, Any] | None = None
    # Tuples: most messages carry none, and a shared empty tuple costs no allocation per message.
    agent_thoughts: tuple[Any, ...] = ()
    message_files: tuple[MessageFile, ...] = ()
    status: str = "normal"
    error: str | None = None
    created_seq: int = 0


class StoredFile(Struct, eq=False):
    """An upload: its metadata (the 201 body's fields) and its bytes."""

    id: str
    app: str
    user: str  # the `user` string it was uploaded as
    name: str
    size: int
    extension: str
    mime_type: str
    created_by: str  # the end user's id
    created_at: int
    source_url: str
    tenant_id: str
    data: bytes = b""
    created_seq: int = 0


class Annotation(Struct, eq=False):
    """An app's annotation (question and its canned answer); `answer` is Dify's `content` column."""

    id: str
    app: str
    question: str
    answer: str
    created_at: int
    hit_count: int = 0
    created_seq: int = 0


class AnnotationJob(Struct, eq=False):
    """An annotation-reply enable/disable job; it completes after `polls_left` status polls. The app's
    reply setting is its newest `effective` job: an enable (with its setting) or a disable."""

    id: str
    app: str
    action: str  # enable | disable
    status: str  # waiting | completed | error
    created_at: int
    polls_left: int = 1
    error_msg: str = ""
    created_seq: int = 0
    # The request's AnnotationReplyActionPayload, and the AppAnnotationSetting id an enable leaves.
    score_threshold: float = 0.0
    embedding_provider_name: str = ""
    embedding_model_name: str = ""
    setting_id: str = ""
    effective: bool = True  # False: a disable while reply was off (Dify's task returns early: waiting forever)
    completed_at: int | None = None  # mock time of completion; Dify's job key expires 600 s later


class EndUser(Struct, eq=False):
    """Dify keeps one per (app, `user` string): the id the Service API answers with as `created_by`."""

    id: str
    app: str
    user: str  # the session id: the `user` string, DEFAULT-USER when none was given
    created_at: int
    app_id: str = ""
    tenant_id: str = ""
    created_seq: int = 0


class Feedback(Struct, eq=False):
    """An end user's rating of a message (one per message and source)."""

    id: str
    app: str
    user: str
    message_id: str
    conversation_id: str
    rating: str
    content: str | None
    from_end_user_id: str
    created_at: int
    updated_at: int
    app_id: str = ""
    from_source: str = "user"
    created_seq: int = 0


class WorkflowRun(Struct, eq=False):
    """A workflow or chatflow run as Dify's persistence layer stores it; `log_id` is its
    workflow_app_logs row (workflow apps only: chatflow runs are never listed)."""

    id: str
    app: str
    user: str
    end_user_id: str
    workflow_id: str
    status: str
    inputs: str  # json.dumps of the run's inputs, sys.* included: Dify keeps the raw text
    outputs: dict[str, Any] | None
    error: str | None
    total_steps: int
    total_tokens: int
    created_at: int
    finished_at: int | None
    elapsed_time: float
    exceptions_count: int = 0
    log_id: str | None = None
    created_seq: int = 0
    # A paused run: what builds its resumed part once its forms are submitted (render/resume.py
    # Resumer: called with the submitted forms and the seconds since the run began, returns events).
    resume: Callable[[list[HumanInputForm], float], list[dict[str, Any]]] | None = None
    # A resumed run's events, until GET /v1/workflow/{id}/events has relayed them once.
    relay: list[dict[str, Any]] | None = None


class HumanInputForm(Struct, eq=False):
    """A paused run's human-input form, reachable by its token (`id`: the collection looks forms up by
    the token the route is given; Dify's own form id is `form_id`). `inputs` and `actions` are the node's
    input configs and user actions as the human_input_required event carried them."""

    id: str  # the form token (22 characters when the mock made it)
    form_id: str
    app: str
    workflow_run_id: str
    node_id: str
    node_title: str
    form_content: str
    inputs: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    resolved_default_values: dict[str, Any]
    expiration_time: int
    created_at: int
    status: str = "waiting"  # waiting | submitted
    submitted_by: str | None = None  # the end user's id
    action: str | None = None
    submitted_data: dict[str, Any] | None = None
    created_seq: int = 0


class Blob(Struct, eq=False):
    """Bytes to send as they are, with their headers (a file preview); `chunked`: streamed without a
    Content-Length, as Dify streams a generator's bytes (text-to-audio)."""

    data: Final[bytes]
    headers: Final[dict[str, str]]
    chunked: Final[bool] = False


class StopFlag:
    """A running generation's stop flag: set once by `POST .../stop`; the stream writer's sleep ends
    the moment it is set. (asyncio.Event with wait_for made a task, a deque and a future for every
    sleep of every stream in flight; this wakes the writer's own sleep, a timer's future.) One sleeper
    at a time: the stream's writer."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        _wake(self._waiter)

    def watch(self, waiter: asyncio.Future[None]) -> None:
        """The writer sleeps on `waiter` now: a stop sets its result (its timer would have later)."""
        self._waiter = waiter


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class RunningTask(Struct, eq=False):
    """A generation in progress; `POST .../stop` sets `stopped`, the stream writer notices it."""

    task_id: str
    app_key: str
    user: str
    mode: str  # the app's mode
    stopped: StopFlag = field(default_factory=StopFlag)
    by_owner: bool = True  # False: a chatflow stopped by another end user (only the graph stop applies)
