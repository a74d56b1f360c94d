"""Tenancy (INTERFACE, DESIGN §6): without X-Mock-Session every credential shares the `default`
tenant, one workspace; inside it, ids, draws, clocks and cursors are keyed by app, so requests to
one app never change another app's answers, however they interleave."""

from __future__ import annotations

import gc
import json
import weakref

from dify_facts import CONVERSATION_NOT_EXISTS, auth

from mockserver.keys import TENANTS

CHAT = {"inputs": {}, "query": "hello", "user": "u", "response_mode": "streaming"}
COMPLETION = {"inputs": {"topic": "tea"}, "user": "u", "response_mode": "streaming"}


async def _raw(client, path, body, key, **headers) -> bytes:
    resp = await client.post(path, json=body, headers=auth(key, **headers))
    assert resp.status == 200, await resp.text()
    return await resp.read()


async def test_header_less_clients_of_every_app_share_the_default_tenant(client):
    await _raw(client, "/v1/chat-messages", CHAT, "app-chat")
    await _raw(client, "/v1/completion-messages", COMPLETION, "app-completion")
    assert (await client.get("/v1/info", headers=auth("app-nope"))).status == 401
    journal = await (await client.get("/_mock/journal")).json()
    assert [e["tenant"] for e in journal["data"]] == ["default", "default", "-"]
    # The refused key is named in the journal with the keys that exist (Dify's body says only "invalid").
    assert "unknown app key 'app-nope'" in journal["data"][2]["error"]["note"]
    assert "app-chat" in journal["data"][2]["error"]["note"]


async def test_another_apps_calls_never_change_an_apps_answers(make_client):
    alone = await make_client()
    mixed = await make_client()
    chats_alone = [await _raw(alone, "/v1/chat-messages", CHAT, "app-chat") for _ in range(3)]
    chats_mixed = []
    for _ in range(3):
        await _raw(mixed, "/v1/completion-messages", COMPLETION, "app-completion")
        chats_mixed.append(await _raw(mixed, "/v1/chat-messages", CHAT, "app-chat"))
        await _raw(mixed, "/v1/workflows/run", {"inputs": {}, "user": "u"}, "app-workflow")
    assert chats_mixed == chats_alone  # byte-identical: ids, created_at and text
    first = json.loads(chats_alone[0].split(b"\n\n")[0][len(b"data: ") :])
    second = json.loads(chats_alone[1].split(b"\n\n")[0][len(b"data: ") :])
    assert second["created_at"] == first["created_at"] + 1  # the app's own clock steps per call


async def test_a_conversation_is_the_apps_and_the_users_in_the_shared_tenant(client, expect_error):
    blocking = {**CHAT, "response_mode": "blocking"}
    reply = await (await client.post("/v1/chat-messages", json=blocking, headers=auth("app-chat"))).json()
    again = {**blocking, "conversation_id": reply["conversation_id"]}
    assert (await client.post("/v1/chat-messages", json=again, headers=auth("app-chat"))).status == 200
    other_app = await client.post("/v1/chat-messages", json=again, headers=auth("app-advanced-chat"))
    await expect_error(other_app, 404, "not_found", CONVERSATION_NOT_EXISTS)
    other_user = await client.post(
        "/v1/chat-messages", json={**again, "user": "someone-else"}, headers=auth("app-chat")
    )
    await expect_error(other_user, 404, "not_found", CONVERSATION_NOT_EXISTS)


async def test_a_session_is_a_tenant_of_its_own(client):
    await _raw(client, "/v1/chat-messages", CHAT, "app-chat", **{"X-Mock-Session": "t1"})
    registry = client.app[TENANTS]
    assert [t.id for t in registry.select(None)] == ["s:t1"]
    assert list(registry.get("s:t1").scopes) == ["app:app-chat"]


async def test_the_clock_moves_every_scope_of_a_tenant_and_later_ones_too(client):
    await _raw(client, "/v1/chat-messages", CHAT, "app-chat")
    assert (await client.post("/_mock/clock", json={"tenant": "default", "advance": 100})).status == 200
    chat = json.loads((await _raw(client, "/v1/chat-messages", CHAT, "app-chat")).split(b"\n\n")[0][6:])
    completion = json.loads(
        (await _raw(client, "/v1/completion-messages", COMPLETION, "app-completion")).split(b"\n\n")[0][6:]
    )
    assert chat["created_at"] == 1735689600 + 1 + 100
    assert completion["created_at"] == 1735689600 + 100  # a scope created after the advance starts there
    clock = await (await client.get("/_mock/clock", params={"tenant": "default"})).json()
    (shown,) = clock["data"]
    assert shown["tenant"] == "default" and shown["advanced"] == 100
    assert shown["next"] == {"app:app-chat": 1735689702, "app:app-completion": 1735689701}


async def test_a_stream_in_flight_does_not_keep_its_evicted_tenant_alive(make_client, read_event):
    """Past the tenant cap the registry drops the least recent tenant; one whose stream is still being
    written goes too (nothing can reach it any more: its session would get a fresh tenant), and the
    stream still ends as planned. (10,000 one-stream tenants at once kept ten times the cap alive.)"""
    client = await make_client(pace_scale=1.0, max_tenants=1)
    body = {"inputs": {}, "query": " ".join(f"w{i}" for i in range(20)), "user": "u", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-chat", **{"X-Mock-Session": "a"}))
    assert resp.status == 200
    first = await read_event(resp)
    assert first is not None and first["event"] == "message"
    tenant = weakref.ref(client.app[TENANTS].get("s:a"))
    await _raw(client, "/v1/chat-messages", CHAT, "app-chat", **{"X-Mock-Session": "b"})  # evicts s:a
    gc.collect()
    assert tenant() is None
    rest = []
    while (event := await read_event(resp)) is not None:
        rest.append(event)
    assert rest[-1]["event"] == "message_end"
    assert "".join(e["answer"] for e in [first, *rest] if e["event"] == "message") == f"You asked: {body['query']}"
