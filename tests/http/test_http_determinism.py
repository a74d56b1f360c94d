"""Seeded determinism, tenant isolation and the reset control call (DESIGN §4, §6, §8; INTERFACE control plane)."""

from __future__ import annotations

import asyncio
import json

from dify_facts import CONVERSATION_NOT_EXISTS, UNKNOWN_UUID, auth

from mockserver.app import create_app
from mockserver.settings import Settings

CHAT = "/v1/chat-messages"
COMPLETION = "/v1/completion-messages"
WORKFLOW = "/v1/workflows/run"
STREAM = {"response_mode": "streaming"}


def headers(key: str, session: str | None) -> dict[str, str]:
    return auth(key) if session is None else auth(key, **{"X-Mock-Session": session})


async def script(client, session: str | None = None, yields: int = 0) -> list[tuple[int, bytes]]:
    """One user's session against several apps; returns (status, raw body) per call.

    `yields` hands the event loop over between calls so concurrent runs interleave differently.
    """
    transcript: list[tuple[int, bytes]] = []

    async def call(method: str, path: str, key: str, payload: dict | None = None) -> bytes:
        resp = await client.request(method, path, json=payload, headers=headers(key, session))
        raw = await resp.read()
        transcript.append((resp.status, raw))
        for _ in range(yields):
            await asyncio.sleep(0)
        return raw

    async def post(path: str, key: str, payload: dict) -> bytes:
        return await call("POST", path, key, payload)

    await call("GET", "/v1/parameters", "app-chat")
    first = json.loads(await post(CHAT, "app-chat", {"inputs": {}, "query": "hello there", "user": "u1"}))
    cid = first["conversation_id"]
    await post(CHAT, "app-chat", {"inputs": {}, "query": "and again", "user": "u1", "conversation_id": cid, **STREAM})
    await post(CHAT, "app-agent-chat", {"inputs": {}, "query": "use a tool", "user": "u1", **STREAM})
    await post(CHAT, "app-agent", {"inputs": {}, "query": "plan it", "user": "u2", **STREAM})
    await post(CHAT, "app-advanced-chat", {"inputs": {}, "query": "flow", "user": "u1"})
    await post(COMPLETION, "app-completion", {"inputs": {"topic": "tea"}, "user": "u1"})
    await post(COMPLETION, "app-completion", {"inputs": {"topic": "coffee"}, "user": "u1", **STREAM})
    await post(WORKFLOW, "app-workflow", {"inputs": {"query": "a b c"}, "user": "u1"})
    await post(WORKFLOW, "app-workflow", {"inputs": {"query": "d e"}, "user": "u1", **STREAM})
    await post(CHAT, "app-chat", {"inputs": {}, "query": "no user"})  # an error
    await post(f"/v1/chat-messages/{UNKNOWN_UUID}/stop", "app-chat", {"user": "u1"})
    await post(CHAT, "app-chat", {"inputs": {}, "query": "bye", "user": "u1", "conversation_id": cid})
    return transcript


def ids_of(transcript: list[tuple[int, bytes]]) -> dict[str, str]:
    blocking_chat = json.loads(transcript[1][1])
    blocking_workflow = json.loads(transcript[8][1])
    return {
        "message_id": blocking_chat["message_id"],
        "conversation_id": blocking_chat["conversation_id"],
        "task_id": blocking_chat["task_id"],
        "workflow_run_id": blocking_workflow["workflow_run_id"],
    }


def check_transcript(transcript: list[tuple[int, bytes]]) -> None:
    """The script itself did what it should (so equal transcripts are not equal failures)."""
    statuses = [status for status, _ in transcript]
    assert statuses == [200] * 10 + [400, 200, 200], statuses
    assert transcript[2][1].startswith(b"data: ") and transcript[2][1].endswith(b"\n\n")
    assert b'"event":"workflow_finished"' in transcript[9][1]


async def test_same_seed_gives_identical_bytes(make_client, aiohttp_client):
    first = await script(await make_client(seed=0))
    # The second app loads its own schemas and fixtures: nothing is shared with the first.
    second = await script(await aiohttp_client(create_app(Settings(pace_scale=0.0, strict=True, seed=0))))
    check_transcript(first)
    assert len(first) == len(second)
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        assert a == b, f"call {i} differs"


async def test_same_seed_gives_identical_bytes_with_a_session(make_client):
    first = await script(await make_client(seed=3), session="same")
    second = await script(await make_client(seed=3), session="same")
    check_transcript(first)
    assert first == second


async def test_different_seed_gives_different_ids(make_client):
    zero = await script(await make_client(seed=0))
    one = await script(await make_client(seed=1))
    check_transcript(zero)
    check_transcript(one)
    ids_zero, ids_one = ids_of(zero), ids_of(one)
    for name in ids_zero:
        assert ids_zero[name] != ids_one[name], name
    # Same answers though: the seed drives ids and numbers, not what the fixtures say.
    assert json.loads(zero[1][1])["answer"] == json.loads(one[1][1])["answer"]


