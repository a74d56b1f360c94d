"""Builds the Plan of a generate endpoint (chat, completion, workflow): envelope, timeline, fold."""

from __future__ import annotations

from typing import Any, Final

from mockserver.actions import ActContext
from mockserver.dify.events import REPLY_EVENTS
from mockserver.errors import DifyError
from mockserver.faults.apply import stream_fault
from mockserver.faults.spec import FaultSpec
from mockserver.render.builder import EventBuilder
from mockserver.render.endings import (
    RawEvent,
    blocking_body,
    failure_events,
    ordered,
    plain_body,
    relay_cut,
    stop_events,
)
from mockserver.render.envelope import Envelope, expand_splits, family_of
from mockserver.render.respond import Plan
from mockserver.render.resume import Resumer
from mockserver.render.sse import StreamPlan
from mockserver.render.wire import GENERATE
from mockserver.scenarios.model import Reply, Timing
from mockserver.settings import Settings
from mockserver.validation import Call

RUN_MODES: Final = frozenset({"workflow", "advanced-chat"})  # the modes whose streams 1.14+ relays
# Blocking modes whose body is more than answer and usage: a run's data, a chatflow's, the New Agent's last message.
_UNFOLDED: Final = frozenset({*RUN_MODES, "agent"})


def default_events(family: str, blocking: Any) -> list[RawEvent]:
    """Events for a scenario that only wrote a blocking body, so streaming still works."""
    given = blocking if isinstance(blocking, dict) else {}
    if family == "workflow":
        data = given.get("data") or {}
        return [("workflow_started", {}, None, None), ("workflow_finished", {"data": data}, None, None)]
    end: dict[str, Any] = {"metadata": given["metadata"]} if "metadata" in given else {}
    return [("message", {"answer": given.get("answer", "")}, None, None), ("message_end", end, None, None)]


def envelope(ctx: ActContext) -> Envelope:
    call, bound = ctx.call, ctx.bound
    assert call.app is not None  # generate endpoints always authenticate an app
    return Envelope(
        family=family_of(call.app.mode),
        mode=call.app.mode,
        release=call.release,
        task_id=bound["task_id"],
        created_at=ctx.now,
        draws=ctx.draws,
        message_id=bound.get("message_id"),
        conversation_id=bound.get("conversation_id"),
        workflow_run_id=bound.get("workflow_run_id"),
        workflow_id=bound.get("workflow_id"),
        app_id=call.app.id,
        inputs=call.inputs,
        user=call.user,
        user_id=bound.get("end_user_id"),
        query=str(call.payload.get("query") or ""),
        dialogue_count=int(bound.get("dialogue_count", 1)),
    )


def folds_plainly(call: Call) -> bool:
    """A blocking chat or completion: its body is the answer and usage its events fold to (endings.plain_body)."""
    return not call.streaming and call.app is not None and call.app.mode not in _UNFOLDED


def relayed(ctx: ActContext) -> bool:
    """Whether Dify runs this stream in a worker and relays it (VERSIONS.md V2, V3)."""
    call = ctx.call
    return call.release.relayed_runs and call.streaming and call.app is not None and call.app.mode in RUN_MODES


def _chat_timing(times: list[float], flat: list[tuple[str, dict[str, Any], Any]]) -> tuple[float | None, float | None]:
    """A chatflow's usage times: to the first non-blank answer chunk, and from it to the last."""
    answered = [
        t
        for t, (name, fields, _) in zip(times, flat, strict=True)
        if name == "message" and str(fields.get("answer", "")).strip()
    ]
    if not answered:
        return None, None
    return round(answered[0] / 1000.0, 3), round((answered[-1] - answered[0]) / 1000.0, 3)


