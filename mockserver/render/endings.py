"""How a generation ends: the blocking body it folds to, and the events a stop or a failure sends.

Each follows the release (dify/versions.py): a relayed stream (1.14+) ends at the first
workflow_finished or workflow_paused, so what Dify sends after it never reaches the client."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii
from typing import Any

from mockserver.dify.events import MODEL_ERROR, REPLY_EVENTS, RUN_TERMINAL
from mockserver.dify.versions import Release
from mockserver.render.builder import EventBuilder, end_metadata, metadata
from mockserver.render.envelope import Envelope
from mockserver.render.memo import ByIdentity
from mockserver.render.wire import generate_text
from mockserver.scenarios.model import Reply

Event = dict[str, Any]
RawEvent = tuple[str, dict[str, Any], Any, Any]  # name, fields, split, delay_ms


def relay_cut(events: list[Event]) -> list[Event]:
    """What a relayed stream delivers: everything up to and including the first run terminal."""
    for i, event in enumerate(events):
        if event.get("event") in RUN_TERMINAL:
            return events[: i + 1]
    return events


def blocking_body(
    env: Envelope, builder: EventBuilder, events: list[Event], given: Any, answers: list[str] | None = None
) -> dict[str, Any]:
    """Dify's blocking body: `given` (fixture fields minus envelope) over what the stream folds to.
    `answers`: the answer chunks of a chat or completion whose reply events were not built."""
    given = given if isinstance(given, dict) else {}
    if env.family == "workflow":
        ending = next((e for e in events if e["event"] in RUN_TERMINAL), None)
        if ending is not None and ending["event"] == "workflow_paused":
            return _paused_body(env, ending["data"], given)
        finished = next((e for e in events if e["event"] == "workflow_finished"), None)
        data = dict(finished["data"]) if finished else builder.run_finished("succeeded", None, 0.0)
        for key in ("created_by", "exceptions_count", "files"):
            data.pop(key, None)
        data.update(given.get("data") or {})
        return {"task_id": env.task_id, "workflow_run_id": env.workflow_run_id, "data": data}
    if answers is not None:
        answer = "".join(answers)
    else:
        answer = "".join(str(e.get("answer", "")) for e in events if e["event"] in REPLY_EVENTS)
    if env.mode == "agent":
        # The New Agent's closing `message` carries the whole answer, replacing the deltas.
        closing = [e for e in events if e["event"] == "message"]
        answer = str(closing[-1].get("answer", "")) if closing else answer
    end = next((e for e in events if e["event"] == "message_end"), None)
    # The blocking body dumps the metadata in full in every release (easy_ui pipeline
    # _to_blocking_response), even where 1.16's message_end drops its nulls.
    if "metadata" not in given and end is not None and not env.chatflow:
        shown = _shown_metadata(end["metadata"], env.release)
    else:
        shown = builder.metadata(given["metadata"] if "metadata" in given else end["metadata"] if end else None)
    conversation = env.conversation_id if env.family == "chat" else _NO_CONVERSATION
    return _message_body(
        env.task_id, env.message_id, conversation, env.mode, given.get("answer", answer), shown, env.created_at
    )


_NO_CONVERSATION: Any = object()  # a completion's body has no conversation_id key at all

# The full metadata of an easy-UI message_end's: every stream of a constant scenario shares one
# message_end metadata (builder.end_metadata), so its body (the message the commit stores, kept as long
# as the tenant) shares one full metadata too instead of a usage dict of its own.
_SHOWN: ByIdentity[dict[str, Any]] = ByIdentity()


def _shown_metadata(end: Any, release: Release) -> dict[str, Any]:
    known = _SHOWN.get(end, release.name)
    if known is not None:
        return known
    return _SHOWN.put(end, release.name, metadata(end, release, (None, None)))


def _message_body(
    task_id: str, message_id: Any, conversation_id: Any, mode: str, answer: Any, shown: Any, created_at: int
) -> dict[str, Any]:
    """A chat's or completion's blocking body, its keys in Dify's order."""
    body: dict[str, Any] = {"event": "message", "task_id": task_id, "id": message_id, "message_id": message_id}
    if conversation_id is not _NO_CONVERSATION:
        body["conversation_id"] = conversation_id
    body.update(mode=mode, answer=answer, metadata=shown, created_at=created_at)
    return body


# A message_end's metadata as a blocking body shows it, and its JSON text.
_ENDS: ByIdentity[tuple[dict[str, Any], str]] = ByIdentity()