async def test_tenants_are_independent_of_interleaving(make_client):
    sessions = ["s1", "s2", "s3"]
    sequential_client = await make_client()
    sequential = {s: await script(sequential_client, session=s) for s in sessions}

    interleaved_client = await make_client()
    shuffled = ["s3", "s1", "s2"]
    results = await asyncio.gather(*(script(interleaved_client, session=s, yields=n) for n, s in enumerate(shuffled)))
    interleaved = dict(zip(shuffled, results, strict=True))

    for s in sessions:
        check_transcript(sequential[s])
        assert interleaved[s] == sequential[s], f"tenant {s} differs when interleaved"
    # Each tenant has its own ids, so a call credited to the wrong tenant could not go unnoticed.
    all_ids = [ids_of(sequential[s]) for s in sessions]
    for name in all_ids[0]:
        assert len({ids[name] for ids in all_ids}) == len(sessions), name


async def test_tenants_do_not_share_state(client, expect_error):
    resp = await client.post(CHAT, json={"inputs": {}, "query": "hi", "user": "u1"}, headers=headers("app-chat", "t1"))
    cid = (await resp.json())["conversation_id"]
    # Same key, same user, another session: that conversation does not exist there.
    payload = {"inputs": {}, "query": "hi", "user": "u1", "conversation_id": cid}
    resp = await client.post(CHAT, json=payload, headers=headers("app-chat", "t2"))
    await expect_error(resp, 404, "not_found", CONVERSATION_NOT_EXISTS)
    # ... nor for the header-less (credential) tenant.
    resp = await client.post(CHAT, json=payload, headers=headers("app-chat", None))
    await expect_error(resp, 404, "not_found", CONVERSATION_NOT_EXISTS)
    resp = await client.post(CHAT, json=payload, headers=headers("app-chat", "t1"))
    assert resp.status == 200


async def test_reset_then_replay_gives_identical_bytes(client):
    first = await script(client, session="r1")
    check_transcript(first)
    resp = await client.post("/_mock/reset", json={})
    assert resp.status == 200
    assert await script(client, session="r1") == first


async def test_reset_of_credential_tenants(client):
    first = await script(client)
    resp = await client.post("/_mock/reset", json={})
    assert resp.status == 200
    assert await script(client) == first


async def test_reset_of_one_tenant_leaves_the_others(client, expect_error):
    s1 = await script(client, session="a1")
    s2 = await script(client, session="a2")
    cid_s1 = json.loads(s1[1][1])["conversation_id"]
    cid_s2 = json.loads(s2[1][1])["conversation_id"]

    resp = await client.post("/_mock/reset", json={"tenant": "s:a1"})
    assert resp.status == 200

    # a1 lost its state; a2 kept its conversation.
    resp = await client.post(
        CHAT,
        json={"inputs": {}, "query": "x", "user": "u1", "conversation_id": cid_s1},
        headers=headers("app-chat", "a1"),
    )
    await expect_error(resp, 404, "not_found", CONVERSATION_NOT_EXISTS)
    resp = await client.post(
        CHAT,
        json={"inputs": {}, "query": "x", "user": "u1", "conversation_id": cid_s2},
        headers=headers("app-chat", "a2"),
    )
    assert resp.status == 200 and (await resp.json())["conversation_id"] == cid_s2


async def test_reset_of_one_tenant_replays_it(client):
    first = await script(client, session="b1")
    await script(client, session="b2")
    resp = await client.post("/_mock/reset", json={"tenant": "s:b1"})
    assert resp.status == 200
    assert await script(client, session="b1") == first


async def test_reset_with_a_seed_matches_a_fresh_app_with_that_seed(make_client):
    seeded = await script(await make_client(seed=7), session="z")
    client = await make_client(seed=0)
    before = await script(client, session="z")
    assert before != seeded
    resp = await client.post("/_mock/reset", json={"seed": 7})
    assert resp.status == 200
    assert await script(client, session="z") == seeded


async def test_health(client):
    resp = await client.get("/_mock/health")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"status", "version"}
    assert body["status"] == "ok"
    assert isinstance(body["version"], str) and body["version"]


async def test_admin_token_guards_the_control_plane(make_client):
    # README: with --admin-token set, every /_mock/ call needs header X-Mock-Admin-Token.
    guarded = await make_client(admin_token="s3cret")
    for wrong in ({}, {"X-Mock-Admin-Token": "nope"}):
        resp = await guarded.get("/_mock/health", headers=wrong)
        assert resp.status in (401, 403)
        resp = await guarded.post("/_mock/reset", json={}, headers=wrong)
        assert resp.status in (401, 403)
    resp = await guarded.get("/_mock/health", headers={"X-Mock-Admin-Token": "s3cret"})
    assert resp.status == 200 and (await resp.json())["status"] == "ok"
    # The Dify API itself does not need the admin token.
    resp = await guarded.get("/v1/info", headers={"Authorization": "Bearer app-chat"})
    assert resp.status == 200
