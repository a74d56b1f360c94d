"""Completion and workflow generation (REFERENCE §3.3, §3.4, §3.7, §4, §16.1 seed alias)."""

from __future__ import annotations

import pytest
from dify_facts import MODE_MISMATCH, SSE_CONTENT_TYPE, UNKNOWN_UUID, USAGE_KEYS, USER_REQUIRED, auth, is_int, is_uuid4

WORKFLOW_ID = "7c3e33d4-2a8b-4e5f-9b1a-d3c6e8f12345"  # app-workflow's workflow_id in _apps.yaml
COMPLETION_KEYS = ["event", "task_id", "id", "message_id", "mode", "answer", "metadata", "created_at"]
COMPLETION_ENVELOPE = ["event", "message_id", "created_at", "task_id"]
WORKFLOW_ENVELOPE = ["event", "workflow_run_id", "task_id", "data"]
COMPLETION_PATHS = ["/v1/completion-messages", "/v1/completions"]  # the second is the seed's alias
WORKFLOW_PATHS = ["/v1/workflows/run", f"/v1/workflows/{WORKFLOW_ID}/run"]


async def check_requires_user_and_inputs(client, expect_error, path: str, key: str) -> None:
    """A missing or empty user is rejected first; then a missing inputs object."""
    for payload in ({"inputs": {}}, {"inputs": {}, "user": ""}):
        resp = await client.post(path, json=payload, headers=auth(key))
        await expect_error(resp, 400, "invalid_param", USER_REQUIRED)
    resp = await client.post(path, json={"user": "user-1"}, headers=auth(key))
    error = await expect_error(resp, 400, "invalid_param")
    assert "inputs" in error["message"]


async def read_stream(resp, parse_sse) -> list[dict]:
    raw = await resp.read()
    assert resp.status == 200, raw[:300]
    assert resp.headers["Content-Type"] == SSE_CONTENT_TYPE
    assert "Content-Length" not in resp.headers
    return parse_sse(raw)


# --- completion -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", COMPLETION_PATHS)
@pytest.mark.parametrize("response_mode", ["blocking", None, "omitted"])
async def test_completion_blocking(client, path, response_mode):
    payload = {"inputs": {"topic": "sea otters"}, "user": "user-1"}
    if response_mode != "omitted":
        payload["response_mode"] = response_mode
    resp = await client.post(path, json=payload, headers=auth("app-completion"))
    assert resp.status == 200
    assert resp.content_type == "application/json"
    reply = await resp.json()
    assert list(reply) == COMPLETION_KEYS
    assert "conversation_id" not in reply
    assert reply["event"] == "message"
    assert reply["mode"] == "completion"
    assert reply["answer"] == "Here is a short text about sea otters."
    assert is_uuid4(reply["task_id"]) and is_uuid4(reply["id"])
    assert reply["id"] == reply["message_id"] != reply["task_id"]
    assert is_int(reply["created_at"])
    # Completion shares the easy-UI pipeline: the full metadata dump (audit A1, VERSIONS.md V6), with
    # LLMUsage's two timing fields left null (easy_ui_based_generate_task_pipeline.py :153, 1.16.1).
    assert list(reply["metadata"]) == ["annotation_reply", "retriever_resources", "usage", "reasoning"]
    usage = reply["metadata"]["usage"]
    assert set(usage) == USAGE_KEYS | {"time_to_first_token", "time_to_generate"}
    assert usage["time_to_first_token"] is None and usage["time_to_generate"] is None
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert isinstance(usage["total_price"], str) and isinstance(usage["latency"], float)


@pytest.mark.parametrize("path", COMPLETION_PATHS)
async def test_completion_streaming(client, parse_sse, path):
    payload = {"inputs": {"topic": "sea otters"}, "user": "user-1", "response_mode": "streaming"}
    events = await read_stream(await client.post(path, json=payload, headers=auth("app-completion")), parse_sse)
    names = [e["event"] for e in events]
    assert names[-1] == "message_end"
    assert set(names[:-1]) == {"message"} and len(names) >= 3
    first = events[0]
    for event in events:
        assert list(event)[:4] == COMPLETION_ENVELOPE, list(event)
        assert "conversation_id" not in event
        assert event["message_id"] == first["message_id"]
        assert event["task_id"] == first["task_id"]
        assert event["created_at"] == first["created_at"]
    assert is_uuid4(first["message_id"]) and is_uuid4(first["task_id"]) and is_int(first["created_at"])
    for event in events[:-1]:
        assert list(event) == [*COMPLETION_ENVELOPE, "id", "answer", "from_variable_selector"]
        assert event["id"] == first["message_id"]
    assert "".join(e["answer"] for e in events[:-1]) == "Here is a short text about sea otters."
    end = events[-1]
    assert end["id"] == first["message_id"] and "answer" not in end
    assert set(end["metadata"]["usage"]) == USAGE_KEYS  # 1.16 drops the null timing fields (V6b)
    assert end["files"] == []  # a list, and present for completion too (audit B3)


