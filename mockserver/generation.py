"""Builds the Plan of a generate endpoint (chat, completion, workflow): envelope, timeline, fold."""

from __future__ import annotations

from typing import Any

from .actions import ActContext
from .faultspec import FaultSpec
from .injection import stream_fault
from .render import Plan
from .render.envelope import Envelope, EventBuilder, blocking_body, expand_splits, family_of, stop_events
from .render.sse import StreamPlan
from .render.wire import GENERATE
from .scenarios.model import Timing
from .settings import Settings

RawEvent = tuple[str, dict[str, Any], Any, Any]  # name, fields, split, delay_ms


def schedule(timing: Timing, delays: list[float | None], draws: Any) -> list[float]:
    """Scheduled ms of each event since the request started; jitter is seeded, so bytes never vary."""
    rng = draws.random("timing")
    times, t = [], 0.0
    for i, delay in enumerate(delays):
        if delay is not None:
            step = float(delay)
        else:
            base = timing.first_event_ms if i == 0 else timing.interval_ms
            jitter = rng.uniform(-timing.jitter_ms, timing.jitter_ms) if timing.jitter_ms else 0.0
            step = max(0.0, base + jitter)
        t += step
        times.append(round(t, 3))
    return times


def default_events(family: str, blocking: Any) -> list[RawEvent]:
    """Events for a scenario that only wrote a blocking body, so streaming still works."""
    given = blocking if isinstance(blocking, dict) else {}
    if family == "workflow":
        data = given.get("data") or {}
        return [("workflow_started", {}, None, None), ("workflow_finished", {"data": data}, None, None)]
    end: dict[str, Any] = {"metadata": given["metadata"]} if "metadata" in given else {}
    return [("message", {"answer": given.get("answer", "")}, None, None), ("message_end", end, None, None)]


def build(
    ctx: ActContext,
    settings: Settings,
    timing: Timing,
    blocking: Any,
    raw: list[RawEvent] | None,
    fault: FaultSpec | None = None,
) -> tuple[Plan, str]:
    """The Plan and the answer text (for the action's commit)."""
    call, bound = ctx.call, ctx.bound
    assert call.app is not None  # generate endpoints always authenticate an app
    family = family_of(call.app.mode)
    env = Envelope(
        family=family,
        mode=call.app.mode,
        task_id=bound["task_id"],
        created_at=ctx.now,
        draws=ctx.draws,
        message_id=bound.get("message_id"),
        conversation_id=bound.get("conversation_id"),
        workflow_run_id=bound.get("workflow_run_id"),
        workflow_id=bound.get("workflow_id"),
        inputs=call.inputs,
        user=call.user,
        user_id=bound.get("end_user_id"),
    )
    if raw is None:
        raw = default_events(family, blocking)
    flat: list[tuple[str, dict[str, Any], Any]] = []
    for name, fields, split, delay in raw:
        for i, part in enumerate(expand_splits(name, fields, split)):
            flat.append((name, part, delay if i == 0 else None))
    if call.streaming or family == "workflow":
        times = schedule(timing, [d for _, _, d in flat], ctx.draws)
    else:
        times = [0.0] * len(flat)  # a blocking chat or completion shows no timing: skip the seeded draws
    builder = EventBuilder(env)
    events = [builder.build(name, fields, t / 1000.0) for (name, fields, _), t in zip(flat, times, strict=True)]
    body = blocking_body(env, events, blocking)
    answer = body.get("answer", "") if family != "workflow" else ""
    if not call.streaming:
        return Plan(body=body, wire=GENERATE), str(answer)
    stream = StreamPlan(
        events=events,
        times_ms=times,
        pace_scale=settings.pace_scale,
        ping_interval_ms=settings.ping_interval_s * 1000.0,
        on_stop=lambda i, at_ms: stop_events(env, builder, events, i, at_ms / 1000.0),
        fault=stream_fault(fault, events, builder),
    )
    return Plan(stream=stream), str(answer)
