"""The Envelope of one generation: the ids and facts its body and events share, and the converter's
leading keys per app type (REFERENCE §4.2). Fixtures never write envelope keys; with the event builder
(builder.py) this fills what Dify's converters fill, so a scenario only states what it varies."""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from msgspec import Struct, field

from mockserver.determinism import Draws
from mockserver.dify.versions import WORKFLOW_SYS, Release
from mockserver.scenarios.template import usage

Family = Literal["chat", "completion", "workflow"]
EASY_UI_TIMING = ("time_to_first_token", "time_to_generate")  # LLMUsage fields an easy-UI app never sets


def family_of(mode: str) -> Family:
    if mode == "completion":
        return "completion"
    if mode == "workflow":
        return "workflow"
    return "chat"


class Envelope(Struct, eq=False):
    """The ids and facts one generation shares across its body or events."""

    family: Family
    mode: str
    release: Release
    task_id: str
    created_at: int
    draws: Draws
    message_id: str | None = None
    conversation_id: str | None = None
    workflow_run_id: str | None = None
    workflow_id: str | None = None
    app_id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)  # as the input form validated them
    user: str | None = None
    user_id: str | None = None
    query: str = ""
    dialogue_count: int = 1

    @property
    def chatflow(self) -> bool:
        return self.mode == "advanced-chat"

    def head(self, event: str) -> dict[str, Any]:
        """The converter's leading keys, before `task_id` and the event's own fields."""
        if self.family == "workflow":
            return {"event": event, "workflow_run_id": self.workflow_run_id}
        head: dict[str, Any] = {"event": event}
        if self.family == "chat":
            head["conversation_id"] = self.conversation_id
        head["message_id"] = self.message_id
        head["created_at"] = self.created_at
        return head

    def system_inputs(self) -> dict[str, Any]:
        """The sys.* entries workflow_started.data.inputs gets after the user's inputs (never
        conversation_id): WorkflowResponseConverter._prepare_workflow_inputs."""
        values: dict[str, Any] = {
            "files": [],
            "user_id": self.user,
            "app_id": self.app_id,
            "workflow_id": self.workflow_id,
            "workflow_run_id": self.workflow_run_id,
            "query": self.query,
            "dialogue_count": self.dialogue_count,
        }
        order = self.release.chatflow_sys if self.chatflow else WORKFLOW_SYS
        return {f"sys.{k}": values[k] for k in order}

    def start_node_system(self) -> dict[str, Any]:
        """1.12's in-tree start node outputs the whole system variable pool (conversation_id included;
        a workflow's timestamp too); from 1.14 Dify shows the user's inputs only."""
        pool: dict[str, Any] = {
            "sys.files": [],
            "sys.user_id": self.user,
            "sys.app_id": self.app_id,
            "sys.workflow_id": self.workflow_id,
            "sys.workflow_run_id": self.workflow_run_id,
        }
        if self.chatflow:
            pool.update(
                {
                    "sys.query": self.query,
                    "sys.conversation_id": self.conversation_id,
                    "sys.dialogue_count": self.dialogue_count,
                }
            )
        else:
            pool["sys.timestamp"] = self.created_at
        return pool


_WORD = re.compile(r"\s*\S+\s*$|\s*\S+")


def split_text(text: str, how: str | int | None) -> list[str]:
    """`words` keeps each word with its leading space (" world"), as model deltas come."""
    if not how or not text:
        return [text]
    if how == "words":
        return _WORD.findall(text) or [text]
    size = 1 if how == "chars" else int(how)
    return [text[i : i + size] for i in range(0, len(text), size)]


def expand_splits(name: str, fields: dict[str, Any], how: str | int | None) -> list[dict[str, Any]]:
    if not how:
        return [fields]
    if name == "text_chunk":
        data = fields.get("data") or {}
        return [{**fields, "data": {**data, "text": part}} for part in split_text(str(data.get("text", "")), how)]
    return [{**fields, "answer": part} for part in split_text(str(fields.get("answer", "")), how)]


_DEFAULT_USAGE: Final = usage()  # computed once: its Decimal arithmetic cost ~10 us a request


def full_usage(given: Any, timing: tuple[float | None, float | None]) -> dict[str, Any]:
    """Dify's LLMUsage: the 12 REFERENCE fields, then time_to_first_token and time_to_generate."""
    out = dict(given if isinstance(given, dict) else _DEFAULT_USAGE)
    for key, value in zip(EASY_UI_TIMING, timing, strict=True):
        out.setdefault(key, value)
    return out


def drop_none(value: Any) -> Any:
    """pydantic's model_dump(exclude_none=True), recursively: what 1.16 easy-UI message_end sends."""
    if isinstance(value, dict):
        return {k: drop_none(v) if isinstance(v, dict | list) else v for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) if isinstance(v, dict | list) else v for v in value]
    return value
