"""Envelope keys and required bookkeeping per app type and response kind (REFERENCE §3.7, §4.2-4.4).

Fixtures never write envelope keys; this module adds them in Dify's emitted order and fills the
fields Dify always sends, so a scenario only states what it wants to vary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from mockserver.determinism import Draws
from mockserver.errors import CODES
from mockserver.scenarios.template import usage

IN_STREAM_INTERNAL: Final = "Internal Server Error, please contact support."
Family = Literal["chat", "completion", "workflow"]
REPLY_EVENTS: Final = frozenset({"message", "agent_message"})
WORKFLOW_EVENTS: Final = frozenset(
    {
        "workflow_started",
        "workflow_finished",
        "workflow_paused",
        "node_started",
        "node_finished",
        "node_retry",
        "iteration_started",
        "iteration_next",
        "iteration_completed",
        "loop_started",
        "loop_next",
        "loop_completed",
        "text_chunk",
        "text_replace",
        "human_input_required",
        "human_input_form_filled",
        "human_input_form_timeout",
        "agent_log",
    }
)
TERMINAL: Final = frozenset({"message_end", "workflow_finished", "workflow_paused", "error"})


def family_of(mode: str) -> Family:
    if mode == "completion":
        return "completion"
    if mode == "workflow":
        return "workflow"
    return "chat"


@dataclass(slots=True)
class Envelope:
    """The ids and times one generation shares across its body or events."""

    family: Family
    mode: str
    task_id: str
    created_at: int
    draws: Draws
    message_id: str | None = None
    conversation_id: str | None = None
    workflow_run_id: str | None = None
    workflow_id: str | None = None
    inputs: dict[str, Any] | None = None
    user: str | None = None
    user_id: str | None = None

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


class EventBuilder:
    """Turns (event name, fixture fields) into complete events, tracking node order and totals."""

    def __init__(self, env: Envelope) -> None:
        self.env = env
        self.node_index = 0
        self.steps = 0
        self.last_node: str | None = None
        self.thoughts = 0

    def build(self, name: str, fields: dict[str, Any], at_s: float) -> dict[str, Any]:
        env = self.env
        if name == "ping":
            return {"event": "ping"}  # a literal keep-alive written as `event: ping`
        event = env.head(name)
        if name == "error":
            # Error frames merge code/status/message instead of the event's fields: no task_id.
            code = event["code"] = fields.get("code", "internal_server_error")
            # Dify's status for the code (never the seed's); its in-stream text for internal errors.
            event["status"] = fields.get("status", CODES[code].status if code in CODES else 400)
            default = CODES[code].message if code in CODES and code != "internal_server_error" else IN_STREAM_INTERNAL
            event["message"] = fields.get("message", default)
            return event
        event["task_id"] = env.task_id
        if name in WORKFLOW_EVENTS:
            if env.workflow_run_id is None:
                # A workflow event in a plain chat (e.g. a scenario forced by X-Mock-Scenario) still
                # gets a run id: Dify never sends a null one.
                env.workflow_run_id = env.draws.uuid("workflow_run")
                env.workflow_id = env.workflow_id or env.draws.uuid("workflow")
            if env.family != "workflow":
                event["workflow_run_id"] = env.workflow_run_id
            event["data"] = self._data(name, dict(fields.get("data") or {}), at_s)
            event.update({k: v for k, v in fields.items() if k != "data"})
            return event
        event.update(self._reply_defaults(name, fields))
        return event

    def _reply_defaults(self, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        env = self.env
        out: dict[str, Any]
        if name in REPLY_EVENTS:
            out = {"id": env.message_id, "answer": ""}
        elif name == "message_end":
            out = {"id": env.message_id, "metadata": None, "files": None}
            if env.family == "completion":
                del out["files"]
        elif name == "agent_thought":
            self.thoughts += 1
            position = fields.get("position", self.thoughts)
            out = {
                "id": env.draws.uuid(f"thought:{position}"),
                "position": position,
                "thought": "",
                "observation": "",
                "tool": "",
                "tool_labels": {},
                "tool_input": "",
                "message_files": [],
            }
        elif name == "message_file":
            out = {"id": env.draws.uuid(f"file:{self.thoughts}"), "type": "image", "belongs_to": "assistant", "url": ""}
        elif name == "message_replace":
            out = {"answer": "", "reason": ""}
        elif name in ("tts_message", "tts_message_end"):
            out = {"audio": ""}
        else:
            out = {}
        out.update(fields)
        if name == "message_end":
            meta = out.get("metadata")
            if not isinstance(meta, dict):
                out["metadata"] = {"usage": usage()}
            elif "usage" not in meta:
                out["metadata"] = {"usage": usage(), **meta}
        return out

    def _data(self, name: str, given: dict[str, Any], at_s: float) -> dict[str, Any]:
        env = self.env
        now = env.created_at + int(at_s)
        if name == "workflow_started":
            base: dict[str, Any] = {
                "id": env.workflow_run_id,
                "workflow_id": env.workflow_id,
                "inputs": env.inputs or {},
                "created_at": env.created_at,
                "reason": "initial",
            }
        elif name in ("node_started", "node_finished", "node_retry"):
            node_id = str(given.get("node_id", f"node-{self.node_index + 1}"))
            if name == "node_started":
                self.node_index += 1
            base = {
                "id": env.draws.uuid(f"node:{node_id}"),
                "node_id": node_id,
                "node_type": given.get("node_type", "llm"),
                "title": given.get("title", node_id),
                "index": self.node_index,
                "predecessor_node_id": self.last_node,
                "inputs": {},
                "created_at": env.created_at,
                "extras": {},
                "iteration_id": None,
                "loop_id": None,
            }
            if name != "node_started":
                base.update(
                    {
                        "process_data": None,
                        "outputs": {},
                        "status": "succeeded",
                        "error": None,
                        "elapsed_time": round(at_s, 6),
                        "execution_metadata": None,
                        "finished_at": now,
                        "files": [],
                    }
                )
                if name == "node_finished":
                    self.steps += 1
                    self.last_node = node_id
        elif name == "text_chunk":
            base = {"text": "", "from_variable_selector": None}
        elif name == "workflow_finished":
            base = {
                "id": env.workflow_run_id,
                "workflow_id": env.workflow_id,
                "status": "succeeded",
                "outputs": {},
                "error": None,
                "elapsed_time": round(at_s, 6),
                "total_tokens": 0,
                "total_steps": self.steps,
                "created_by": {"id": env.user_id, "user": env.user},
                "created_at": env.created_at,
                "finished_at": now,
                "exceptions_count": 0,
                "files": [],
            }
        else:
            base = {}
        base.update(given)
        return base


def blocking_body(env: Envelope, events: list[dict[str, Any]], given: Any) -> dict[str, Any]:
    """Dify's blocking body: `given` (fixture fields minus envelope) over what the stream folds to."""
    given = given if isinstance(given, dict) else {}
    if env.family == "workflow":
        finished = next((e for e in events if e["event"] == "workflow_finished"), None)
        data = dict(finished["data"]) if finished else {}
        for key in ("created_by", "exceptions_count", "files"):
            data.pop(key, None)
        data.update(given.get("data") or {})
        return {"task_id": env.task_id, "workflow_run_id": env.workflow_run_id, "data": data}
    answer = "".join(str(e.get("answer", "")) for e in events if e["event"] in REPLY_EVENTS)
    if env.mode == "agent":
        # The New Agent's closing `message` carries the whole answer, replacing the deltas.
        closing = [e for e in events if e["event"] == "message"]
        answer = str(closing[-1].get("answer", "")) if closing else answer
    end = next((e for e in events if e["event"] == "message_end"), None)
    metadata = end["metadata"] if end else {"usage": usage()}
    body: dict[str, Any] = {
        "event": "message",
        "task_id": env.task_id,
        "id": env.message_id,
        "message_id": env.message_id,
    }
    if env.family == "chat":
        body["conversation_id"] = env.conversation_id
    body["mode"] = env.mode
    body["answer"] = given.get("answer", answer)
    body["metadata"] = given.get("metadata", metadata)
    body["created_at"] = env.created_at
    return body