def plain_body(
    bound: dict[str, Any], mode: str, release: Release, now: int, raw: list[RawEvent] | Reply, given: Any
) -> tuple[dict[str, Any], bytes] | None:
    """The blocking body of a chat or completion whose events are answer chunks and message_ends only
    (no split on a message_end), and its bytes: what blocking_body gives for it, without the envelope
    and builder a stream needs. None for any other shape. `raw` is the rendered events, or their Reply
    where the scenario's stream folds to its answer alone (Respond.folded). The body's metadata is that
    of the first message_end, in full; a scenario's constant message_end (the usual `usage(...)`) is the
    same object on every request, so its metadata and that metadata's JSON text are worked out once per
    release and shared (bodies and stored messages only ever read it). The bytes are the body's
    json.dumps, put together from its parts: encoding the whole body costs more than the rest of this
    function."""
    if not isinstance(raw, Reply):
        answers: list[str] = []
        end: Any = None
        ended = False
        for name, fields, split, _ in raw:
            if name in REPLY_EVENTS:
                answers.append(str(fields.get("answer", "")))
            elif name != "message_end" or split:
                return None
            elif not ended:
                end, ended = fields.get("metadata"), True
        raw = Reply("".join(answers), end, ended)
    given = given if isinstance(given, dict) else {}
    if "metadata" in given or not raw.ended:
        shown = metadata(given.get("metadata"), release, (None, None))
        shown_text = generate_text(shown)
    else:
        shown, shown_text = _end_metadata(raw.end, release)
    conversation = bound.get("conversation_id") if mode != "completion" else _NO_CONVERSATION
    answer = given.get("answer", raw.answer)
    task_id, message_id = bound["task_id"], bound.get("message_id")
    body = _message_body(task_id, message_id, conversation, mode, answer, shown, now)
    if type(task_id) is not str or type(message_id) is not str or type(answer) is not str or type(now) is not int:
        text = ", ".join(f'"{k}": {shown_text if k == "metadata" else generate_text(v)}' for k, v in body.items())
        return body, ("{" + text + "}").encode()
    # The usual body: json.dumps of it written out, its strings through json's own escaper.
    esc = encode_basestring_ascii
    text = f'{{"event": "message", "task_id": {esc(task_id)}, "id": {esc(message_id)}, '
    text += f'"message_id": {esc(message_id)}, '
    if conversation is not _NO_CONVERSATION:
        text += f'"conversation_id": {generate_text(conversation)}, '
    text += f'"mode": {esc(mode)}, "answer": {esc(answer)}, "metadata": {shown_text}, "created_at": {now}}}'
    return body, text.encode()


def _end_metadata(end: Any, release: Release) -> tuple[dict[str, Any], str]:
    """metadata(end_metadata(end)) and its text, remembered for a constant message_end."""
    known = _ENDS.get(end, release.name)
    if known is not None:
        return known
    shown = metadata(end_metadata(end, release, None), release, (None, None))
    return _ENDS.put(end, release.name, (shown, generate_text(shown)))


