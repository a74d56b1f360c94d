"""Delivery and stream faults over real sockets (README, "Faults"): latency (a slow first token),
stream_cut (after N events or after a workflow node), stream_error, stream_malformed, stream_stall,
dribble, reset and empty. Timing is asserted as order and ratios with generous bounds."""

from __future__ import annotations

import asyncio
import errno
import json
import time
from typing import Any

import aiohttp
import pytest
from dify_facts import SSE_CONTENT_TYPE, auth

from mockserver.keys import TENANTS
from mockserver.settings import Settings
from mockserver.testing.server import MockServer

CHAT = "/v1/chat-messages"
WORKFLOW = "/v1/workflows/run"
COMPLETION = "/v1/completion-messages"
TERMINAL = {"message_end", "workflow_finished", "error"}
# app-workflow's nodes, in order: the events up to and including each node's node_finished
# (query "two words": "Processed: two words" is three text_chunk deltas).
WORKFLOW_NAMES = [
    "workflow_started",
    "node_started",
    "node_finished",  # start
    "node_started",
    "text_chunk",
    "text_chunk",
    "text_chunk",
    "node_finished",  # llm
    "node_started",
    "node_finished",  # end
    "workflow_finished",
]
EVENTS_THROUGH_NODE = {"start": 3, "llm": 8, "end": 10}


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"inputs": {}, "query": "hello there", "user": "u1", "response_mode": "streaming", **extra}


def workflow_body() -> dict[str, Any]:
    return {"inputs": {"query": "two words"}, "user": "u1", "response_mode": "streaming"}


def headers(session: str, fault: str | None = None, key: str = "app-chat") -> dict[str, str]:
    out = auth(key, **{"X-Mock-Session": session})
    if fault is not None:
        out["X-Mock-Fault"] = fault
    return out


async def conversations(client: Any, session: str) -> list[dict[str, Any]]:
    """The conversations user u1 of app-chat has in the session, as GET /v1/conversations lists them."""
    resp = await client.get("/v1/conversations", params={"user": "u1"}, headers=headers(session))
    assert resp.status == 200
    data: list[dict[str, Any]] = (await resp.json())["data"]
    return data


def parse_frame(frame: bytes) -> dict[str, Any] | None:
    """None for a ping, else the event; asserts the frame is well formed."""
    if frame == b"event: ping":
        return None
    assert frame.startswith(b"data: "), frame[:120]
    return json.loads(frame[len(b"data: ") :])


async def read_stream(resp) -> tuple[list[dict[str, Any]], list[float], BaseException | None]:
    """A live stream read frame by frame: (data events, arrival time of each ping, the error that ended it)."""
    events: list[dict[str, Any]] = []
    pings: list[float] = []
    try:
        while True:
            chunk = await resp.content.readuntil(b"\n\n")
            if not chunk:
                return events, pings, None
            assert chunk.endswith(b"\n\n"), chunk[:200]
            event = parse_frame(chunk[:-2])
            if event is None:
                pings.append(time.perf_counter())
            else:
                events.append(event)
    except aiohttp.ClientPayloadError as exc:
        return events, pings, exc


def names(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in events]


def journal(client, tenant: str) -> list[dict[str, Any]]:
    return list(client.app[TENANTS].get(tenant).journal)


async def baseline(make_client, path: str, body: dict[str, Any], session: str, key: str = "app-chat") -> bytes:
    """The body an unfaulted twin app (same seed, same tenant) answers to the same first request."""
    twin = await make_client()
    resp = await twin.post(path, json=body, headers=headers(session, key=key))
    assert resp.status == 200
    return await resp.read()


async def raw_exchange(client, path: str, body: dict[str, Any], hdrs: dict[str, str]) -> bytes:
    """Send one HTTP/1.1 request over a plain socket and return every byte until EOF (raises on a reset)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    payload = json.dumps(body).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: {client.server.host}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in hdrs.items()] + [f"Content-Length: {len(payload)}", "Connection: close"]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()


def dechunk(raw: bytes) -> tuple[bytes, bool]:
    """(the decoded body, whether the terminating zero-length chunk arrived) of a chunked response."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower(), head
    body = b""
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line, 16)
        if size == 0:
            return body, True
        if len(rest) < size + 2:
            body += rest[:size]
            break
        body, rest = body + rest[:size], rest[size + 2 :]
    return body, False


