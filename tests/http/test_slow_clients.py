"""Slow and vanishing clients (issue 13, robustness): a connection that dribbles its headers is closed
after `header_timeout` (`serve --header-timeout`), holding no handler task meanwhile; streams whose
clients hang up free their tasks at once, whatever they were waiting for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from mockserver.keys import STREAMS, TENANTS
from mockserver.settings import Settings
from mockserver.testing.server import MockServer

CHAT = {"query": "tell me a story", "user": "u", "inputs": {}, "response_mode": "streaming"}


@pytest.fixture
async def slow_server() -> AsyncIterator[MockServer]:
    # Streams spaced eight times the fixtures' own (about 3 s each): all 200 are still in flight when
    # the last has started, even on a busy machine.
    server = MockServer(Settings(pace_scale=8.0, header_timeout=1.0))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def port_of(server: MockServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


async def healthy(base_url: str) -> bool:
    async with aiohttp.ClientSession() as session, session.get(f"{base_url}/_mock/health") as resp:
        return resp.status == 200


async def settle(baseline: int, within: float) -> float:
    """Seconds until the loop's task count is back to `baseline` (fails after `within`)."""
    start = time.perf_counter()
    while len(asyncio.all_tasks()) > baseline:
        assert time.perf_counter() - start < within, f"{len(asyncio.all_tasks()) - baseline} tasks still held"
        await asyncio.sleep(0.01)
    return time.perf_counter() - start


async def test_headers_sent_a_byte_at_a_time_are_cut_after_the_timeout(slow_server: MockServer) -> None:
    baseline = len(asyncio.all_tasks())
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(slow_server))
    head = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    start = time.perf_counter()
    closed_at = None
    for byte in head:
        writer.write(bytes([byte]))
        await asyncio.sleep(0.2)  # five bytes a second: the head never completes
        # Only aiohttp's per-connection reader exists meanwhile: no handler task.
        assert len(asyncio.all_tasks()) <= baseline + 1
        if byte == ord("X"):  # meanwhile the server answers everyone else
            assert await healthy(slow_server.base_url)
        if reader.at_eof() or writer.is_closing():
            break
        try:
            if await asyncio.wait_for(reader.read(1), 0.001) == b"":
                closed_at = time.perf_counter()
                break
        except TimeoutError:
            continue
    elapsed = (closed_at or time.perf_counter()) - start
    writer.close()
    assert 0.9 <= elapsed < 2.5, f"closed after {elapsed:.2f} s with header_timeout=1.0"
    await settle(baseline, within=1.0)
    assert await healthy(slow_server.base_url)


async def test_a_keep_alive_client_within_the_timeout_is_served(slow_server: MockServer) -> None:
    """The timer restarts after each response: a client calling every 0.4 s keeps its connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(slow_server))
    try:
        for _ in range(5):
            writer.write(b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2.0)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(0.4)
    finally:
        writer.close()


@pytest.mark.parametrize(
    "fault",
    [
        None,  # the fixtures' own spacing between events
        "stream_stall;after=1;ms=60000;ping_ms=30000",  # nothing written for 30 s
    ],
    ids=["spaced", "stalled"],
)
async def test_200_abandoned_streams_free_their_tasks_at_once(slow_server: MockServer, fault: str | None) -> None:
    assert slow_server.app is not None
    baseline = len(asyncio.all_tasks())
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def start(i: int) -> aiohttp.ClientResponse:
            headers = {"Authorization": "Bearer app-chat", "X-Mock-Session": f"leave{i}"}
            if fault:
                headers["X-Mock-Fault"] = fault
            resp = await session.post(f"{slow_server.base_url}/v1/chat-messages", json=CHAT, headers=headers)
            assert resp.status == 200
            await resp.content.readuntil(b"\n\n")  # the first event, then the client goes
            return resp

        responses = await asyncio.gather(*(start(i) for i in range(200)))
        assert len(slow_server.app[STREAMS]) == 200
        assert await healthy(slow_server.base_url)
        for resp in responses:
            resp.close()
        took = await settle(baseline, within=1.0)
    assert not slow_server.app[STREAMS]
    assert took < 1.0
    registry = slow_server.app[TENANTS]
    outcomes = {entry["outcome"] for i in range(200) for entry in registry.get(f"s:leave{i}").journal}
    assert outcomes == {"client_left"}
    assert await healthy(slow_server.base_url)


async def test_serve_header_timeout_option(start_serve: Any) -> None:
    server = start_serve("--port", "0", "--quiet", "--header-timeout", "0.5")
    url = await asyncio.to_thread(server.wait_ready)
    port = int(url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n")  # no end of head
    start = time.perf_counter()
    assert await asyncio.wait_for(reader.read(), 5.0) == b""  # closed, nothing sent
    assert time.perf_counter() - start < 3.0
    writer.close()
    assert await healthy(url)


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--header-timeout", "0"], {}, "--header-timeout"),
        ([], {"DIFY_MOCK_HEADER_TIMEOUT": "soon"}, "DIFY_MOCK_HEADER_TIMEOUT"),
        ([], {"DIFY_MOCK_HEADER_TIMEOUT": "0"}, "DIFY_MOCK_HEADER_TIMEOUT"),
    ],
)
def test_a_bad_header_timeout_is_one_usage_line(args: list[str], env: dict[str, str], message: str) -> None:
    from tests.support.cli_inprocess import invoke

    result = invoke("serve", "--port", "0", *args, env=env)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