def _paused_body(env: Envelope, paused: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """A blocking run that paused (WorkflowAppPausedBlockingResponse, dify 1.14.2 workflow
    generate_task_pipeline.py _to_blocking_response): the run's state at the pause, no finish time,
    the waiting nodes and the pause reasons."""
    data = {
        "id": env.workflow_run_id,
        "workflow_id": env.workflow_id,
        "status": paused.get("status", "paused"),
        "outputs": paused.get("outputs") or {},
        "error": None,
        "elapsed_time": paused.get("elapsed_time", 0.0),
        "total_tokens": paused.get("total_tokens", 0),
        "total_steps": paused.get("total_steps", 0),
        "created_at": paused.get("created_at", env.created_at),
        "finished_at": None,
        "paused_nodes": paused.get("paused_nodes", []),
        "reasons": paused.get("reasons", []),
    }
    data.update(given.get("data") or {})
    return {"task_id": env.task_id, "workflow_run_id": env.workflow_run_id, "data": data}


def _open_node(events: list[Event], sent: int) -> Event | None:
    """The node running at the cut (started, not finished), else the next one the plan starts."""
    finished = {e["data"].get("node_id") for e in events[:sent] if e["event"] == "node_finished"}
    for event in reversed(events[:sent]):
        if event["event"] == "node_started" and event["data"].get("node_id") not in finished:
            return event
    return next((e for e in events[sent:] if e["event"] == "node_started"), None)


def _failed_node(builder: EventBuilder, events: list[Event], sent: int, error: str, at_s: float) -> list[Event]:
    node = _open_node(events, sent)
    if node is None:
        return []
    out = []
    data = node["data"]
    fields = {"node_id": data["node_id"], "node_type": data["node_type"], "title": data["title"]}
    if node in events[sent:]:
        out.append(builder.build("node_started", {"data": fields}, at_s))
    failed = {**fields, "status": "failed", "error": error, "outputs": {}}
    out.append(builder.build("node_finished", {"data": failed}, at_s))
    return out


def failure_events(
    env: Envelope, builder: EventBuilder, events: list[Event], sent: int, at_s: float, params: dict[str, Any]
) -> tuple[list[Event], float]:
    """`stream_error` at event `sent`: the events that follow and how long the stream then idles.

    Chat family and completion: Dify's `error` event. Workflow and chatflow, by default (`as=node`), a
    failing node: node_finished failed, then workflow_finished failed (and for a chatflow the
    pipeline's `error` "Run failed: ..." after it, which only an unrelayed 1.12 stream delivers);
    `as=event` is a non-graph error: the `error` event, then per release nothing, the relay's idle
    wait, or 1.16's fallback workflow_finished (VERSIONS.md V11, V11b, V12)."""
    release = env.release
    code = str(params.get("code", "completion_request_error"))
    message = params.get("message")
    runs = env.family == "workflow" or env.chatflow
    if runs and params.get("as", "node") == "node":
        error = str(message or MODEL_ERROR)
        out = _failed_node(builder, events, sent, error, at_s)
        state = builder.run_finished("failed", error, at_s, [*events[:sent], *out])
        out.append(builder.build("workflow_finished", {"data": state}, at_s))
        if env.chatflow:
            out.append(
                builder.build(
                    "error", {"code": "invalid_param", "status": 400, "message": f"Run failed: {error}"}, at_s
                )
            )
        return (relay_cut(out) if release.relayed_runs else out), 0.0
    fields: dict[str, Any] = {"code": code}
    if message is not None:
        fields["message"] = message
    elif code == "completion_request_error":
        fields["message"] = MODEL_ERROR
    error_event = builder.build("error", fields, at_s)
    if not runs or release.workflow_error_tail == "end":
        return [error_event], 0.0
    if release.workflow_error_tail == "silence":
        return [error_event], release.relay_idle_s
    started = any(e["event"] == "workflow_started" for e in events[:sent])
    return [error_event, *builder.raw_run_events(error_event["message"], at_s, env.task_id, started)], 0.0


def stop_events(
    env: Envelope, builder: EventBuilder, events: list[Event], sent: int, at_s: float, by_owner: bool
) -> list[Event]:
    """The events of a stopped generation (REFERENCE §3.5). Chat and completion end with message_end.
    A workflow or chatflow run ends with workflow_finished "stopped" and the run's state so far (its
    partial outputs, tokens and steps); a chatflow then saves its message (message_end), which a
    relayed stream cuts off. A chatflow stopped by another user gets only the graph engine's abort,
    which 1.12 and 1.14 report as a failed run (advanced_chat/generate_task_pipeline.py)."""
    pending = events[sent:]
    if env.family != "workflow" and not env.chatflow:
        end = next((e for e in pending if e["event"] == "message_end"), None)
        return [end if end is not None else builder.build("message_end", {}, at_s)]
    release = env.release
    if not by_owner and release.stranger_stop_fails:
        error = "Aborted: User requested stop"
        state = builder.run_finished("failed", error, at_s, events[:sent])
        out = [builder.build("workflow_finished", {"data": state}, at_s)]
        out.append(
            builder.build("error", {"code": "invalid_param", "status": 400, "message": f"Run failed: {error}"}, at_s)
        )
        return relay_cut(out) if release.relayed_runs else out
    reason = release.stop_reason if by_owner else "Aborted: User requested stop"
    state = builder.run_finished("stopped", reason, at_s, events[:sent])
    out = [builder.build("workflow_finished", {"data": state}, at_s)]
    if env.chatflow:
        end = next((e for e in pending if e["event"] == "message_end"), None)
        out.append(end if end is not None else builder.build("message_end", {}, at_s))
    return relay_cut(out) if release.relayed_runs else out


def ordered(
    env: Envelope, raw: list[tuple[str, dict[str, Any], Any, Any]]
) -> list[tuple[str, dict[str, Any], Any, Any]]:
    """A chatflow's closing pair in the release's order: 1.12 finishes the run before saving the
    message; from 1.14 message_end comes first, so it survives the relay's cut at workflow_finished."""
    if not env.chatflow:
        return raw
    names = [name for name, *_ in raw]
    if "message_end" not in names or "workflow_finished" not in names:
        return raw
    end, finished = names.index("message_end"), names.index("workflow_finished")
    if (end < finished) == env.release.chatflow_message_end_first:
        return raw
    out = list(raw)
    out[end], out[finished] = out[finished], out[end]
    return out
