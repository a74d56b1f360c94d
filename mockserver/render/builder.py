"""EventBuilder: (event name, fixture fields) -> the event Dify's converter sends, in the chosen
release's shape, tracking the run's nodes, steps and tokens as it goes."""

from __future__ import annotations

import string
from typing import Any, Final

from mockserver.dify import events as dify_events
from mockserver.dify.versions import Release
from mockserver.errors import CODES
from mockserver.render.envelope import Envelope, drop_none, full_usage
from mockserver.render.memo import ByIdentity

_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits  # libs/helper.py generate_string


def form_token(draws: Any, form_id: str) -> str:
    """The access token Dify issues for a form (22 letters and digits), derived from the request's draws."""
    rng = draws.random(f"form_token:{form_id}")
    return "".join(rng.choice(_TOKEN_ALPHABET) for _ in range(dify_events.FORM_TOKEN_LENGTH))


class EventBuilder:
    """Turns (event name, fixture fields) into complete events, tracking nodes, steps and tokens."""

    __slots__ = ("env", "forms", "node_index", "node_start", "steps", "thoughts", "timing", "titles", "tokens")

    def __init__(self, env: Envelope) -> None:
        self.env = env
        self.node_index = 0
        self.steps = 0
        self.tokens = 0
        self.thoughts = 0
        self.node_start: dict[str, float] = {}  # node id -> when it started (s since the request)
        self.timing: tuple[float | None, float | None] = (None, None)  # a chatflow's first/last token
        self.forms: list[dict[str, Any]] = []  # human_input_required data since the last pause
        self.titles: dict[str, Any] = {}  # node id -> its title (a form names its node's)

    def build(self, name: str, fields: dict[str, Any], at_s: float) -> dict[str, Any]:
        env = self.env
        if name == "ping":
            return {"event": "ping"}  # a literal keep-alive written as `event: ping`
        event = env.head(name)
        if name == "error":
            return self.error(event, fields)
        event["task_id"] = env.task_id
        if name in dify_events.DATA_EVENTS:
            if env.workflow_run_id is None:
                # A workflow event in a plain chat (a scenario forced by X-Mock-Scenario) still gets a
                # run id: Dify never sends a null one.
                env.workflow_run_id = env.draws.uuid("workflow_run")
                env.workflow_id = env.workflow_id or env.draws.uuid("workflow")
            if env.family != "workflow" and name in dify_events.RUN_ENVELOPED:
                event["workflow_run_id"] = env.workflow_run_id
            event["data"] = self._data(name, dict(fields.get("data") or {}), at_s)
            event.update({k: v for k, v in fields.items() if k != "data"})
            return event
        event.update(self._reply(name, fields))
        return event

    def error(self, event: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        """Error frames carry code, status and message instead of the event's fields, and no task_id."""
        code = fields.get("code", "internal_server_error")
        status = fields.get("status", CODES[code].status if code in CODES else 400)
        default = dify_events.IN_STREAM_TEXT.get(code) or (CODES[code].message if code in CODES else code)
        message = fields.get("message", default)
        if code in dify_events.MESSAGE_FIRST:
            event.update({"code": code, "message": message, "status": status})
        else:
            event.update({"code": code, "status": status, "message": message})
        return event

    def _reply(self, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        env, release = self.env, self.env.release
        out: dict[str, Any]
        if name == "message":
            selector: list[str] | None = [] if release.selector_list else None
            out = {"id": env.message_id, "answer": "", "from_variable_selector": selector}
        elif name == "agent_message":
            out = {"id": env.message_id, "answer": ""}
        elif name == "message_end":
            chatflow_files = env.chatflow or release.message_end_files_list
            out = {"id": env.message_id, "metadata": None, "files": [] if chatflow_files else None}
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
            out["metadata"] = self.end_metadata(out.get("metadata"))
        return out

    def end_metadata(self, given: Any) -> dict[str, Any]:
        """message_end's metadata as the event carries it: 1.16 drops an easy-UI app's nulls."""
        return end_metadata(given, self.env.release, self.timing if self.env.chatflow else None)

    def metadata(self, given: Any) -> dict[str, Any]:
        return metadata(given, self.env.release, self.timing if self.env.chatflow else (None, None))

    def _data(self, name: str, given: dict[str, Any], at_s: float) -> dict[str, Any]:
        env = self.env
        now = env.created_at + int(at_s)
        if name == "workflow_started":
            base: dict[str, Any] = {
                "id": env.workflow_run_id,
                "workflow_id": env.workflow_id,
                "inputs": {**env.inputs, **env.system_inputs()},
                "created_at": env.created_at,
            }
            if env.release.workflow_started_reason:
                base["reason"] = "initial"
        elif name == "workflow_finished":
            base = self.run_finished("succeeded", None, at_s)
        elif name in dify_events.NODE_EVENTS:
            return self._node(name, given, at_s)  # already merged with what the fixture gave
        else:
            base = {
                k: (now if k in ("created_at", "finished_at") else v) for k, v in dify_events.DATA.get(name, {}).items()
            }
            if "node_id" in base and "id" in base and base["id"] is None and "node_id" in given:
                base["id"] = given["node_id"]  # iteration and loop events name the container node
            if name == "reasoning_chunk" and env.family == "chat":
                base["message_id"] = env.message_id
            if name == "workflow_paused":
                return self._paused(base, given, at_s)
            if name == "human_input_required":
                return self._form(base, given, now)
            if name == "human_input_form_timeout":
                base["expiration_time"] = now  # the form's expiry: the moment it timed out
        base.update(given)
        return base

    def _form(self, base: dict[str, Any], given: dict[str, Any], now: int) -> dict[str, Any]:
        """human_input_required: the form Dify made for the node (its id, WebApp token, expiry), the
        node's inputs and actions in Dify's shape; 1.15+ adds approval_channels (none for a WebApp form)."""
        env = self.env
        node_id = str(given.get("node_id") or "human_input")
        form_id = str(given.get("form_id") or env.draws.uuid(f"form:{node_id}"))
        base.update(
            form_id=form_id,
            node_id=node_id,
            node_title=given.get("node_title", self.titles.get(node_id, node_id)),
            form_token=form_token(env.draws, form_id),
            expiration_time=now + dify_events.FORM_TIMEOUT_S,
        )
        if env.release.hitl_approval_channels:
            keys = list(base)
            at = keys.index("form_token") + 1
            base = {k: base[k] for k in keys[:at]} | {"approval_channels": []} | {k: base[k] for k in keys[at:]}
        base.update(given)
        base["inputs"] = [dify_events.form_input(i) for i in base.get("inputs") or ()]
        base["actions"] = [dify_events.user_action(a) for a in base.get("actions") or ()]
        self.forms.append(base)
        return base

    def _paused(self, base: dict[str, Any], given: dict[str, Any], at_s: float) -> dict[str, Any]:
        """workflow_paused as the converter builds it: the run's start time, tokens and steps so far, the
        nodes that wait and one pause reason per form (the node's HumanInputRequired dumped, then its
        token, [approval channels] and expiry); outputs are always {} on the Service API."""
        env = self.env
        reasons = []
        for form in self.forms:
            reason: dict[str, Any] = {"TYPE": "human_input_required"}
            for key in ("form_id", "form_content", "inputs", "actions", "node_id", "node_title"):
                reason[key] = form.get(key)
            reason["resolved_default_values"] = form.get("resolved_default_values") or {}
            reason["form_token"] = form.get("form_token")
            if env.release.hitl_approval_channels:
                reason["approval_channels"] = form.get("approval_channels") or []
            reason["expiration_time"] = form.get("expiration_time")
            reasons.append(reason)
        base.update(
            workflow_run_id=env.workflow_run_id,
            paused_nodes=list(dict.fromkeys(str(f.get("node_id")) for f in self.forms)),
            reasons=reasons,
            created_at=env.created_at,
            elapsed_time=round(at_s, 6),
            total_tokens=self.tokens,
            total_steps=self.steps,
        )
        self.forms = []
        base.update(given)
        return base

    def _node(self, name: str, given: dict[str, Any], at_s: float) -> dict[str, Any]:
        env = self.env
        node_id = str(given.get("node_id", f"node-{self.node_index + 1}"))
        if name == "node_started":
            self.node_index += 1
            self.node_start[node_id] = at_s
        started = self.node_start.get(node_id, at_s)
        base = dict(dify_events.DATA[name])
        self.titles[node_id] = given.get("title", self.titles.get(node_id, node_id))
        base.update(
            id=env.draws.uuid(f"node:{node_id}"),
            node_id=node_id,
            title=given.get("title", node_id),
            # QueueNodeStartedEvent.node_run_index keeps its default of 1 ("FIXME: may not used"): the
            # runner never sets it, and node_finished reuses the started snapshot's (dify 1.12.0, 1.14.2,
            # 1.16.1 core/app/entities/queue_entities.py, core/app/apps/workflow_app_runner.py).
            index=1,
            created_at=env.created_at + int(started),
        )
        if name == "node_started":
            return {**base, **given}
        base.update(elapsed_time=round(at_s - started, 6), finished_at=env.created_at + int(at_s))
        node_type = given.get("node_type", base["node_type"])
        outputs = given.get("outputs", base["outputs"])
        if node_type == "start":
            if env.release.start_node_sys and isinstance(outputs, dict):
                outputs = {**outputs, **env.start_node_system()}
            base["inputs"] = outputs  # the start node's inputs are its outputs
        if name == "node_finished":
            self.steps += 1
            metadata = given.get("execution_metadata")
            if isinstance(metadata, dict) and isinstance(metadata.get("total_tokens"), int):
                self.tokens += metadata["total_tokens"]
        return {**base, **{k: v for k, v in given.items() if k != "outputs"}, "outputs": outputs}

    def run_finished(
        self, status: str, error: str | None, at_s: float, sent: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """workflow_finished.data as the converter builds it from the run's state: for a run cut short,
        the state after the events `sent` (the outputs end and answer nodes gave, tokens, steps)."""
        env = self.env
        outputs: dict[str, Any] = {}
        steps, tokens = self.steps, self.tokens
        if sent is not None:
            finished = [e["data"] for e in sent if e.get("event") == "node_finished"]
            steps = len(finished)
            tokens = sum(
                d["execution_metadata"]["total_tokens"]
                for d in finished
                if isinstance(d.get("execution_metadata"), dict)
                and isinstance(d["execution_metadata"].get("total_tokens"), int)
            )
            for data in finished:
                if data.get("node_type") in ("end", "answer") and isinstance(data.get("outputs"), dict):
                    outputs.update(data["outputs"])
        return {
            "id": env.workflow_run_id,
            "workflow_id": env.workflow_id,
            "status": status,
            "outputs": outputs,
            "error": error,
            "elapsed_time": round(at_s, 6),
            "total_tokens": tokens,
            "total_steps": steps,
            "created_by": {"id": env.user_id, "user": env.user},
            "created_at": env.created_at,
            "finished_at": env.created_at + int(at_s),
            "exceptions_count": 0,
            "files": [],
        }

    def raw_run_events(self, error: str, at_s: float, task_id: str, started: bool) -> list[dict[str, Any]]:
        """1.16's worker fallback: a failed workflow_finished (after a synthetic workflow_started when
        the run never began), published as bare model dumps: event, task_id, workflow_run_id, data
        (tasks/app_generate/workflow_execute_task.py, dify 1.16.1 :265-312, :354-469)."""
        env = self.env
        now = env.created_at + int(at_s)
        out = []
        if not started:
            data: dict[str, Any] = {
                "id": env.workflow_run_id,
                "workflow_id": env.workflow_id,
                "inputs": env.inputs,
                "created_at": now,
            }
            if env.release.workflow_started_reason:
                data["reason"] = "initial"
            out.append(
                {"event": "workflow_started", "task_id": task_id, "workflow_run_id": env.workflow_run_id, "data": data}
            )
        finished: dict[str, Any] = {
            "id": env.workflow_run_id,
            "workflow_id": env.workflow_id,
            "status": "failed",
            "outputs": None,
            "error": error,
            "elapsed_time": 0.0,
            "total_tokens": 0,
            "total_steps": 0,
            "created_by": {},
            "created_at": now,
            "finished_at": now,
            "exceptions_count": 1,
            "files": [],
        }
        out.append(
            {"event": "workflow_finished", "task_id": task_id, "workflow_run_id": env.workflow_run_id, "data": finished}
        )
        return out


def metadata(given: Any, release: Release, timing: tuple[float | None, float | None]) -> dict[str, Any]:
    """TaskStateMetadata dumped in full: annotation_reply, retriever_resources, usage, [reasoning]."""
    given = given if isinstance(given, dict) else {}
    out: dict[str, Any] = {"annotation_reply": None, "retriever_resources": [], "usage": None}
    out.update(given)
    out["usage"] = full_usage(out.get("usage"), timing)
    if release.metadata_reasoning:
        out.setdefault("reasoning", {})
    return out


def end_metadata(
    given: Any, release: Release, chatflow_timing: tuple[float | None, float | None] | None
) -> dict[str, Any]:
    """message_end's metadata: a chatflow's (its timing given) in full; an easy-UI app's without its
    nulls from 1.16 on."""
    if chatflow_timing is not None:
        return metadata(given, release, chatflow_timing)
    known = _END_METADATA.get(given, release.name)
    if known is not None:
        return known
    found = metadata(given, release, (None, None))
    return _END_METADATA.put(given, release.name, drop_none(found) if release.message_end_exclude_none else found)


# An easy-UI message_end's metadata: a scenario's constant message_end is the same object on every
# request, so every stream of it shares one (events are only read once built).
_END_METADATA: ByIdentity[dict[str, Any]] = ByIdentity()
