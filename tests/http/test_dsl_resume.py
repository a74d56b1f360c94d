"""A DSL run that pauses at a Human Input node and goes on when its form is submitted (DSL.md §A.2.8
`human_input`, research/workflow_runs.md §3-§4): the stream ends with human_input_required and
workflow_paused; POST /v1/form/human_input/{token} resumes the graph down the chosen action's edge;
GET /v1/workflow/{run_id}/events relays the resumed part once; the stored run ends as that part ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from dify_facts import auth
from sse_outline import outline

FILES = Path(__file__).parent.parent / "dify" / "dsl_files"
REVIEW = "app-review"
CHAT = "app-confirm"


@pytest.fixture
async def client(make_client: Any) -> TestClient:
    files = (f"{FILES / 'review_gate.yml'}={REVIEW}", f"{FILES / 'confirm_chat.yml'}={CHAT}")
    return await make_client(dsl=files, dify_version="1.16")


async def run(client: TestClient, parse_sse: Any, path: str, key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    resp = await client.post(path, json={**body, "user": "ann", "response_mode": "streaming"}, headers=auth(key))
    assert resp.status == 200, await resp.text()
    return list(parse_sse(await resp.read()))


async def submit(client: TestClient, key: str, token: str, action: str, inputs: dict[str, Any]) -> None:
    resp = await client.post(
        f"/v1/form/human_input/{token}", json={"inputs": inputs, "action": action, "user": "bob"}, headers=auth(key)
    )
    assert resp.status == 200, await resp.text()


async def relayed(client: TestClient, key: str, run_id: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/v1/workflow/{run_id}/events", params={"user": "ann"}, headers=auth(key))
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    raw = await resp.read()
    assert raw.startswith(b"event: ping\n\n")
    return [json.loads(f.removeprefix(b"data: ")) for f in raw.split(b"\n\n")[1:] if f]


def form_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    required = [e for e in events if e["event"] == "human_input_required"]
    assert len(required) == 1
    return dict(required[0]["data"])


async def test_a_workflow_pauses_at_its_form_and_resumes_down_the_chosen_edge(
    client: TestClient, parse_sse: Any
) -> None:
    first = await run(client, parse_sse, "/v1/workflows/run", REVIEW, {"inputs": {"topic": "tea"}})
    assert outline(first) == [
        "workflow_started",
        "started Start",
        "finished Start",
        "started Draft",
        "finished Draft",
        "started Review",
        "human_input_required",
        "workflow_paused",
    ]
    run_id = first[0]["workflow_run_id"]
    # Dify's node events all carry index 1: the runner never sets QueueNodeStartedEvent.node_run_index.
    assert {e["data"]["index"] for e in first if e["event"].startswith("node_")} == {1}
    form = form_of(first)
    assert form["form_content"] == "Please review: [Draft] A note about tea"
    assert [a["id"] for a in form["actions"]] == ["approve", "reject"]
    detail = await (await client.get(f"/v1/workflows/run/{run_id}", headers=auth(REVIEW))).json()
    assert (detail["status"], detail["total_steps"]) == ("paused", 2)

    await submit(client, REVIEW, form["form_token"], "approve", {"comment": "fine"})
    second = await relayed(client, REVIEW, run_id)
    assert outline(second) == [
        "workflow_started",
        "started Review",
        "human_input_form_filled",
        "finished Review",
        "started Sign off",
        "human_input_required",
        "workflow_paused",
    ]
    assert second[0]["data"]["reason"] == "resumption" and {e["workflow_run_id"] for e in second} == {run_id}
    # The waiting node is the same execution as before the pause.
    review_started = next(e for e in first if e["event"] == "node_started" and e["data"]["title"] == "Review")
    assert second[1]["data"]["id"] == review_started["data"]["id"]
    filled = second[2]["data"]
    assert (filled["action_id"], filled["action_text"], filled["submitted_data"]) == (
        "approve",
        "Approve",
        {"comment": "fine"},
    )
    assert filled["rendered_content"] == "Please review: [Draft] A note about tea"
    review_outputs = second[3]["data"]["outputs"]
    assert review_outputs["comment"] == "fine" and review_outputs["__action_id"] == "approve"
    detail = await (await client.get(f"/v1/workflows/run/{run_id}", headers=auth(REVIEW))).json()
    assert (detail["status"], detail["total_steps"]) == ("paused", 3)

    await submit(client, REVIEW, form_of(second)["form_token"], "sign", {"signer": "Eve"})
    third = await relayed(client, REVIEW, run_id)
    assert outline(third) == [
        "workflow_started",
        "started Sign off",
        "human_input_form_filled",
        "finished Sign off",
        "started Publish",
        "chunk*",  # the End's session is open since Sign off's edge: Publish's output goes out at once
        "finished Publish",
        "started Published",
        "finished Published",
        "workflow_finished",
    ]
    result = "[Draft] A note about tea (ok: fine, by Eve)"
    finished = third[-1]["data"]
    assert (finished["status"], finished["outputs"], finished["total_steps"]) == ("succeeded", {"result": result}, 6)
    assert "".join(e["data"]["text"] for e in third if e["event"] == "text_chunk") == result

    detail = await (await client.get(f"/v1/workflows/run/{run_id}", headers=auth(REVIEW))).json()
    assert (detail["status"], detail["outputs"], detail["total_steps"]) == ("succeeded", {"result": result}, 6)
    assert detail["finished_at"] == finished["finished_at"]
    # Relayed once: a later reader finds the finished run's one frame.
    resp = await client.get(f"/v1/workflow/{run_id}/events", params={"user": "ann"}, headers=auth(REVIEW))
    frame = json.loads((await resp.read()).removeprefix(b"data: "))
    assert (frame["event"], frame["data"]["outputs"]) == ("workflow_finished", {"result": result})


async def test_the_other_action_takes_the_other_edge(client: TestClient, parse_sse: Any) -> None:
    first = await run(client, parse_sse, "/v1/workflows/run", REVIEW, {"inputs": {"topic": "tea"}})
    run_id = first[0]["workflow_run_id"]
    await submit(client, REVIEW, form_of(first)["form_token"], "reject", {"comment": "too short"})
    events = await relayed(client, REVIEW, run_id)
    # Review's choice opens the End's session: its chunk comes before Review's finish (DSL.md §A.1.7).
    assert outline(events)[3:] == [
        "chunk*",
        "finished Review",
        "started Rejected",
        "finished Rejected",
        "workflow_finished",
    ]
    assert events[-1]["data"]["outputs"] == {"reason": "too short"}
    logs = await (await client.get("/v1/workflows/logs", headers=auth(REVIEW))).json()
    assert [(i["workflow_run"]["id"], i["workflow_run"]["status"]) for i in logs["data"]] == [(run_id, "succeeded")]


async def test_a_blocking_run_pauses_and_resumes_the_same_way(client: TestClient) -> None:
    body = {"inputs": {"topic": "tea"}, "user": "ann", "response_mode": "blocking"}
    resp = await client.post("/v1/workflows/run", json=body, headers=auth(REVIEW))
    paused = (await resp.json())["data"]
    assert (paused["status"], paused["paused_nodes"]) == ("paused", ["review"])
    token = paused["reasons"][0]["form_token"]
    await submit(client, REVIEW, token, "reject", {"comment": "no"})
    detail = await (await client.get(f"/v1/workflows/run/{paused['id']}", headers=auth(REVIEW))).json()
    assert (detail["status"], detail["outputs"]) == ("succeeded", {"reason": "no"})


async def test_a_chatflow_resumes_and_its_answer_grows(client: TestClient, parse_sse: Any) -> None:
    first = await run(client, parse_sse, "/v1/chat-messages", CHAT, {"inputs": {}, "query": "a table"})
    assert outline(first) == [
        "workflow_started",
        "chunk*",  # 1.16: Plan's session is open from the start: its text goes out at GraphRunStarted
        "started Start",
        "finished Start",
        "started Plan",
        "finished Plan",
        "started Confirm",
        "human_input_required",
        "workflow_paused",
    ]
    run_id, conversation = first[0]["workflow_run_id"], first[0]["conversation_id"]
    await submit(client, CHAT, form_of(first)["form_token"], "yes", {"note": "for two"})
    events = await relayed(client, CHAT, run_id)
    assert outline(events) == [
        "workflow_started",
        "started Confirm",
        "human_input_form_filled",
        "chunk*",
        "finished Confirm",
        "started Done",
        "finished Done",
        "message_end",
        "workflow_finished",
    ]
    assert {e["conversation_id"] for e in events} == {conversation}
    said = "".join(e["answer"] for e in events if e["event"] == "message")
    assert said == "Booked (for two)."
    params = {"user": "ann", "conversation_id": conversation}
    history = await (await client.get("/v1/messages", params=params, headers=auth(CHAT))).json()
    assert [m["answer"] for m in history["data"]] == ["I will book a table. Booked (for two)."]


async def test_the_resumed_part_is_the_same_bytes_on_another_server(make_client: Any, parse_sse: Any) -> None:
    """Determinism: the same file, seed and requests give the same resumed events."""
    seen = []
    for _ in range(2):
        client = await make_client(dsl=(f"{FILES / 'review_gate.yml'}={REVIEW}",), dify_version="1.16")
        first = await run(client, parse_sse, "/v1/workflows/run", REVIEW, {"inputs": {"topic": "tea"}})
        await submit(client, REVIEW, form_of(first)["form_token"], "reject", {"comment": "no"})
        resp = await client.get(
            f"/v1/workflow/{first[0]['workflow_run_id']}/events", params={"user": "ann"}, headers=auth(REVIEW)
        )
        seen.append(await resp.read())
    assert seen[0] == seen[1] and b"human_input_form_filled" in seen[0]


@pytest.mark.parametrize(("release", "at"), [("1.12", 2), ("1.14", 2), ("1.16", 1)])
async def test_where_ready_text_first_streams_depends_on_the_release(
    make_client: Any, parse_sse: Any, release: str, at: int
) -> None:
    """Release.stream_at_run_start: 1.16's response filter flushes at GraphRunStarted, earlier engines
    inside the start node's run (before its finish)."""
    client = await make_client(dify_version=release)
    dsl = (
        "version: 0.5.0\nkind: app\napp: {name: Hi, mode: advanced-chat}\nworkflow:\n  graph:\n    nodes:\n"
        "    - {id: start, data: {type: start, title: Start, variables: []}}\n"
        "    - {id: hi, data: {type: answer, title: Hi, answer: 'Hi {{#sys.query#}}!'}}\n"
        "    edges:\n    - {id: e1, source: start, target: hi}\n"
    )
    assert (await client.post("/_mock/apps", json={"key": "app-hi", "dsl": dsl})).status == 200
    events = await run(client, parse_sse, "/v1/chat-messages", "app-hi", {"inputs": {}, "query": "Bo"})
    assert "".join(e["answer"] for e in events if e["event"] == "message") == "Hi Bo!"
    shape = outline(events)
    assert shape.index("chunk*") == at and shape[:4] == [
        "workflow_started",
        *(["chunk*", "started Start"] if at == 1 else ["started Start", "chunk*"]),
        "finished Start",
    ]


async def test_a_timed_out_form_streams_its_timeout_event(client: TestClient, parse_sse: Any) -> None:
    scenario = {"graph": {"human_input": {"Confirm": "__timeout"}}}
    resp = await client.post("/_mock/scenarios", json={"endpoint": "service.send_chat_message", "scenario": scenario})
    assert resp.status == 201, await resp.text()
    events = await run(client, parse_sse, "/v1/chat-messages", CHAT, {"inputs": {}, "query": "a table"})
    timeout = next(e for e in events if e["event"] == "human_input_form_timeout")
    assert (timeout["data"]["node_id"], timeout["data"]["node_title"]) == ("confirm", "Confirm")
    assert isinstance(timeout["data"]["expiration_time"], int)
    # No edge leaves Confirm by `__timeout` here: Done never runs and the run ends after Confirm.
    assert "started Done" not in outline(events) and events[-1]["data"]["status"] == "succeeded"
