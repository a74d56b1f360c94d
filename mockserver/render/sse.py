"""Writes an SSE stream one event at a time on the scheduled timeline: pacing, pings, stop flag."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from aiohttp import web

PING: Final = b"event: ping\n\n"
SSE_HEADERS: Final = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def encode_event(event: dict[str, Any]) -> bytes:
    # Dify serialises with orjson: compact separators and raw UTF-8, one line per event.
    return b"data: " + orjson.dumps(event) + b"\n\n"


@dataclass(slots=True)
class StreamPlan:
    events: list[dict[str, Any]]
    times_ms: list[float]  # scheduled time of each event since the request started
    pace_scale: float
    ping_interval_ms: float
    stopped: asyncio.Event | None = None
    # Given the index of the first unsent event and its scheduled time, the terminal events to send.
    on_stop: Callable[[int, float], list[dict[str, Any]]] | None = None
    sent: list[str] = field(default_factory=list)  # names of the data events written (journal)


class _Clock:
    """Scheduled time, advanced by sleeping the scaled difference; wakes early on a stop."""

    def __init__(self, plan: StreamPlan) -> None:
        self.plan = plan
        self.now_ms = 0.0

    async def until(self, target_ms: float) -> bool:
        """Sleep to `target_ms`; returns False when a stop arrived first."""
        wait = (target_ms - self.now_ms) * self.plan.pace_scale / 1000.0
        stopped = self.plan.stopped
        if wait > 0:
            if stopped is None:
                await asyncio.sleep(wait)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopped.wait(), wait)
        self.now_ms = max(self.now_ms, target_ms)
        return stopped is None or not stopped.is_set()


async def write_events(resp: web.StreamResponse, plan: StreamPlan) -> None:
    clock = _Clock(plan)
    next_ping = plan.ping_interval_ms
    for i, event in enumerate(plan.events):
        target = plan.times_ms[i]
        running = True
        while running and next_ping <= target:
            running = await clock.until(next_ping)
            if running:
                await resp.write(PING)  # every ping_interval from the start, events or not
                next_ping += plan.ping_interval_ms
        if running:
            running = await clock.until(target)
        if not running and plan.on_stop is not None:
            for final in plan.on_stop(i, clock.now_ms):
                await resp.write(encode_event(final))
                plan.sent.append(final["event"])
            return
        await resp.write(encode_event(event))
        plan.sent.append(event["event"])


async def stream(request: web.Request, plan: StreamPlan) -> web.StreamResponse:
    resp = web.StreamResponse(status=200, headers=SSE_HEADERS)
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    with contextlib.suppress(ConnectionResetError):  # the client left: nothing more to send
        await write_events(resp, plan)
        await resp.write_eof()
    return resp
