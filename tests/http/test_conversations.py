"""GET /v1/conversations, POST /v1/conversations/{id}/name, DELETE /v1/conversations/{id}: the
conversations the chat endpoints made, as Dify lists, renames and deletes them (REFERENCE §5, §12.2;
research/conversations.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dify_facts import get_page

CONVERSATIONS = "/v1/conversations"
CONVERSATION_KEYS = ["id", "name", "inputs", "status", "introduction", "created_at", "updated_at"]
LAST_MISSING = (
    "Last Conversation Not Exists. You have requested this URI [/v1/conversations] but did you mean "
    "/v1/conversations or /v1/conversations/<uuid:c_id>/variables/<uuid:variable_id> or /api/conversations ?"
)
UNKNOWN = "0b0e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def auth(key: str = "app-chat", session: str = "conv") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Mock-Session": session}


async def chat(client: Any, query: str, user: str = "u1", key: str = "app-chat", **extra: Any) -> dict[str, Any]:
    body = {"inputs": {}, "query": query, "user": user, "response_mode": "blocking", **extra}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth(key))
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def listing(client: Any, key: str = "app-chat", **params: Any) -> dict[str, Any]:
    return await get_page(client, CONVERSATIONS, auth(key), **{"user": "u1", **params})


async def test_the_list_shows_each_conversation_as_dify_serialises_it(client):
    first = await chat(client, "What is the weather like in Berlin this weekend?")
    await chat(client, "and the week after?", conversation_id=first["conversation_id"])
    second = await chat(client, "hi")
    body = await listing(client)
    assert body["limit"] == 20 and body["has_more"] is False
    # -updated_at by default: the conversation with the newest turn first
    assert [c["id"] for c in body["data"]] == [second["conversation_id"], first["conversation_id"]]
    item = body["data"][1]
    assert list(item) == CONVERSATION_KEYS
    assert item["name"] == "What is the weather like in Berlin this weekend?"
    assert item["inputs"] == {"city": ""}  # the app's form, defaults filled
    assert item["status"] == "normal"
    assert item["introduction"] == "Hello! How can I help you today?"
    assert item["updated_at"] > item["created_at"] == first["created_at"]


async def test_a_long_query_names_the_conversation_as_dify_falls_back(client):
    query = "Please summarise the following document about the history of the Roman empire for me"
    await chat(client, query)
    await chat(client, "short one", auto_generate_name=False)
    await chat(client, "a query that is well over twenty characters", auto_generate_name=False)
    names = [c["name"] for c in (await listing(client))["data"]]
    assert names == ["a query that is well…", "short one", query[:47] + "..."]


async def test_another_users_or_apps_conversations_are_invisible(client):
    await chat(client, "mine")
    await chat(client, "theirs", user="u2")
    await chat(client, "other app", key="app-advanced-chat")
    assert [c["name"] for c in (await listing(client))["data"]] == ["mine"]
    assert [c["name"] for c in (await listing(client, user="u2"))["data"]] == ["theirs"]
    assert [c["name"] for c in (await listing(client, key="app-advanced-chat"))["data"]] == ["other app"]
    resp = await client.get(CONVERSATIONS, headers=auth())  # no user: DEFAULT-USER, who has none
    assert (await resp.json())["data"] == []


@pytest.mark.parametrize(("sort_by", "reverse"), [("-updated_at", True), ("updated_at", False), ("created_at", False)])
async def test_a_walk_of_45_conversations_in_pages_of_20(client, sort_by: str, reverse: bool):
    made = [(await chat(client, f"question {i}"))["conversation_id"] for i in range(45)]
    expected = list(reversed(made)) if reverse else made
    seen: list[str] = []
    flags = []
    last_id = None
    while True:
        params = {"limit": 20, "sort_by": sort_by, **({"last_id": last_id} if last_id else {})}
        body = await listing(client, **params)
        assert body["limit"] == 20
        seen += [c["id"] for c in body["data"]]
        flags.append(body["has_more"])
        if not body["has_more"]:
            break
        last_id = body["data"][-1]["id"]
    assert seen == expected  # right order, no duplicates, no gaps
    assert flags == [True, True, False]


async def test_a_follow_up_moves_a_conversation_to_the_top(client):
    old = await chat(client, "old")
    new = await chat(client, "new")
    await chat(client, "again", conversation_id=old["conversation_id"])
    data = (await listing(client))["data"]
    assert [c["id"] for c in data] == [old["conversation_id"], new["conversation_id"]]
    by_created = (await listing(client, sort_by="-created_at"))["data"]
    assert [c["id"] for c in by_created] == [new["conversation_id"], old["conversation_id"]]


async def test_exactly_full_last_page_has_no_more(client):
    for i in range(4):
        await chat(client, f"q{i}")
    first = await listing(client, limit=2)
    assert first["has_more"] is True
    second = await listing(client, limit=2, last_id=first["data"][-1]["id"])
    assert len(second["data"]) == 2 and second["has_more"] is False


async def test_an_unknown_or_foreign_cursor_is_dify_404(client, expect_error):
    theirs = await chat(client, "theirs", user="u2")
    for cursor in (UNKNOWN, theirs["conversation_id"]):
        resp = await client.get(CONVERSATIONS, params={"user": "u1", "last_id": cursor}, headers=auth())
        await expect_error(resp, 404, "not_found", LAST_MISSING)


async def test_empty_cursor_is_no_cursor_and_unknown_parameters_are_ignored(client):
    await chat(client, "q")
    body = await listing(client, last_id="", pinned="true", first_id="x")
    assert len(body["data"]) == 1


@pytest.mark.parametrize(
    ("params", "field", "line"),
    [
        (
            {"limit": "0"},
            "limit",
            "Input should be greater than or equal to 1 [type=greater_than_equal, input_value='0', input_type=str]",
        ),
        (
            {"limit": "101"},
            "limit",
            "Input should be less than or equal to 100 [type=less_than_equal, input_value='101', input_type=str]",
        ),
        (
            {"limit": "abc"},
            "limit",
            "Input should be a valid integer, unable to parse string as an integer "
            "[type=int_parsing, input_value='abc', input_type=str]",
        ),
        (
            {"sort_by": "bogus"},
            "sort_by",
            "Input should be 'created_at', '-created_at', 'updated_at' or '-updated_at' "
            "[type=literal_error, input_value='bogus', input_type=str]",
        ),
        (
            {"last_id": "not-a-uuid"},
            "last_id",
            "Value error, must be a valid UUID [type=value_error, input_value='not-a-uuid', input_type=str]",
        ),
    ],
)
async def test_bad_query_values_are_pydantics_texts(client, expect_error, params, field, line):
    resp = await client.get(CONVERSATIONS, params=params, headers=auth())
    kind = line.rsplit("[type=", 1)[1].split(",", 1)[0]
    await expect_error(
        resp,
        400,
        "invalid_param",
        f"1 validation error for ConversationListQuery\n{field}\n  {line}\n"
        f"    For further information visit https://errors.pydantic.dev/2.12/v/{kind}",
    )


async def test_a_workflow_or_completion_app_is_not_a_chat_app(client, expect_error):
    for key in ("app-workflow", "app-completion"):
        resp = await client.get(CONVERSATIONS, params={"limit": "0"}, headers=auth(key))  # the guard goes first
        await expect_error(resp, 400, "not_chat_app", "Please check if your app mode matches the right API route.")


async def test_rename_returns_the_conversation_and_the_list_shows_it(client):
    made = await chat(client, "first question")
    cid = made["conversation_id"]
    resp = await client.post(f"{CONVERSATIONS}/{cid}/name", json={"name": "  Trip  ", "user": "u1"}, headers=auth())
    assert resp.status == 200
    body = await resp.json()
    assert list(body) == CONVERSATION_KEYS
    assert body["name"] == "  Trip  "  # as sent: Dify does not strip it
    assert body["updated_at"] > made["created_at"]
    listed = (await listing(client))["data"][0]
    assert listed == body


async def test_rename_with_auto_generate_names_it_after_its_first_message(client):
    made = await chat(client, "How do I bake bread?")
    cid = made["conversation_id"]
    await client.post(f"{CONVERSATIONS}/{cid}/name", json={"name": "x", "user": "u1"}, headers=auth())
    await chat(client, "And cookies?", conversation_id=cid)
    resp = await client.post(f"{CONVERSATIONS}/{cid}/name", json={"auto_generate": True, "user": "u1"}, headers=auth())
    assert (await resp.json())["name"] == "How do I bake bread?"


async def test_rename_errors(client, expect_error):
    made = await chat(client, "q")
    url = f"{CONVERSATIONS}/{made['conversation_id']}/name"
    resp = await client.post(url, json={"user": "u1"}, headers=auth())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for ConversationRenamePayload\n"
        "  Value error, name is required when auto_generate is false "
        "[type=value_error, input_value={'user': 'u1'}, input_type=dict]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/value_error",
    )
    resp = await client.post(url, json={"name": "x", "user": "u2"}, headers=auth())  # not u2's
    await expect_error(resp, 404, "not_found", "Conversation Not Exists.")
    resp = await client.post(f"{CONVERSATIONS}/{UNKNOWN}/name", json={"name": "x", "user": "u1"}, headers=auth())
    await expect_error(resp, 404, "not_found", "Conversation Not Exists.")
    resp = await client.post(f"{CONVERSATIONS}/not-a-uuid/name", json={"name": "x"}, headers=auth())
    assert resp.status == 404 and resp.content_type == "text/html"  # Flask's <uuid:> converter: no route


async def test_delete_is_204_and_every_read_then_misses_it(client, expect_error):
    keep = await chat(client, "keep")
    gone = await chat(client, "gone")
    url = f"{CONVERSATIONS}/{gone['conversation_id']}"
    resp = await client.delete(url, json={"user": "u1"}, headers=auth())
    assert resp.status == 204
    assert await resp.read() == b""
    assert resp.headers["Content-Type"] == "application/json"
    assert [c["id"] for c in (await listing(client))["data"]] == [keep["conversation_id"]]
    resp = await client.get(
        "/v1/messages", params={"user": "u1", "conversation_id": gone["conversation_id"]}, headers=auth()
    )
    assert resp.status == 404
    resp = await client.post(f"{url}/name", json={"name": "x", "user": "u1"}, headers=auth())
    await expect_error(resp, 404, "not_found", "Conversation Not Exists.")
    resp = await client.delete(url, json={"user": "u1"}, headers=auth())
    await expect_error(resp, 404, "not_found", "Conversation Not Exists.")


async def test_delete_needs_a_json_object_body(client, expect_error):
    made = await chat(client, "q")
    url = f"{CONVERSATIONS}/{made['conversation_id']}"
    await expect_error(await client.delete(url, headers=auth()), 415, "unsupported_media_type")
    resp = await client.delete(url, data=b"", headers={**auth(), "Content-Type": "application/json"})
    await expect_error(resp, 400, "bad_request")
    resp = await client.delete(url, json=[], headers=auth())
    assert resp.status == 500 and (await resp.json())["code"] == "unknown"
    resp = await client.delete(url, json={}, headers=auth())  # {} is enough: DEFAULT-USER, not its owner
    await expect_error(resp, 404, "not_found", "Conversation Not Exists.")


async def test_under_1_12_delete_checks_no_owner(make_client):
    client = await make_client(dify_version="1.12")
    theirs = await chat(client, "theirs", user="u2")
    resp = await client.delete(f"{CONVERSATIONS}/{UNKNOWN}", json={"user": "u1"}, headers=auth())
    assert resp.status == 204  # an unknown id deletes nothing, and says nothing
    resp = await client.delete(f"{CONVERSATIONS}/{theirs['conversation_id']}", json={"user": "u1"}, headers=auth())
    assert resp.status == 204
    assert (await listing(client, user="u2"))["data"] == []  # gone: 1.12 deleted whatever the id named


async def test_a_fault_on_delete_keeps_the_conversation(client, expect_error):
    made = await chat(client, "q")
    url = f"{CONVERSATIONS}/{made['conversation_id']}"
    resp = await client.delete(url, json={"user": "u1"}, headers={**auth(), "X-Mock-Fault": "outage"})
    await expect_error(resp, 503, "app_unavailable")
    assert len((await listing(client))["data"]) == 1


async def test_a_stub_answers_an_empty_page_with_yaml_alone(client):
    await chat(client, "q")
    stub = {
        "endpoint": "service.list_conversations",
        "tenant": "s:conv",
        "scenario": {"respond": {"blocking": {"data": []}}},
    }
    assert (await client.post("/_mock/scenarios", json=stub)).status == 201
    body = await listing(client)
    assert body == {"limit": 20, "has_more": False, "data": []}


@pytest.mark.parametrize("key", ["app-chat", "app-advanced-chat", "app-agent-chat", "app-agent"])
async def test_every_chat_family_mode_lists_its_conversations_and_history(client, key: str):
    # The agents only stream: their turn is stored when the stream is answered, as a blocking one.
    body = {"inputs": {}, "query": "plan my trip", "user": "u1", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth(key))
    assert resp.status == 200
    raw = await resp.read()
    started = json.loads(raw.split(b"data: ", 1)[1].split(b"\n", 1)[0])
    data = (await listing(client, key=key))["data"]
    assert [c["id"] for c in data] == [started["conversation_id"]]
    history = await get_page(client, "/v1/messages", auth(key), user="u1", conversation_id=started["conversation_id"])
    assert [(m["id"], m["query"]) for m in history["data"]] == [(started["message_id"], "plan my trip")]


async def test_an_agents_thoughts_are_in_its_history(client):
    body = {"inputs": {}, "query": "weather in Oslo?", "user": "u1", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-agent-chat"))
    events = [json.loads(f[len(b"data: ") :]) for f in (await resp.read()).split(b"\n\n") if f.startswith(b"data: ")]
    streamed = {e["id"]: e for e in events if e["event"] == "agent_thought"}  # the last version of each step
    assert streamed
    cid = events[0]["conversation_id"]
    history = await get_page(client, "/v1/messages", auth("app-agent-chat"), user="u1", conversation_id=cid)
    (message,) = history["data"]
    assert message["answer"] == "".join(e["answer"] for e in events if e["event"] == "agent_message")
    thoughts = message["agent_thoughts"]
    assert [t["id"] for t in thoughts] == [e["id"] for e in sorted(streamed.values(), key=lambda e: e["position"])]
    assert list(thoughts[0]) == [
        "id",
        "chain_id",
        "message_id",
        "position",
        "thought",
        "answer",
        "tool",
        "tool_labels",
        "tool_input",
        "created_at",
        "observation",
        "files",
    ]
    last = streamed[thoughts[-1]["id"]]
    assert (thoughts[-1]["thought"], thoughts[-1]["tool"], thoughts[-1]["observation"]) == (
        last["thought"],
        last["tool"],
        last["observation"],
    )