def stop_events(
    env: Envelope, builder: EventBuilder, events: list[dict[str, Any]], sent: int, at_s: float
) -> list[dict[str, Any]]:
    """The terminal events of a stopped generation (REFERENCE §3.5): chat and completion end with
    `message_end`; workflow with `workflow_finished` status "stopped". A stopped chatflow sends
    `workflow_finished` (stopped) first, then `message_end`: its task pipeline handles QueueStopEvent
    by finishing the run before saving the message (advanced_chat/generate_task_pipeline.py,
    dify 000e8550), unlike a successful run, where message_end comes first."""
    out = []
    pending = events[sent:]
    if env.family == "workflow" or env.mode == "advanced-chat":
        finished = next((e for e in pending if e["event"] == "workflow_finished"), None)
        if finished is None:
            finished = builder.build("workflow_finished", {}, at_s)
        steps = sum(1 for e in events[:sent] if e["event"] == "node_finished")
        stopped = {
            "status": "stopped",
            "elapsed_time": round(at_s, 6),
            "finished_at": env.created_at + int(at_s),
            "total_steps": steps,
        }
        out.append({**finished, "data": {**finished["data"], **stopped}})
    if env.family != "workflow":
        end = next((e for e in pending if e["event"] == "message_end"), None)
        out.append(end if end is not None else builder.build("message_end", {}, at_s))
    return out
