"""A chatflow conversation's variables: listed and updated as Dify does (REFERENCE §5.4;
research/appkey_misc.md §2-§4). The built-in app-advanced-chat declares three."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import get_page

TOPIC, TURNS, PREFS = (
    "0f5e5a0e-1b7d-4b8e-9a40-3d6c1f0a2b01",
    "1a6f6b1f-2c8e-4c9f-8b51-4e7d2a1b3c12",
    "2b707c20-3d9f-4da0-9c62-5f8e3b2c4d23",
)
UNKNOWN = "0b0e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
PYDANTIC = "    For further information visit https://errors.pydantic.dev/2.12/v/"


def auth(key: str = "app-advanced-chat") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Mock-Session": "vars"}


async def chatflow(client: Any, user: str = "u1") -> str:
    body = {"inputs": {}, "query": "hi", "user": user, "response_mode": "blocking"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth())
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["conversation_id"])


def url(conversation_id: str, variable_id: str | None = None) -> str:
    tail = f"/{variable_id}" if variable_id else ""
    return f"/v1/conversations/{conversation_id}/variables{tail}"


async def test_a_chatflow_conversation_has_its_apps_variables(client):
    cid = await chatflow(client)
    body = await get_page(client, url(cid), auth(), user="u1")
    assert body["has_more"] is False
    assert [v["id"] for v in body["data"]] == [TOPIC, TURNS, PREFS]
    turns = body["data"][1]
    assert list(turns) == ["id", "name", "value_type", "value", "description", "created_at", "updated_at"]
    assert (turns["name"], turns["value_type"], turns["value"], turns["description"]) == (
        "turns",
        "number",
        "0",
        "Turns so far",
    )
    assert body["data"][2]["value"] == "{}"  # Python's str() of the value, as Dify prints it


async def test_a_chat_app_conversation_has_none(client):
    body = {"inputs": {}, "query": "hi", "user": "u1", "response_mode": "blocking"}
    cid = (await (await client.post("/v1/chat-messages", json=body, headers=auth("app-chat"))).json())[
        "conversation_id"
    ]
    assert (await get_page(client, url(cid), auth("app-chat"), user="u1"))["data"] == []


async def test_updates_are_checked_and_read_back(client, expect_error):
    cid = await chatflow(client)
    resp = await client.put(url(cid, PREFS), json={"value": {"a": 1, "b": [True, None]}, "user": "u1"}, headers=auth())
    assert resp.status == 200
    updated = await resp.json()
    assert updated["value"] == "{'a': 1, 'b': [True, None]}"
    listed = await get_page(client, url(cid), auth(), user="u1")
    assert listed["data"][2] == updated
    resp = await client.put(url(cid, TOPIC), json={"value": 5, "user": "u1"}, headers=auth())
    await expect_error(resp, 400, "bad_request", "Type mismatch: variable 'topic' expects string, but got integer type")
    resp = await client.put(url(cid, TURNS), json={"value": [], "user": "u1"}, headers=auth())
    await expect_error(
        resp, 400, "bad_request", "Type mismatch: variable 'turns' expects number, but got array[number] type"
    )
    resp = await client.put(url(cid, TURNS), json={"value": 1.5, "user": "u1"}, headers=auth())
    await expect_error(resp, 400, "invalid_param", "not supported value type integer")
    resp = await client.put(url(cid, TURNS), json={"value": True, "user": "u1"}, headers=auth())
    assert (await resp.json())["value"] == "1"  # a boolean is a number, stored as 1
    resp = await client.put(url(cid, TURNS), json={"user": "u1"}, headers=auth())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for ConversationVariableUpdatePayload\nvalue\n"
        f"  Field required [type=missing, input_value={{'user': 'u1'}}, input_type=dict]\n{PYDANTIC}missing",
    )


async def test_not_found_texts(client, expect_error):
    cid = await chatflow(client)
    resp = await client.get(url(UNKNOWN), params={"user": "u1"}, headers=auth())
    await expect_error(
        resp,
        404,
        "not_found",
        f"Conversation Not Exists. You have requested this URI [/v1/conversations/{UNKNOWN}/variables] "
        "but did you mean /v1/conversations/<uuid:c_id>/variables ?",
    )
    resp = await client.put(url(UNKNOWN, TOPIC), json={"value": "x", "user": "u1"}, headers=auth())
    await expect_error(resp, 404, "not_found", "Conversation Not Exists.")
    resp = await client.put(url(cid, UNKNOWN), json={"value": "x", "user": "u1"}, headers=auth())
    await expect_error(resp, 404, "not_found", "Conversation Variable Not Exists.")
    resp = await client.get(url(cid), params={"user": "u2"}, headers=auth())  # another user's
    assert resp.status == 404
    resp = await client.get(url(cid), params={"user": "u1", "last_id": UNKNOWN}, headers=auth())
    assert resp.status == 400 and await resp.json() == {"code": "invalid_param", "message": "", "status": 400}


async def test_paging_and_the_name_filter(client):
    cid = await chatflow(client)
    first = await get_page(client, url(cid), auth(), user="u1", limit=2)
    assert [v["id"] for v in first["data"]] == [TOPIC, TURNS] and first["has_more"] is True
    # Made in one transaction, the variables share one created_at: Dify's strict cursor finds none after.
    second = await get_page(client, url(cid), auth(), user="u1", limit=2, last_id=TURNS)
    assert second["data"] == [] and second["has_more"] is False
    found = await get_page(client, url(cid), auth(), user="u1", variable_name="PREF")
    assert [v["id"] for v in found["data"]] == [PREFS]


@pytest.mark.parametrize(
    ("name", "line"),
    [
        (
            "a b",
            "Value error, Variable name can only contain letters, numbers, hyphens (-), underscores (_), and "
            "periods (.) [type=value_error, input_value='a b', input_type=str]",
        ),
        (
            "sp_x",
            "Value error, Variable name contains invalid characters: sp_ "
            "[type=value_error, input_value='sp_x', input_type=str]",
        ),
        (
            "x" * 256,
            "String should have at most 255 characters [type=string_too_long, "
            "input_value='xxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxx', input_type=str]",
        ),
    ],
    ids=["space", "sqlish", "too-long"],
)
async def test_variable_name_rules(client, expect_error, name: str, line: str):
    cid = await chatflow(client)
    resp = await client.get(url(cid), params={"user": "u1", "variable_name": name}, headers=auth())
    kind = line.rsplit("[type=", 1)[1].split(",", 1)[0]
    await expect_error(
        resp,
        400,
        "invalid_param",
        f"1 validation error for ConversationVariablesQuery\nvariable_name\n  {line}\n{PYDANTIC}{kind}",
    )


async def test_the_new_agent_is_no_chat_app_here(client, expect_error):
    resp = await client.get(url(UNKNOWN), headers=auth("app-agent"))
    await expect_error(resp, 400, "not_chat_app")


async def test_a_value_over_difys_size_limit(client, expect_error):
    cid = await chatflow(client)
    big = "x" * 300_000
    resp = await client.put(url(cid, TOPIC), json={"value": big, "user": "u1"}, headers=auth())
    await expect_error(resp, 400, "invalid_param", "variable size 300049 exceeds limit 204800")
