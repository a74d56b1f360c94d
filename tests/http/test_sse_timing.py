"""Pings and pacing: pings sit on the scheduled timeline, so the bytes are the same at any pace_scale."""

from __future__ import annotations

import time
from typing import Any

from mockserver.app import create_app
from mockserver.settings import Settings

CHAT = {"inputs": {}, "query": "one two three", "user": "u1", "response_mode": "streaming"}
AUTH = {"Authorization": "Bearer app-chat", "X-Mock-Session": "timing"}


async def _stream(aiohttp_client: Any, **settings: Any) -> tuple[bytes, float]:
    client = await aiohttp_client(create_app(Settings(seed=0, **settings)))
    t0 = time.perf_counter()
    resp = await client.post("/v1/chat-messages", json=CHAT, headers=AUTH)
    body = await resp.read()
    return body, time.perf_counter() - t0


async def test_pings_every_interval_from_the_start(aiohttp_client: Any) -> None:
    # Default chat timing: first event ~200 ms, then ~40 ms apart; pings every 100 ms of that timeline.
    body, _ = await _stream(aiohttp_client, pace_scale=0.0, ping_interval_s=0.1)
    frames = body.split(b"\n\n")
    assert frames[0] == b"event: ping"
    names = [f.split(b'"event":"')[1].split(b'"')[0] if f.startswith(b"data: ") else b"ping" for f in frames if f]
    assert names.count(b"ping") >= 2
    assert names[-1] == b"message_end"


async def test_same_bytes_at_any_pace_and_pacing_is_real(aiohttp_client: Any) -> None:
    fast, fast_s = await _stream(aiohttp_client, pace_scale=0.0, ping_interval_s=0.1)
    paced, paced_s = await _stream(aiohttp_client, pace_scale=1.0, ping_interval_s=0.1)
    assert fast == paced
    # 6 events at ~200 + 5 x 40 ms: the paced stream takes visibly longer than the unpaced one.
    assert paced_s > 0.25 > fast_s


async def test_stream_is_incremental(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(Settings(seed=0, pace_scale=1.0)))
    resp = await client.post("/v1/chat-messages", json=CHAT, headers=AUTH)
    first = await resp.content.readuntil(b"\n\n")
    t_first = time.perf_counter()
    rest = await resp.read()
    t_end = time.perf_counter()
    assert first.startswith(b'data: {"event":"message"')
    assert rest.count(b"data: ") == 5 and t_end - t_first > 0.08
