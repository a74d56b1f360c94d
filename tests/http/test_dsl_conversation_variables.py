"""A DSL chatflow's conversation variables across turns (DSL.md §A.2.9 `assigner`): a turn starts from
the conversation's stored values, its assigners' writes show later in the same run and are stored on
the conversation when the turn commits (graphon variable_assigner v1/v2; Dify's
ConversationVariablePersistenceLayer, 1.14.2-1.16.1). tests/dify/dsl_files/memory_chat.yml: a v2
assigner counts turns and appends the query before the answer; a v1 assigner after the answer keeps
the query for the next turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

FILES = Path(__file__).parents[1] / "dify" / "dsl_files"
KEY = "app-memory-chat"
MEMORY, TURNS, HISTORY = (f"7a0c1e2f-3b4d-4e5f-8a6b-7c8d9e0f1a2{i}" for i in (1, 2, 3))


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def client(make_client: Any) -> TestClient:
    return await make_client(dsl=(str(FILES / "memory_chat.yml"),))


async def turn(client: TestClient, query: str, conversation: str = "") -> dict[str, Any]:
    body = {"inputs": {}, "query": query, "user": "u", "response_mode": "blocking", "conversation_id": conversation}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth())
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def variables(client: TestClient, conversation: str) -> dict[str, dict[str, Any]]:
    resp = await client.get(f"/v1/conversations/{conversation}/variables", params={"user": "u"}, headers=auth())
    assert resp.status == 200, await resp.text()
    return {v["name"]: v for v in (await resp.json())["data"]}


async def test_a_turn_s_writes_reach_the_next_turn_and_the_variables(client: TestClient) -> None:
    first = await turn(client, "hello")
    # Written before the answer: this turn's count and history; the memory is written after it.
    assert first["answer"] == 'Turn 1. Before: nothing yet. History: ["hello"]'
    cid = first["conversation_id"]
    stored = await variables(client, cid)
    assert [(v["id"], v["value_type"], v["value"]) for v in stored.values()] == [
        (MEMORY, "string", "hello"),
        (TURNS, "number", "1"),
        (HISTORY, "array[string]", "['hello']"),  # str() of the value, as Dify prints it
    ]

    second = await turn(client, "again", cid)
    assert second["answer"] == 'Turn 2. Before: hello. History: ["hello", "again"]'
    later = await variables(client, cid)
    assert (later["memory"]["value"], later["turns"]["value"]) == ("again", "2")
    assert later["history"]["value"] == "['hello', 'again']"
    for name in ("memory", "turns", "history"):
        assert later[name]["updated_at"] > stored[name]["updated_at"]
        assert later[name]["created_at"] == stored[name]["created_at"]


async def test_a_new_conversation_starts_from_the_declared_values(client: TestClient) -> None:
    cid = (await turn(client, "one"))["conversation_id"]
    await turn(client, "two", cid)
    other = await turn(client, "elsewhere")
    assert other["answer"] == 'Turn 1. Before: nothing yet. History: ["elsewhere"]'


async def test_a_put_value_is_what_the_next_turn_reads(client: TestClient) -> None:
    cid = (await turn(client, "hello"))["conversation_id"]
    url = f"/v1/conversations/{cid}/variables"
    for variable, value in ((MEMORY, "set by PUT"), (TURNS, 41), (HISTORY, ["x"])):
        resp = await client.put(f"{url}/{variable}", json={"value": value, "user": "u"}, headers=auth())
        assert resp.status == 200, await resp.text()
    answer = (await turn(client, "after", cid))["answer"]
    assert answer == 'Turn 42. Before: set by PUT. History: ["x", "after"]'


async def test_the_stream_shows_the_assigners_updates(client: TestClient, parse_sse: Any) -> None:
    body = {"inputs": {}, "query": "hi", "user": "u", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth())
    events = list(parse_sse(await resp.read()))
    finished = {e["data"]["title"]: e["data"] for e in events if e["event"] == "node_finished"}
    count, remember = finished["Count"], finished["Remember"]
    assert count["outputs"] == {} and count["status"] == "succeeded"
    assert count["inputs"]["items"][1] == {
        "variable_selector": ["conversation", "history"],
        "input_type": "variable",
        "operation": "append",
        "value": ["sys", "query"],
    }
    assert count["process_data"] == {
        "turns": 1,
        "history": ["hi"],
        "__updated_variables": [
            {"name": "turns", "selector": ["conversation", "turns"], "value_type": "integer", "new_value": 1},
            {
                "name": "history",
                "selector": ["conversation", "history"],
                "value_type": "array[string]",
                "new_value": ["hi"],
            },
        ],
    }
    assert remember["inputs"] == {"value": "hi"} and remember["outputs"] == {}
    assert remember["process_data"]["__updated_variables"][0]["new_value"] == "hi"
    # The answer waits for Count (it writes what the answer shows): its text comes right before Count's
    # node_finished, as graphon's response coordinator releases it.
    names = [(e["event"], (e.get("data") or {}).get("title")) for e in events]
    first_chunk = next(i for i, (name, _) in enumerate(names) if name == "message")
    assert names[first_chunk - 1] == ("node_started", "Count")


async def test_an_unchanged_value_keeps_its_updated_at(client: TestClient) -> None:
    cid = (await turn(client, "same"))["conversation_id"]
    before = await variables(client, cid)
    await turn(client, "same", cid)  # Remember writes "same" again: no column changes, no UPDATE
    later = await variables(client, cid)
    assert later["memory"]["updated_at"] == before["memory"]["updated_at"]
    assert later["turns"]["updated_at"] > before["turns"]["updated_at"]


async def test_a_failed_turn_keeps_the_writes_made_before_it_failed(
    make_client: Any, tmp_path: Path, parse_sse: Any
) -> None:
    dsl = FILES / "memory_chat.yml"
    (tmp_path / "_apps.yaml").write_text(
        f"apps:\n  {KEY}:\n    dsl: {dsl}\n    graph:\n      fail: {{Remember: db down}}\n", encoding="utf-8"
    )
    client = await make_client(fixtures=(tmp_path,))
    body = {"inputs": {}, "query": "lost", "user": "u", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth())
    events = list(parse_sse(await resp.read()))
    failed = next(e for e in events if e["event"] == "workflow_finished")
    assert failed["data"]["status"] == "failed" and failed["data"]["error"] == "db down"
    cid = failed["conversation_id"]
    stored = await variables(client, cid)
    # Count ran and its writes were stored at once; Remember failed before writing.
    assert [stored[n]["value"] for n in ("memory", "turns", "history")] == ["nothing yet", "1", "['lost']"]


async def test_a_paused_turn_stores_its_writes_and_the_resumed_part_its_own(make_client: Any, parse_sse: Any) -> None:
    key = "app-memory-form"
    client = await make_client(dsl=(f"{FILES / 'memory_form.yml'}={key}",), dify_version="1.16")
    headers = {"Authorization": f"Bearer {key}"}
    body = {"inputs": {}, "query": "the plan", "user": "u", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=headers)
    events = list(parse_sse(await resp.read()))
    assert events[-1]["event"] == "workflow_paused"
    cid, run_id = events[0]["conversation_id"], events[0]["workflow_run_id"]
    token = next(e["data"]["form_token"] for e in events if e["event"] == "human_input_required")

    async def stored() -> dict[str, dict[str, Any]]:
        resp = await client.get(f"/v1/conversations/{cid}/variables", params={"user": "u"}, headers=headers)
        return {v["name"]: v for v in (await resp.json())["data"]}

    paused = await stored()
    assert (paused["turns"]["value"], paused["memory"]["value"]) == ("1", "nothing yet")  # Count ran, Keep not yet
    form = {"inputs": {"note": "buy milk"}, "action": "keep", "user": "u"}
    resp = await client.post(f"/v1/form/human_input/{token}", json=form, headers=headers)
    assert resp.status == 200, await resp.text()
    resumed = await stored()
    assert (resumed["turns"]["value"], resumed["memory"]["value"]) == ("1", "buy milk")
    # Only the resumed part's write is new: Count's is not made again.
    assert resumed["turns"]["updated_at"] == paused["turns"]["updated_at"]
    assert resumed["memory"]["updated_at"] > paused["memory"]["updated_at"]
    resp = await client.get(f"/v1/workflow/{run_id}/events", params={"user": "u"}, headers=headers)
    text = (await resp.read()).decode()
    assert "Kept buy milk at turn 1." in "".join(
        json.loads(line[6:]).get("answer", "") for line in text.split("\n") if line.startswith("data: ")
    )