async def test_completion_alias_answers_like_the_real_route(client, parse_sse):
    payload = {"inputs": {"topic": "tides"}, "user": "user-1"}
    real = await (await client.post("/v1/completion-messages", json=payload, headers=auth("app-completion"))).json()
    alias = await (await client.post("/v1/completions", json=payload, headers=auth("app-completion"))).json()
    assert list(alias) == list(real)
    assert alias["answer"] == real["answer"] and alias["mode"] == real["mode"]
    assert alias["metadata"]["usage"].keys() == real["metadata"]["usage"].keys()
    assert alias["message_id"] != real["message_id"]  # two calls, two messages


@pytest.mark.parametrize("path", COMPLETION_PATHS)
@pytest.mark.parametrize("key", ["app-chat", "app-advanced-chat", "app-agent-chat", "app-agent", "app-workflow"])
async def test_completion_on_another_mode(client, expect_error, path, key):
    payload = {"inputs": {}, "user": "user-1", "response_mode": "streaming"}
    resp = await client.post(path, json=payload, headers=auth(key))
    await expect_error(resp, 400, "app_unavailable", "App unavailable, please check your app configurations.")


@pytest.mark.parametrize("path", COMPLETION_PATHS)
async def test_completion_requires_user_and_inputs(client, expect_error, path):
    await check_requires_user_and_inputs(client, expect_error, path, "app-completion")


async def test_completion_input_form_max_length(client, expect_error):
    payload = {"inputs": {"topic": "x" * 1001}, "user": "user-1"}
    resp = await client.post("/v1/completion-messages", json=payload, headers=auth("app-completion"))
    await expect_error(resp, 400, "invalid_param", "topic in input form must be less than 1000 characters")


# --- workflow -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOW_PATHS)
@pytest.mark.parametrize("response_mode", ["blocking", "omitted"])
async def test_workflow_blocking(client, path, response_mode):
    payload = {"inputs": {"query": "hello world"}, "user": "user-1"}
    if response_mode != "omitted":
        payload["response_mode"] = response_mode
    resp = await client.post(path, json=payload, headers=auth("app-workflow"))
    assert resp.status == 200
    assert resp.content_type == "application/json"
    reply = await resp.json()
    assert set(reply) == {"task_id", "workflow_run_id", "data"}
    assert is_uuid4(reply["task_id"]) and is_uuid4(reply["workflow_run_id"])
    assert reply["task_id"] != reply["workflow_run_id"]
    data = reply["data"]
    assert {
        "id",
        "workflow_id",
        "status",
        "outputs",
        "error",
        "elapsed_time",
        "total_tokens",
        "total_steps",
        "created_at",
        "finished_at",
    } <= set(data)
    assert data["id"] == reply["workflow_run_id"]
    assert data["workflow_id"] == WORKFLOW_ID
    assert data["status"] == "succeeded"
    assert data["error"] is None
    assert data["outputs"] == {"result": "Processed: hello world"}
    assert isinstance(data["elapsed_time"], float) and data["elapsed_time"] >= 0
    assert is_int(data["total_steps"]) and data["total_steps"] >= 1
    assert is_int(data["total_tokens"])
    assert is_int(data["created_at"]) and is_int(data["finished_at"])
    assert data["created_at"] <= data["finished_at"]