def build(
    ctx: ActContext,
    settings: Settings,
    timing: Timing,
    blocking: Any,
    raw: list[RawEvent] | Reply | None,
    fault: FaultSpec | None = None,
) -> tuple[Plan, dict[str, Any]]:
    """The Plan and the blocking body (what the action's commit records: answer, usage, ...)."""
    call = ctx.call
    assert call.app is not None  # generate endpoints always authenticate an app
    if isinstance(raw, Reply) or folds_plainly(call):  # a Reply is rendered only where the body folds plainly
        given = raw if raw is not None else default_events(family_of(call.app.mode), blocking)
        plain = plain_body(ctx.bound, call.app.mode, call.release, ctx.now, given, blocking)
        if plain is not None:  # the usual blocking chat or completion: no envelope, builder or events
            ctx.bound["events"] = []
            return Plan(body=plain[0], wire=GENERATE, encoded=plain[1]), plain[0]
    assert not isinstance(raw, Reply), "a Reply is rendered only for a body that folds plainly"
    env = envelope(ctx)
    raw = ordered(env, raw if raw is not None else default_events(env.family, blocking))
    # A blocking chat or completion folds its answer chunks back into one answer: splitting them first
    # would change nothing but the cost (the New Agent's answer is its last `message`, so it splits).
    folded = not call.streaming and env.family != "workflow" and not env.chatflow and env.mode != "agent"
    flat: list[tuple[str, dict[str, Any], Any]] = []
    answers: list[str] | None = [] if folded else None  # a folded body's answer chunks, no event built
    for name, fields, split, delay in raw:
        if answers is not None and name in REPLY_EVENTS:
            answers.append(str(fields.get("answer", "")))
            continue
        for i, part in enumerate(expand_splits(name, fields, split)):
            flat.append((name, part, delay if i == 0 else None))
    if call.streaming or env.family == "workflow" or env.chatflow:
        times = timing.schedule([d for _, _, d in flat], ctx.draws)
    else:
        times = [0.0] * len(flat)  # a blocking chat or completion shows no timing: skip the seeded draws
    builder = EventBuilder(env)
    if env.chatflow:
        builder.timing = _chat_timing(times, flat)
    events = [builder.build(name, fields, t / 1000.0) for (name, fields, _), t in zip(flat, times, strict=True)]
    ctx.bound["events"] = events  # what the commit records beyond the body (an agent's thoughts)
    if (env.family == "workflow" or env.chatflow) and any(e.get("event") == "workflow_paused" for e in events):
        ctx.bound["resume"] = Resumer(env, builder, ctx.bound.get("dsl_run"))  # stored with the paused run
    body = blocking_body(env, builder, events, blocking, answers)
    if not call.streaming:
        return Plan(body=body, wire=GENERATE), body
    if relayed(ctx):
        kept = relay_cut(events)
        times, events = times[: len(kept)], kept
    ending = _EarlyEnd(env, builder, events)
    stream = StreamPlan(
        events=events,
        times_ms=times,
        pace_scale=settings.pace_scale,
        ping_interval_ms=settings.ping_interval_s * 1000.0,
        leading_ping=relayed(ctx),
        on_stop=ending,
        fault=stream_fault(fault, events, ending.failure),
    )
    return Plan(stream=stream), body


class _EarlyEnd:
    """The events a stop (called as on_stop) or a stream_error (`failure`) sends. One small object
    where two closures held three cells, a tuple and a function each for every stream in flight."""

    __slots__ = ("builder", "env", "events")

    def __init__(self, env: Envelope, builder: EventBuilder, events: list[dict[str, Any]]) -> None:
        self.env, self.builder, self.events = env, builder, events

    def __call__(self, sent: int, at_ms: float, by_owner: bool) -> list[dict[str, Any]]:
        return stop_events(self.env, self.builder, self.events, sent, at_ms / 1000.0, by_owner)

    def failure(self, sent: int, at_ms: float, params: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
        return failure_events(self.env, self.builder, self.events, sent, at_ms / 1000.0, params)


def worker_failure(ctx: ActContext, settings: Settings, error: DifyError) -> Plan:
    """A relayed run whose worker refused the request (VERSIONS.md V4): 1.14's relay pings and then
    waits for events that never come until its idle close; 1.16's worker publishes a synthetic
    workflow_started and a failed workflow_finished carrying the refusal's text."""
    release = ctx.call.release
    run_id = ctx.bound.get("workflow_run_id") or ctx.draws.uuid("workflow_run")
    ctx.bound.setdefault("task_id", run_id)
    ctx.bound.update(workflow_run_id=run_id, workflow_id=ctx.bound.get("workflow_id") or _workflow_id(ctx))
    env = envelope(ctx)
    env.inputs = dict(ctx.call.payload.get("inputs") or {})  # the request's own inputs: the form refused them
    events = (
        []
        if release.worker_failure == "silence"
        else EventBuilder(env).raw_run_events(error.message, 0.0, run_id, False)
    )
    stream = StreamPlan(
        events=events,
        times_ms=[0.0] * len(events),
        pace_scale=settings.pace_scale,
        ping_interval_ms=settings.ping_interval_s * 1000.0,
        leading_ping=True,
        idle_after_s=release.relay_idle_s if release.worker_failure == "silence" else 0.0,
    )
    return Plan(stream=stream)


def _workflow_id(ctx: ActContext) -> str:
    app = ctx.call.app
    return app.workflow_id if app is not None and app.workflow_id else ctx.draws.uuid("workflow")