# --- latency --------------------------------------------------------------------------------------


async def test_latency_delays_a_blocking_answer(client):
    t0 = time.perf_counter()
    fast = await client.post(CHAT, json=chat_body(response_mode="blocking"), headers=headers("lat"))
    await fast.read()
    t_fast = time.perf_counter() - t0

    t0 = time.perf_counter()
    slow = await client.post(CHAT, json=chat_body(response_mode="blocking"), headers=headers("lat", "latency;ms=300"))
    reply = await slow.json()
    t_slow = time.perf_counter() - t0
    assert slow.status == 200 and reply["answer"] == "You asked: hello there"
    assert t_slow >= 0.29
    assert t_fast < t_slow / 2


async def test_latency_on_a_stream_is_a_slow_first_token(client):
    t0 = time.perf_counter()
    resp = await client.post(CHAT, json=chat_body(), headers=headers("ttft", "latency;ms=300"))
    t_head = time.perf_counter() - t0
    assert resp.status == 200 and resp.headers["Content-Type"] == SSE_CONTENT_TYPE
    first = await resp.content.readuntil(b"\n\n")
    t_first = time.perf_counter() - t0
    rest = await resp.read()
    t_end = time.perf_counter() - t0
    assert first.startswith(b'data: {"event":"message"')
    assert rest.endswith(b"\n\n") and b'"event":"message_end"' in rest
    # Nothing, not even the head, before the delay; then the stream flows at its own pace (0 here).
    assert t_head >= 0.29
    assert t_head <= t_first <= t_end
    assert t_end - t_head < t_head / 2


async def test_latency_before_an_http_error(client):
    t0 = time.perf_counter()
    resp = await client.post(CHAT, json=chat_body(), headers=headers("le", "latency;ms=250, rate_limit"))
    assert resp.status == 429
    assert (await resp.json())["code"] == "rate_limit_exceeded"
    assert time.perf_counter() - t0 >= 0.24


@pytest.mark.parametrize(
    ("fault", "low", "high"),
    [
        ("latency;ms=200;jitter=100;dist=uniform", 0.099, 0.301),
        ("latency;ms=150;jitter=100", 0.049, 0.251),  # jitter alone means uniform
        ("latency;ms=120;dist=fixed", 0.119, 0.121),
        ("latency;ms=100;jitter=0.3;dist=lognormal", 0.0, 10.0),
    ],
)
async def test_latency_distributions_stay_in_their_range(client, fault, low, high):
    t0 = time.perf_counter()
    resp = await client.post(CHAT, json=chat_body(response_mode="blocking"), headers=headers("dist", fault))
    await resp.read()
    elapsed = time.perf_counter() - t0
    assert resp.status == 200
    assert elapsed >= low  # sleeps never end early; the upper end only bounds the drawn delay loosely
    assert elapsed < high + 0.5


# --- stream_cut -----------------------------------------------------------------------------------


