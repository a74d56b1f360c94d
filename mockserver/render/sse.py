"""Writes an SSE stream one event at a time on the scheduled timeline: pacing, pings, the stop flag,
and the stream faults (cut, in-band error, malformed frame, stall)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web
from msgspec import Struct, field

from mockserver import jsonsafe
from mockserver.faults.apply import StreamFault
from mockserver.faults.delivery import DIFY_HEADERS, NORMAL, Delivery, write
from mockserver.state.records import RunningTask, StopFlag

PING: Final = b"event: ping\n\n"
# Dify's generate endpoints set only the content type (libs/helper.py compact_generate_response).
SSE_HEADERS: Final = {"Content-Type": "text/event-stream; charset=utf-8"}


def encode_event(event: dict[str, Any]) -> bytes:
    # Dify serialises with orjson: compact separators and raw UTF-8, one line per event (jsonsafe:
    # what a client sent is echoed even where orjson alone would refuse it).
    try:
        return b"data: " + orjson.dumps(event, default=jsonsafe.shown) + b"\n\n"
    except TypeError:
        return b"data: " + orjson.dumps(jsonsafe.tame(event), default=jsonsafe.shown) + b"\n\n"


def is_ping(event: dict[str, Any]) -> bool:
    return event.get("event") == "ping" and len(event) == 1


class StreamPlan(Struct, eq=False):
    """A stream to write: its events, when each is due, and how it stops."""

    events: list[dict[str, Any]]
    times_ms: list[float]  # scheduled time of each event since the request started
    pace_scale: float
    ping_interval_ms: float
    stopped: StopFlag | None = None
    task: RunningTask | None = None  # the stop flag's owner record (who stopped it)
    # Given the index of the first unsent event, its scheduled time and whether the task's own user
    # stopped it, the terminal events to send.
    on_stop: Callable[[int, float, bool], list[dict[str, Any]]] | None = None
    fault: StreamFault | None = None
    leading_ping: bool = False  # a relayed run's first frame (VERSIONS.md V2)
    idle_after_s: float = 0.0  # after the events, wait this long (scaled) before the stream ends
    delivery: Delivery = NORMAL
    sent: list[str] = field(default_factory=list)  # names of the data events written (journal)
    fault_at: int | None = None  # data events sent when the stream fault struck (journal)
    outcome: str = "complete"  # complete | stopped | cut | error | stalled | client_left
    error: str | None = None  # the message of the error event a stream_error fault sent
    finished: dict[str, Any] | None = None  # the data of the last workflow_finished actually written


class _Clock:
    """Scheduled time. A sleep is a timer and a future the writer awaits (what asyncio.sleep makes,
    without its coroutine frame: every stream in flight is asleep in one); a stop wakes it early."""

    __slots__ = ("now_ms", "plan", "timer")

    def __init__(self, plan: StreamPlan) -> None:
        self.plan = plan
        self.now_ms = 0.0
        self.timer: asyncio.TimerHandle | None = None

    def sleep(self, target_ms: float) -> asyncio.Future[None] | None:
        """The sleep to `target_ms` (scaled) to await; None when none is due or the stream is stopped."""
        wait = (target_ms - self.now_ms) * self.plan.pace_scale / 1000.0
        self.now_ms = max(self.now_ms, target_ms)
        stopped = self.plan.stopped
        if wait <= 0 or (stopped is not None and stopped.is_set()):
            return None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        # The bare context: call_later would otherwise copy the writer's for each timer.
        self.timer = loop.call_later(wait, _wake, waiter, context=_BARE)
        if stopped is not None:
            stopped.watch(waiter)
        return waiter

    def running(self) -> bool:
        """False once a stop arrived."""
        stopped = self.plan.stopped
        return stopped is None or not stopped.is_set()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


_BARE: Final = contextvars.Context()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Writer:
    __slots__ = ("data_sent", "glue_next", "plan", "resp")

    def __init__(self, resp: web.StreamResponse, plan: StreamPlan) -> None:
        self.resp, self.plan = resp, plan
        self.data_sent = 0
        self.glue_next = False  # stream_malformed form=framing: the next frame loses its blank line

    async def event(self, event: dict[str, Any]) -> None:
        if is_ping(event):
            await write(self.resp, PING, self.plan.delivery)
            return
        frame = encode_event(event)
        if self.glue_next:
            frame, self.glue_next = frame[:-1], False
        await write(self.resp, frame, self.plan.delivery)
        self.plan.sent.append(event["event"])
        self.data_sent += 1
        if event["event"] == "workflow_finished":
            self.plan.finished = event.get("data")


async def stream(request: web.Request, plan: StreamPlan) -> web.StreamResponse:
    """Write the stream. One coroutine from the head to the end (10,000 streams in flight each hold
    their whole await chain); the connection closes without a proper end when a fault says so."""
    if plan.delivery.latency_s:
        await asyncio.sleep(plan.delivery.latency_s)  # a slow first token: nothing before the head
    resp = web.StreamResponse(status=200, headers=SSE_HEADERS)
    resp.headers.update(request.get(DIFY_HEADERS) or {})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    out, clock = _Writer(resp, plan), _Clock(plan)
    try:
        fault = plan.fault
        next_ping = plan.ping_interval_ms
        ended: bool | None = None  # how the events ended: True a proper end, False a close at once
        if plan.leading_ping:
            await write(resp, PING, plan.delivery)
        for i, event in enumerate(plan.events):
            if fault is not None and out.data_sent == fault.after:
                ended = await _strike(out, fault, event, i, clock.now_ms)
                fault = None
                if ended is not None:
                    break
            target = plan.times_ms[i]
            running = True
            while running and next_ping <= target:
                if (pause := clock.sleep(next_ping)) is not None:
                    await pause
                running = clock.running()
                if running:
                    await write(resp, PING, plan.delivery)  # every ping_interval from the start, events or not
                    next_ping += plan.ping_interval_ms
            if running:
                if (pause := clock.sleep(target)) is not None:
                    await pause
                running = clock.running()
            if not running and plan.on_stop is not None:
                plan.outcome = "stopped"
                by_owner = plan.task.by_owner if plan.task is not None else True
                for final in plan.on_stop(i, clock.now_ms, by_owner):
                    await out.event(final)
                ended = True
                break
            await out.event(event)
        if ended is None and fault is not None:
            # `after` beyond the stream's events: the fault strikes once all of them are out.
            ended = await _strike(out, fault, None, len(plan.events), clock.now_ms)
        if ended is None:
            await _idle(plan, plan.idle_after_s)
            ended = True
        if ended:
            await resp.write_eof()
        elif request.transport is not None:
            # Close without the last chunk: the client sees the body end early.
            request.transport.close()
    except ConnectionResetError:
        plan.outcome = "client_left"
    finally:
        clock.cancel()
    return resp


async def _idle(plan: StreamPlan, seconds: float) -> None:
    """A relay waiting for a terminal event that never comes (VERSIONS.md V4, V11b), then closing."""
    if seconds and plan.pace_scale:
        await asyncio.sleep(seconds * plan.pace_scale)


async def _strike(
    out: _Writer, fault: StreamFault, upcoming: dict[str, Any] | None, index: int, at_ms: float
) -> bool | None:
    """Apply a stream fault at its point; None lets the stream go on."""
    plan = out.plan
    plan.fault_at = out.data_sent
    if fault.kind == "stream_cut":
        plan.outcome = "cut"
        return False
    if fault.kind == "stream_error":
        assert fault.tail is not None
        events, idle_s = fault.tail(index, at_ms, fault.params)
        for event in events:
            await out.event(event)
        plan.outcome = "error"
        plan.error = next(
            (
                str(e.get("message", "")) if e.get("event") == "error" else str((e.get("data") or {}).get("error"))
                for e in events
                if e.get("event") == "error"
                or (e.get("event") == "workflow_finished" and (e.get("data") or {}).get("error"))
            ),
            None,
        )
        await _idle(plan, idle_s)
        return True
    if fault.kind == "stream_malformed":
        if fault.form == "framing":
            out.glue_next = True
        elif upcoming is not None:
            frame = encode_event(upcoming)
            await write(out.resp, frame[: max(8, len(frame) // 2)] + b"\n\n", plan.delivery)  # truncated JSON
        return None
    # stream_stall: keep-alives only, in real time, until `ms` runs out or the client leaves.
    plan.outcome = "stalled"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + fault.stall_s
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(fault.ping_s, left))
        if loop.time() < deadline:
            await write(out.resp, PING, plan.delivery)
    return False
