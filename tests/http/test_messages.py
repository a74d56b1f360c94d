"""GET /v1/messages: a conversation's history, newest page first, each page oldest first
(REFERENCE §5.2, §12.1; research/conversations.md §5-§8)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from dify_facts import get_page

MESSAGES = "/v1/messages"
SUFFIX = (
    " You have requested this URI [/v1/messages] but did you mean /v1/messages or /v1/chat-messages or /api/messages ?"
)
UNKNOWN = "0b0e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
KEYS_1_16 = [
    "id",
    "conversation_id",
    "parent_message_id",
    "inputs",
    "query",
    "answer",
    "feedback",
    "retriever_resources",
    "created_at",
    "agent_thoughts",
    "message_files",
    "message_tokens",
    "answer_tokens",
    "provider_response_latency",
    "total_price",
    "currency",
    "status",
    "error",
    "extra_contents",
    "total_tokens",
]
TOKEN_KEYS = {"message_tokens", "answer_tokens", "provider_response_latency", "total_price", "currency", "total_tokens"}


def auth(key: str = "app-chat") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Mock-Session": "msg"}


async def chat(client: Any, query: str, conversation_id: str | None = None, user: str = "u1") -> dict[str, Any]:
    body = {"inputs": {"city": "Oslo"}, "query": query, "user": user, "response_mode": "blocking"}
    if conversation_id:
        body["conversation_id"] = conversation_id
    resp = await client.post("/v1/chat-messages", json=body, headers=auth())
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def history(client: Any, **params: Any) -> dict[str, Any]:
    return await get_page(client, MESSAGES, auth(), **{"user": "u1", **params})


async def test_a_message_as_dify_lists_it(client):
    first = await chat(client, "hello there")
    body = await history(client, conversation_id=first["conversation_id"])
    (item,) = body["data"]
    assert list(item) == KEYS_1_16
    usage = first["metadata"]["usage"]
    assert item["id"] == first["message_id"] and item["conversation_id"] == first["conversation_id"]
    assert item["parent_message_id"] == "00000000-0000-0000-0000-000000000000"
    assert item["inputs"] == {"city": "Oslo"}
    assert (item["query"], item["answer"]) == ("hello there", first["answer"])
    assert item["feedback"] is None and item["agent_thoughts"] == [] and item["message_files"] == []
    assert item["created_at"] == first["created_at"]
    assert item["message_tokens"] == usage["prompt_tokens"]
    assert item["answer_tokens"] == usage["completion_tokens"]
    assert item["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert item["total_price"] == str(Decimal(usage["total_price"]).quantize(Decimal("0.0000001")))
    assert item["currency"] == usage["currency"]
    assert (item["status"], item["error"], item["extra_contents"]) == ("normal", None, [])


@pytest.mark.parametrize(("version", "extra", "tokens"), [("1.12", False, False), ("1.14", True, False)])
async def test_older_releases_send_fewer_fields(make_client, version, extra, tokens):
    client = await make_client(dify_version=version)
    first = await chat(client, "hi")
    (item,) = (await history(client, conversation_id=first["conversation_id"]))["data"]
    assert ("extra_contents" in item) is extra
    assert TOKEN_KEYS.isdisjoint(item)
    assert list(item) == [k for k in KEYS_1_16 if k in item]


async def test_a_walk_of_45_messages_backwards_in_pages_of_20(client):
    cid = (await chat(client, "m0"))["conversation_id"]
    ids = [None] * 45
    ids[0] = (await history(client, conversation_id=cid))["data"][0]["id"]
    for i in range(1, 45):
        ids[i] = (await chat(client, f"m{i}", cid))["message_id"]
    pages, flags, first_id = [], [], None
    while True:
        body = await history(client, conversation_id=cid, limit=20, **({"first_id": first_id} if first_id else {}))
        page = [m["id"] for m in body["data"]]
        pages.append(page)
        flags.append(body["has_more"])
        if not body["has_more"]:
            break
        first_id = page[0]  # the next, older page ends before the oldest of this one
    assert pages[0] == ids[25:] and pages[1] == ids[5:25] and pages[2] == ids[:5]  # each page oldest first
    assert flags == [True, True, False]
    assert [m for page in reversed(pages) for m in page] == ids  # no duplicates, no gaps


async def test_unknown_and_foreign_conversations_and_cursors(client, expect_error):
    mine = await chat(client, "mine")
    theirs = await chat(client, "theirs", user="u2")
    for cid in (UNKNOWN, theirs["conversation_id"]):
        resp = await client.get(MESSAGES, params={"user": "u1", "conversation_id": cid}, headers=auth())
        await expect_error(resp, 404, "not_found", "Conversation Not Exists." + SUFFIX)
    params = {"user": "u1", "conversation_id": mine["conversation_id"], "first_id": theirs["message_id"]}
    resp = await client.get(MESSAGES, params=params, headers=auth())
    await expect_error(resp, 404, "not_found", "First Message Not Exists." + SUFFIX)


async def test_conversation_id_is_required_but_may_be_empty(client, expect_error):
    resp = await client.get(MESSAGES, params={"user": "abc"}, headers=auth())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for MessageListQuery\nconversation_id\n"
        "  Field required [type=missing, input_value={'user': 'abc'}, input_type=dict]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/missing",
    )
    assert await history(client, conversation_id="") == {"limit": 20, "has_more": False, "data": []}
    resp = await client.get(MESSAGES, params={"conversation_id": "abc"}, headers=auth())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for MessageListQuery\nconversation_id\n"
        "  Value error, must be a valid UUID [type=value_error, input_value='abc', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/value_error",
    )


async def test_an_upper_case_conversation_id_is_the_same_conversation(client):
    cid = (await chat(client, "q"))["conversation_id"]
    assert len((await history(client, conversation_id=cid.upper()))["data"]) == 1


async def test_completion_apps_have_no_history(client, expect_error):
    resp = await client.get(MESSAGES, params={"conversation_id": UNKNOWN}, headers=auth("app-completion"))
    await expect_error(resp, 400, "not_chat_app")


async def test_same_requests_same_bytes(make_client):
    bodies = []
    for _ in range(2):
        client = await make_client()
        cid = (await chat(client, "deterministic?"))["conversation_id"]
        await chat(client, "again", cid)
        resp = await client.get(MESSAGES, params={"user": "u1", "conversation_id": cid}, headers=auth())
        bodies.append(await resp.read())
    assert bodies[0] == bodies[1]


async def test_a_stub_with_action_none_answers_for_any_conversation(client):
    messages = [{"id": UNKNOWN, "conversation_id": UNKNOWN, "query": "from the stub", "answer": "canned"}]
    stub = {
        "endpoint": "service.list_messages",
        "tenant": "s:msg",
        "scenario": {"action": "none", "respond": {"blocking": {"limit": 20, "has_more": False, "data": messages}}},
    }
    assert (await client.post("/_mock/scenarios", json=stub)).status == 201
    body = await history(client, conversation_id=UNKNOWN)  # no such conversation: the stub answers anyway
    assert body["data"] == messages


async def test_a_turn_whose_stream_failed_is_stored_as_an_error(client):
    body = {"inputs": {}, "query": "fail me", "user": "u1", "response_mode": "streaming"}
    fault = "stream_error;after=1;code=provider_quota_exceeded"
    resp = await client.post("/v1/chat-messages", json=body, headers={**auth(), "X-Mock-Fault": fault})
    raw = await resp.read()
    error = next(json.loads(f[6:]) for f in raw.split(b"\n\n") if f.startswith(b"data: ") and b'"error"' in f)
    started = json.loads(raw.split(b"data: ", 1)[1].split(b"\n", 1)[0])
    (message,) = (await history(client, conversation_id=started["conversation_id"]))["data"]
    assert (message["status"], message["error"]) == ("error", error["message"])