@pytest.mark.parametrize("path", WORKFLOW_PATHS)
async def test_workflow_streaming(client, parse_sse, path):
    payload = {"inputs": {"query": "hello big world"}, "user": "user-1", "response_mode": "streaming"}
    events = await read_stream(await client.post(path, json=payload, headers=auth("app-workflow")), parse_sse)
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started"
    assert names[-1] == "workflow_finished"
    assert names.count("workflow_started") == names.count("workflow_finished") == 1
    assert "message" not in names and "message_end" not in names

    first = events[0]
    run_id, task_id = first["workflow_run_id"], first["task_id"]
    assert is_uuid4(run_id) and is_uuid4(task_id) and run_id != task_id
    for event in events:
        assert list(event) == WORKFLOW_ENVELOPE, list(event)
        assert event["workflow_run_id"] == run_id and event["task_id"] == task_id
        assert isinstance(event["data"], dict)

    started = first["data"]
    assert started["id"] == run_id and started["workflow_id"] == WORKFLOW_ID
    assert started["inputs"]["query"] == "hello big world"
    assert is_int(started["created_at"])

    # node_started / node_finished come in pairs sharing data.id, the finish after its start.
    open_nodes: dict[str, dict] = {}
    finished_nodes: list[str] = []
    for event in events[1:-1]:
        data = event["data"]
        if event["event"] == "node_started":
            assert is_uuid4(data["id"]) and data["id"] not in open_nodes and data["id"] not in finished_nodes
            open_nodes[data["id"]] = data
        elif event["event"] == "node_finished":
            started_node = open_nodes.pop(data["id"])
            assert data["node_id"] == started_node["node_id"] and data["node_type"] == started_node["node_type"]
            assert data["status"] == "succeeded"
            finished_nodes.append(data["id"])
        else:
            assert event["event"] == "text_chunk", event["event"]
    assert not open_nodes
    assert len(finished_nodes) >= 2

    chunks = [e["data"] for e in events if e["event"] == "text_chunk"]
    assert len(chunks) >= 2
    assert "".join(c["text"] for c in chunks) == "Processed: hello big world"
    assert all(isinstance(c["from_variable_selector"], list) for c in chunks)

    finished = events[-1]["data"]
    assert finished["id"] == run_id and finished["workflow_id"] == WORKFLOW_ID
    assert finished["status"] == "succeeded"
    assert finished["outputs"] == {"result": "Processed: hello big world"}
    assert isinstance(finished["elapsed_time"], float)
    assert is_int(finished["total_steps"]) and is_int(finished["finished_at"])


async def test_workflow_by_unknown_id(client, expect_error):
    payload = {"inputs": {}, "user": "user-1"}
    resp = await client.post(f"/v1/workflows/{UNKNOWN_UUID}/run", json=payload, headers=auth("app-workflow"))
    await expect_error(resp, 404, "not_found", f"Workflow not found with id: {UNKNOWN_UUID}")


@pytest.mark.parametrize("workflow_id", ["abc", "7c3e33d4", "not-a-uuid"])
async def test_workflow_by_malformed_id(client, expect_error, workflow_id):
    payload = {"inputs": {}, "user": "user-1"}
    resp = await client.post(f"/v1/workflows/{workflow_id}/run", json=payload, headers=auth("app-workflow"))
    await expect_error(resp, 400, "bad_request", f"Invalid workflow_id format: '{workflow_id}'. ")


@pytest.mark.parametrize("path", WORKFLOW_PATHS)
@pytest.mark.parametrize("key", ["app-chat", "app-advanced-chat", "app-agent-chat", "app-agent", "app-completion"])
async def test_workflow_on_another_mode(client, expect_error, path, key):
    payload = {"inputs": {}, "user": "user-1", "response_mode": "streaming"}
    resp = await client.post(path, json=payload, headers=auth(key))
    await expect_error(resp, 400, "not_workflow_app", MODE_MISMATCH)


@pytest.mark.parametrize("path", WORKFLOW_PATHS)
async def test_workflow_requires_user_and_inputs(client, expect_error, path):
    await check_requires_user_and_inputs(client, expect_error, path, "app-workflow")


async def test_workflow_input_form_max_length(client, expect_error):
    payload = {"inputs": {"query": "q" * 257}, "user": "user-1"}
    resp = await client.post("/v1/workflows/run", json=payload, headers=auth("app-workflow"))
    await expect_error(resp, 400, "invalid_param", "query in input form must be less than 256 characters")


async def test_each_workflow_run_is_new(client):
    payload = {"inputs": {}, "user": "user-1"}
    first = await (await client.post("/v1/workflows/run", json=payload, headers=auth("app-workflow"))).json()
    second = await (await client.post("/v1/workflows/run", json=payload, headers=auth("app-workflow"))).json()
    assert first["workflow_run_id"] != second["workflow_run_id"]
    assert first["task_id"] != second["task_id"]
    assert first["data"]["workflow_id"] == second["data"]["workflow_id"] == WORKFLOW_ID
    assert first["data"]["outputs"] == {"result": "Processed: nothing"}