@pytest.mark.parametrize("after", [0, 1, 3])
async def test_stream_cut_after_n_events(client, after):
    resp = await client.post(CHAT, json=chat_body(), headers=headers("cut", f"stream_cut;after={after}"))
    assert resp.status == 200 and resp.headers["Content-Type"] == SSE_CONTENT_TYPE
    events, _, error = await read_stream(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert names(events) == ["message"] * after
    (entry,) = journal(client, "s:cut")
    assert entry["outcome"] == "cut" and entry["events"] == ["message"] * after


async def test_stream_cut_defaults_to_one_event(client):
    resp = await client.post(CHAT, json=chat_body(), headers=headers("cut1", "stream_cut"))
    events, _, error = await read_stream(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert names(events) == ["message"]


async def test_stream_cut_leaves_the_chunked_body_unterminated(client):
    raw = await raw_exchange(client, CHAT, chat_body(), headers("rawcut", "stream_cut;after=2"))
    assert raw.startswith(b"HTTP/1.1 200")
    body, terminated = dechunk(raw)
    assert not terminated
    frames = body.split(b"\n\n")
    assert frames[-1] == b""
    assert [parse_frame(f)["event"] for f in frames[:-1]] == ["message", "message"]


async def test_stream_cut_is_the_same_through_aiohttps_read(client):
    resp = await client.post(CHAT, json=chat_body(), headers=headers("cutread", "stream_cut;after=2"))
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()


async def test_pings_never_count_toward_after(make_client):
    # Pings every 50 ms of the scheduled timeline: four of them come before the first event (200 ms).
    client = await make_client(ping_interval_s=0.05)
    resp = await client.post(CHAT, json=chat_body(), headers=headers("pings", "stream_cut;after=2"))
    events, pings, error = await read_stream(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert names(events) == ["message", "message"]
    assert len(pings) >= 3


@pytest.mark.parametrize("node", ["start", "llm", "end"])
async def test_stream_cut_after_a_workflow_node(client, node):
    resp = await client.post(
        WORKFLOW, json=workflow_body(), headers=headers("node", f"stream_cut;after_node={node}", key="app-workflow")
    )
    assert resp.status == 200
    events, _, error = await read_stream(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    count = EVENTS_THROUGH_NODE[node]
    assert names(events) == WORKFLOW_NAMES[:count]
    assert events[-1]["data"]["node_id"] == node
    assert "workflow_finished" not in names(events)


async def test_stream_cut_on_a_completion_and_a_chatflow(client):
    resp = await client.post(
        COMPLETION, json=chat_body(), headers=headers("cutc", "stream_cut;after=2", key="app-completion")
    )
    events, _, error = await read_stream(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert names(events) == ["message", "message"]
    resp = await client.post(
        CHAT, json=chat_body(), headers=headers("cutf", "stream_cut;after_node=llm", key="app-advanced-chat")
    )
    events, _, error = await read_stream(resp)
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert events[-1]["event"] == "node_finished" and events[-1]["data"]["node_id"] == "llm"
    assert not TERMINAL & set(names(events))


async def test_the_journal_records_where_a_defaulted_or_node_cut_struck(client):
    resp = await client.post(CHAT, json=chat_body(), headers=headers("jcut", "stream_cut"))
    await read_stream(resp)
    resp = await client.post(
        WORKFLOW, json=workflow_body(), headers=headers("jcut", "stream_cut;after_node=llm", key="app-workflow")
    )
    await read_stream(resp)
    chat_entry, workflow_entry = journal(client, "s:jcut")
    assert chat_entry["fault"]["after_events"] == 1
    assert workflow_entry["fault"]["after_events"] == EVENTS_THROUGH_NODE["llm"]


# --- stream_error ---------------------------------------------------------------------------------


async def test_stream_error_is_an_in_stream_error_event(client):
    resp = await client.post(CHAT, json=chat_body(), headers=headers("serr", "stream_error;after=2"))
    assert resp.status == 200 and resp.headers["Content-Type"] == SSE_CONTENT_TYPE
    events, _, error = await read_stream(resp)
    assert error is None  # the stream ends properly, at the error event
    assert names(events) == ["message", "message", "error"]
    err = events[-1]
    assert "task_id" not in err
    assert err["code"] == "completion_request_error"
    assert err["status"] == 400
    # A model error arrives with the provider's description, never the HTTP class text (audit D1;
    # base_app_generate_response_converter.py _error_to_stream_response uses e.description).
    assert err["message"] == "[openai] Connection Error, Request timed out."
    assert err["conversation_id"] == events[0]["conversation_id"]
    assert err["message_id"] == events[0]["message_id"]
    assert err["created_at"] == events[0]["created_at"]
    (entry,) = journal(client, "s:serr")
    assert entry["outcome"] == "error"


async def test_stream_error_code_and_message(client):
    fault = "stream_error;after=0;code=provider_quota_exceeded;message=Out of credits"
    resp = await client.post(CHAT, json=chat_body(), headers=headers("serr2", fault))
    events, _, error = await read_stream(resp)
    assert error is None
    assert events == [
        {
            "event": "error",
            "conversation_id": events[0]["conversation_id"],
            "message_id": events[0]["message_id"],
            "created_at": events[0]["created_at"],
            "code": "provider_quota_exceeded",
            "status": 400,
            "message": "Out of credits",
        }
    ]


async def test_stream_error_internal_and_workflow_frames(client):
    # as=event: a non-graph error; 1.16's relay then publishes a failed workflow_finished as a bare
    # model dump (tasks/app_generate/workflow_execute_task.py :354-469; VERSIONS.md V11b).
    resp = await client.post(
        WORKFLOW,
        json=workflow_body(),
        headers=headers("serr3", "stream_error;after=1;code=internal_server_error;as=event", key="app-workflow"),
    )
    events, _, error = await read_stream(resp)
    assert error is None
    assert names(events) == ["workflow_started", "error", "workflow_finished"]
    err = events[1]
    assert "task_id" not in err
    assert err["workflow_run_id"] == events[0]["workflow_run_id"]
    # internal_server_error presets its message, so its frame is code, message, status.
    assert list(err) == ["event", "workflow_run_id", "code", "message", "status"]
    assert (err["code"], err["status"]) == ("internal_server_error", 500)
    assert err["message"] == "Internal Server Error, please contact support."
    fallback = events[2]
    assert list(fallback) == ["event", "task_id", "workflow_run_id", "data"]
    assert fallback["data"]["status"] == "failed" and fallback["data"]["error"] == err["message"]
    assert fallback["data"]["exceptions_count"] == 1 and fallback["data"]["created_by"] == {}
    assert fallback["data"]["outputs"] is None
    resp = await client.post(
        COMPLETION, json=chat_body(), headers=headers("serr3", "stream_error", key="app-completion")
    )
    events, _, error = await read_stream(resp)
    assert error is None and names(events) == ["message", "error"]
    assert "conversation_id" not in events[-1] and "task_id" not in events[-1]


# --- stream_malformed -----------------------------------------------------------------------------


async def test_stream_malformed_json_is_one_truncated_frame_then_the_stream_goes_on(make_client):
    expected = (await baseline(make_client, CHAT, chat_body(), "mal")).split(b"\n\n")[:-1]
    client = await make_client()
    resp = await client.post(CHAT, json=chat_body(), headers=headers("mal", "stream_malformed;after=2"))
    assert resp.status == 200
    raw = await resp.read()  # the body itself ends properly
    frames = raw.split(b"\n\n")
    assert frames[-1] == b""
    frames = frames[:-1]
    broken = []
    for i, frame in enumerate(frames):
        assert frame.startswith(b"data: ")
        try:
            json.loads(frame[len(b"data: ") :])
        except ValueError:
            broken.append(i)
    assert broken == [2]
    assert [f for i, f in enumerate(frames) if i not in broken] == expected
    assert frames[2] != expected[2] and expected[2].startswith(frames[2])  # a truncated copy of the next one
    (entry,) = journal(client, "s:mal")
    assert entry["outcome"] == "complete" and entry["events"][-1] == "message_end"


async def test_stream_malformed_defaults_to_json_after_one_event(make_client):
    expected = (await baseline(make_client, CHAT, chat_body(), "mal1")).split(b"\n\n")[:-1]
    client = await make_client()
    resp = await client.post(CHAT, json=chat_body(), headers=headers("mal1", "stream_malformed"))
    frames = (await resp.read()).split(b"\n\n")[:-1]
    assert len(frames) == len(expected) + 1
    assert frames[0] == expected[0] and frames[2:] == expected[1:]
    with pytest.raises(ValueError):
        json.loads(frames[1][len(b"data: ") :])


async def test_stream_malformed_framing_drops_one_blank_line(make_client):
    expected_raw = await baseline(make_client, CHAT, chat_body(), "frm")
    expected = expected_raw.split(b"\n\n")[:-1]
    client = await make_client()
    resp = await client.post(CHAT, json=chat_body(), headers=headers("frm", "stream_malformed;form=framing;after=1"))
    assert resp.status == 200
    raw = await resp.read()
    assert len(raw) == len(expected_raw) - 1
    frames = raw.split(b"\n\n")[:-1]
    assert len(frames) == len(expected) - 1
    # Event 2 lost its blank line: to an SSE parser it and event 3 are one event with two data lines.
    glued = frames[1]
    assert glued == expected[1] + b"\n" + expected[2]
    with pytest.raises(ValueError):
        json.loads(b"\n".join(line[len(b"data: ") :] for line in glued.split(b"\n")))
    # A line-by-line reader (as the SDKs are) still sees every event.
    lines = [line for line in raw.split(b"\n") if line.startswith(b"data: ")]
    assert lines == expected


# --- stream_stall ---------------------------------------------------------------------------------


async def test_stream_stall_sends_only_pings_then_closes(client):
    t0 = time.perf_counter()
    resp = await client.post(CHAT, json=chat_body(), headers=headers("stall", "stream_stall;after=2;ms=300;ping_ms=60"))
    assert resp.status == 200
    events, pings, error = await read_stream(resp)
    t_end = time.perf_counter()
    assert isinstance(error, aiohttp.ClientPayloadError)  # closed without a terminal event
    assert names(events) == ["message", "message"]
    assert 1 <= len(pings) <= 5  # about one per ping_ms until ms runs out (4 here, fewer on a busy machine)
    assert t_end - t0 >= 0.29
    if len(pings) >= 2:
        assert (pings[-1] - pings[0]) / (len(pings) - 1) >= 0.045  # spaced by ping_ms, never a burst
    (entry,) = journal(client, "s:stall")
    assert entry["outcome"] == "stalled" and entry["events"] == ["message", "message"]


async def test_stream_stall_ends_when_the_client_leaves():
    # MockServer is what `serve`, the pytest plugin and embedding code run (no handler cancellation):
    # the stall must notice by itself that nobody listens any more.
    server = MockServer(Settings(pace_scale=0.0, seed=0))
    base = await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            resp = await session.post(
                base + CHAT, json=chat_body(), headers=headers("leave", "stream_stall;after=1;ms=20000;ping_ms=40")
            )
            first = parse_frame((await resp.content.readuntil(b"\n\n"))[:-2])
            assert first is not None and first["event"] == "message"
            assert parse_frame((await resp.content.readuntil(b"\n\n"))[:-2]) is None  # a ping
            resp.close()
        t_left = time.perf_counter()
        assert server.app is not None
        registry = server.app[TENANTS]
        while not list(registry.get("s:leave").journal):
            await asyncio.sleep(0.02)
            assert time.perf_counter() - t_left < 2.0, "the stall did not notice the client leaving"
        (entry,) = list(registry.get("s:leave").journal)
        assert entry["outcome"] == "client_left"
        assert entry["events"] == ["message"]
    finally:
        await server.stop()


# --- dribble --------------------------------------------------------------------------------------


async def test_dribble_slices_a_blocking_body(make_client):
    blocking = chat_body(response_mode="blocking")
    expected = await baseline(make_client, CHAT, blocking, "drb")
    client = await make_client()
    t0 = time.perf_counter()
    resp = await client.post(CHAT, json=blocking, headers=headers("drb", "dribble;bytes=64;ms=15"))
    assert resp.status == 200
    assert resp.headers["Content-Length"] == str(len(expected))
    chunks = [chunk async for chunk in resp.content.iter_any()]
    elapsed = time.perf_counter() - t0
    assert b"".join(chunks) == expected
    slices = -(-len(expected) // 64)
    assert slices >= 5
    assert len(chunks) >= 2  # it arrives in pieces, not at once
    assert elapsed >= (slices - 1) * 0.015 * 0.9


async def test_dribble_slices_each_event_of_a_stream(make_client):
    expected = await baseline(make_client, CHAT, chat_body(), "drs")
    client = await make_client()
    t0 = time.perf_counter()
    resp = await client.post(CHAT, json=chat_body(), headers=headers("drs", "dribble;bytes=100;ms=5"))
    chunks = [chunk async for chunk in resp.content.iter_any()]
    elapsed = time.perf_counter() - t0
    assert b"".join(chunks) == expected
    assert len(chunks) >= 2
    assert elapsed >= (len(expected) // 100) * 0.005 * 0.9


async def test_dribble_shapes_an_injected_error_too(client):
    resp = await client.post(
        CHAT, json=chat_body(), headers=headers("dre", "rate_limit;retry_after=2, dribble;bytes=8;ms=2")
    )
    assert resp.status == 429 and resp.headers["Retry-After"] == "2"
    chunks = [chunk async for chunk in resp.content.iter_any()]
    body = b"".join(chunks)
    assert int(resp.headers["Content-Length"]) == len(body)
    assert json.loads(body) == {"code": "rate_limit_exceeded", "message": "Request rate limit exceeded.", "status": 429}
    assert len(chunks) >= 2


# --- reset and empty ------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
async def test_reset_is_a_connection_reset(client, streaming):
    body = chat_body(response_mode="streaming" if streaming else "blocking")
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)) as info:
        resp = await client.post(CHAT, json=body, headers=headers("rst", "reset"))
        await resp.read()
    if isinstance(info.value, aiohttp.ClientOSError):
        assert info.value.errno == errno.ECONNRESET


async def test_reset_sends_a_tcp_rst_before_any_byte(client):
    with pytest.raises(ConnectionResetError):
        await raw_exchange(client, CHAT, chat_body(), headers("rstraw", "reset"))


@pytest.mark.parametrize("streaming", [False, True])
async def test_empty_closes_without_a_response(client, streaming):
    body = chat_body(response_mode="streaming" if streaming else "blocking")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        resp = await client.post(CHAT, json=body, headers=headers("emp", "empty"))
        await resp.read()


async def test_empty_sends_no_byte_and_a_plain_close(client):
    assert await raw_exchange(client, CHAT, chat_body(), headers("empraw", "empty")) == b""


async def test_dropped_connections_skip_the_action_and_the_server_goes_on(client):
    for fault in ("reset", "empty", "latency;ms=150, reset"):
        t0 = time.perf_counter()
        with pytest.raises(aiohttp.ClientError):
            resp = await client.post(CHAT, json=chat_body(), headers=headers("drop", fault))
            await resp.read()
        if fault.startswith("latency"):
            assert time.perf_counter() - t0 >= 0.14
    assert [e["fault"]["name"] for e in journal(client, "s:drop")] == ["reset", "empty", "reset"]
    assert await conversations(client, "drop") == []
    resp = await client.post(CHAT, json=chat_body(), headers=headers("drop"))
    assert resp.status == 200
    await resp.read()
    assert len(await conversations(client, "drop")) == 1


async def test_queued_stream_faults_only_touch_streams(client):
    resp = await client.post("/_mock/faults", json={"fault": "stream_error;after=1", "tenant": "s:qs"})
    assert resp.status == 201
    blocking = await client.post(CHAT, json=chat_body(response_mode="blocking"), headers=headers("qs"))
    assert blocking.status == 200 and (await blocking.json())["answer"] == "You asked: hello there"
    resp = await client.post(CHAT, json=chat_body(), headers=headers("qs"))
    events, _, error = await read_stream(resp)
    assert error is None and names(events) == ["message", "error"]
    resp = await client.post(CHAT, json=chat_body(), headers=headers("qs"))
    events, _, error = await read_stream(resp)
    assert error is None and names(events)[-1] == "message_end"
    sources = [(e["fault"] or {}).get("source") for e in journal(client, "s:qs")]
    assert sources == [None, "queue", None]
