"""POST /v1/chat-messages for every chat-family mode (REFERENCE §3.1, §3.2, §3.6, §3.7, §4)."""

from __future__ import annotations

import pytest
from dify_facts import (
    CONVERSATION_NOT_EXISTS,
    MODE_MISMATCH,
    SSE_CONTENT_TYPE,
    USAGE_KEYS,
    USER_REQUIRED,
    auth,
    is_int,
    is_uuid4,
)

TIMING_KEYS = {"time_to_first_token", "time_to_generate"}
CHAT_MODES = {
    "app-chat": "chat",
    "app-advanced-chat": "advanced-chat",
    "app-agent-chat": "agent-chat",
    "app-agent": "agent",
}
CHATFLOW_WORKFLOW_ID = "6c3b8a74-ae3f-4b2a-9f79-3d4e5f6a7b82"  # app-advanced-chat's workflow_id in _apps.yaml

BLOCKING_KEYS = ["event", "task_id", "id", "message_id", "conversation_id", "mode", "answer", "metadata", "created_at"]
ENVELOPE = ["event", "conversation_id", "message_id", "created_at", "task_id"]
BAD_JSON_MESSAGES = {
    "Invalid JSON payload received or JSON payload is empty.",
    "The browser (or proxy) sent a request that this server could not understand.",
}


def body(query: str = "What is the weather?", user: str = "user-1", **extra):
    return {"inputs": {}, "query": query, "user": user, **extra}


def check_usage(usage: dict) -> None:
    # LLMUsage: the 12 REFERENCE keys, then time_to_first_token and time_to_generate, which 1.16's
    # easy-UI message_end leaves out (exclude_none) and every other body sends.
    assert set(usage) - TIMING_KEYS == USAGE_KEYS
    assert list(usage)[12:] in ([], ["time_to_first_token", "time_to_generate"])
    assert all(usage[key] is None or isinstance(usage[key], float) for key in TIMING_KEYS & set(usage))
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert is_int(usage[key]), (key, usage[key])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    for key in (
        "prompt_unit_price",
        "prompt_price_unit",
        "prompt_price",
        "completion_unit_price",
        "completion_price_unit",
        "completion_price",
        "total_price",
    ):
        assert isinstance(usage[key], str), (key, usage[key])  # decimal strings (§1.6)
        float(usage[key])
    assert isinstance(usage["currency"], str) and usage["currency"]
    assert isinstance(usage["latency"], float)


async def stream(client, parse_sse, key: str, payload: dict, headers: dict | None = None) -> list[dict]:
    resp = await client.post(
        "/v1/chat-messages", json={**payload, "response_mode": "streaming"}, headers=headers or auth(key)
    )
    raw = await resp.read()
    assert resp.status == 200, raw[:300]
    assert resp.headers["Content-Type"] == SSE_CONTENT_TYPE
    assert "Content-Length" not in resp.headers
    return parse_sse(raw)


# --- blocking -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["app-chat", "app-advanced-chat"])
@pytest.mark.parametrize("response_mode", ["blocking", None, "omitted"])
async def test_blocking_reply_shape(client, key, response_mode):
    payload = body("Will it rain in Paris?")
    if response_mode != "omitted":
        payload["response_mode"] = response_mode
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth(key))
    assert resp.status == 200
    assert resp.content_type == "application/json"
    reply = await resp.json()
    assert list(reply) == BLOCKING_KEYS
    assert reply["event"] == "message"
    assert reply["mode"] == CHAT_MODES[key]
    assert reply["answer"] == "You asked: Will it rain in Paris?"
    for field in ("task_id", "id", "message_id", "conversation_id"):
        assert is_uuid4(reply[field]), (field, reply[field])
    assert reply["id"] == reply["message_id"]
    assert reply["task_id"] != reply["message_id"] != reply["conversation_id"]
    assert is_int(reply["created_at"]) and reply["created_at"] > 1_600_000_000
    # The full TaskStateMetadata dump, 1.16 adding reasoning (audit A1, VERSIONS.md V6).
    assert list(reply["metadata"]) == ["annotation_reply", "retriever_resources", "usage", "reasoning"]
    assert reply["metadata"]["annotation_reply"] is None and reply["metadata"]["reasoning"] == {}
    check_usage(reply["metadata"]["usage"])


async def test_blocking_answer_keeps_unicode(client):
    resp = await client.post("/v1/chat-messages", json=body("héllo wörld 🤖 你好"), headers=auth("app-chat"))
    assert resp.status == 200
    assert (await resp.json())["answer"] == "You asked: héllo wörld 🤖 你好"


async def test_each_blocking_call_is_a_new_message(client):
    first = await (await client.post("/v1/chat-messages", json=body(), headers=auth("app-chat"))).json()
    second = await (await client.post("/v1/chat-messages", json=body(), headers=auth("app-chat"))).json()
    assert first["message_id"] != second["message_id"]
    assert first["task_id"] != second["task_id"]
    assert first["conversation_id"] != second["conversation_id"]  # no conversation_id => a new conversation


# --- streaming ------------------------------------------------------------------------------------


def check_chat_envelope(events: list[dict]) -> dict:
    """Every event has the §4.2 envelope, with the same ids throughout; returns the first event."""
    first = events[0]
    for event in events:
        assert list(event)[:5] == ENVELOPE, list(event)
        assert event["event"] != "error", event
        assert event["conversation_id"] == first["conversation_id"]
        assert event["message_id"] == first["message_id"]
        assert event["task_id"] == first["task_id"]
        assert event["created_at"] == first["created_at"]  # the message's time, constant over the stream
    for field in ("conversation_id", "message_id", "task_id"):
        assert is_uuid4(first[field]), (field, first[field])
    assert first["task_id"] != first["message_id"]
    assert is_int(first["created_at"])
    return first


def check_message_end(event: dict, message_id: str) -> None:
    assert event["event"] == "message_end"
    assert event["id"] == message_id
    assert "answer" not in event
    check_usage(event["metadata"]["usage"])
    assert event["files"] == []  # 1.16: a list in every mode (audit B3, VERSIONS.md V7)


QUERY = "How tall is the Eiffel tower today?"
EXPECTED = f"You asked: {QUERY}"


async def test_stream_chat(client, parse_sse):
    events = await stream(client, parse_sse, "app-chat", body(QUERY))
    first = check_chat_envelope(events)
    names = [e["event"] for e in events]
    assert names[-1] == "message_end"
    assert set(names[:-1]) == {"message"} and len(names) >= 3  # several deltas, then the end
    for event in events[:-1]:
        # MessageStreamResponse: from_variable_selector is [] for easy-UI apps at 1.16 (audit B1).
        assert list(event) == [*ENVELOPE, "id", "answer", "from_variable_selector"]
        assert event["from_variable_selector"] == []
        assert event["id"] == first["message_id"]
    assert "".join(e["answer"] for e in events[:-1]) == EXPECTED
    check_message_end(events[-1], first["message_id"])


async def test_stream_agent_chat(client, parse_sse):
    events = await stream(client, parse_sse, "app-agent-chat", body(QUERY))
    first = check_chat_envelope(events)
    names = [e["event"] for e in events]
    assert "message" not in names
    assert names[-1] == "message_end"
    assert set(names[:-1]) <= {"agent_thought", "agent_message", "message_file"}
    assert "agent_message" in names and "agent_thought" in names
    agent_messages = [e for e in events if e["event"] == "agent_message"]
    assert "".join(e["answer"] for e in agent_messages) == EXPECTED
    assert all(e["id"] == first["message_id"] for e in agent_messages)
    for thought in (e for e in events if e["event"] == "agent_thought"):
        assert is_uuid4(thought["id"]) and thought["id"] != first["message_id"]
        assert is_int(thought["position"]) and thought["position"] >= 1
        assert isinstance(thought["thought"], str) and isinstance(thought["observation"], str)
        assert isinstance(thought["tool"], str) and isinstance(thought["tool_input"], str)
        assert isinstance(thought["tool_labels"], dict) and isinstance(thought["message_files"], list)
    check_message_end(events[-1], first["message_id"])


async def test_stream_agent(client, parse_sse):
    events = await stream(client, parse_sse, "app-agent", body(QUERY))
    first = check_chat_envelope(events)
    names = [e["event"] for e in events]
    assert names[-2:] == ["message", "message_end"]
    assert names.count("message") == 1  # one closing message, never deltas
    assert set(names[:-2]) <= {"agent_thought", "agent_message", "message_file"}
    assert "agent_message" in names
    assert "".join(e["answer"] for e in events if e["event"] == "agent_message") == EXPECTED
    closing = events[-2]
    assert closing["answer"] == EXPECTED and closing["id"] == first["message_id"]
    check_message_end(events[-1], first["message_id"])
    # The New Agent streams through the easy-UI pipeline: message_end metadata dumped with
    # exclude_none, so retriever_resources ([] by default) stays and annotation_reply goes
    # (task_entities.py TaskStateMetadata; easy_ui_based_generate_task_pipeline.py :526, dify 1.16.1).
    assert list(events[-1]["metadata"]) == ["retriever_resources", "usage", "reasoning"]


async def test_stream_advanced_chat(client, parse_sse):
    events = await stream(client, parse_sse, "app-advanced-chat", body(QUERY))
    first = check_chat_envelope(events)
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started"
    assert names[-2:] == ["message_end", "workflow_finished"]
    assert "text_chunk" not in names  # chatflow streams its text as `message`
    middle = set(names[1:-2])
    assert "message" in middle and {"node_started", "node_finished"} <= middle
    assert middle <= {"message", "node_started", "node_finished", "node_retry", "reasoning_chunk", "message_file"}
    assert "".join(e["answer"] for e in events if e["event"] == "message") == EXPECTED
    assert all(e["id"] == first["message_id"] for e in events if e["event"] == "message")
    check_message_end(events[-2], first["message_id"])

    workflow_events = [e for e in events if e["event"].startswith(("workflow_", "node_"))]
    run_id = workflow_events[0]["workflow_run_id"]
    assert is_uuid4(run_id)
    for event in workflow_events:
        assert event["workflow_run_id"] == run_id
        assert isinstance(event["data"], dict)
    started, finished = events[0], events[-1]
    assert started["data"]["id"] == run_id and started["data"]["workflow_id"] == CHATFLOW_WORKFLOW_ID
    assert finished["data"]["id"] == run_id and finished["data"]["workflow_id"] == CHATFLOW_WORKFLOW_ID
    assert finished["data"]["status"] == "succeeded"
    started_ids = [e["data"]["id"] for e in events if e["event"] == "node_started"]
    finished_ids = [e["data"]["id"] for e in events if e["event"] == "node_finished"]
    assert started_ids == finished_ids and len(set(started_ids)) == len(started_ids)


@pytest.mark.parametrize("key", ["app-chat", "app-agent-chat", "app-agent", "app-advanced-chat"])
async def test_every_stream_event_has_task_id(client, parse_sse, key):
    events = await stream(client, parse_sse, key, body("one two"))
    assert events
    assert all(is_uuid4(e.get("task_id")) for e in events)
    assert len({e["task_id"] for e in events}) == 1


# --- mode-specific response_mode rules ------------------------------------------------------------


@pytest.mark.parametrize("response_mode", ["blocking", None, "omitted"])
async def test_agent_chat_rejects_blocking_including_the_default(client, expect_error, response_mode):
    # agent_chat/app_generator.py raises the ValueError for any non-streaming call
    # (dify 1.16.1 07119e3f api/core/app/apps/agent_chat/app_generator.py:93-94).
    payload = body()
    if response_mode != "omitted":
        payload["response_mode"] = response_mode
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth("app-agent-chat"))
    await expect_error(resp, 400, "invalid_param", "Agent Chat App does not support blocking mode")


async def test_agent_rejects_only_an_explicit_blocking(client, expect_error):
    # _resolve_agent_app_streaming (dify 1.16.1 api/controllers/service_api/app/completion.py:60-66).
    resp = await client.post("/v1/chat-messages", json=body(response_mode="blocking"), headers=auth("app-agent"))
    await expect_error(resp, 400, "bad_request", "Agent App only supports streaming response mode.")


@pytest.mark.parametrize("response_mode", [None, "omitted"])
async def test_agent_streams_when_response_mode_is_omitted_or_null(client, parse_sse, response_mode):
    # Audit G1: "When omitted, non-Agent apps run in blocking mode and new Agent apps stream."
    # (dify 1.16.1 completion.py:116-122).
    payload = body()
    if response_mode != "omitted":
        payload["response_mode"] = response_mode
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth("app-agent"))
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    events = parse_sse(await resp.read())
    assert events[-1]["event"] == "message_end"
    assert [e["event"] for e in events if e["event"] == "message"] == ["message"]


# --- request validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(CHAT_MODES))
@pytest.mark.parametrize("user", ["missing", "", None], ids=["missing", "empty", "null"])
async def test_user_is_required(client, expect_error, key, user):
    payload = body(response_mode="streaming")
    if user == "missing":
        del payload["user"]
    else:
        payload["user"] = user
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth(key))
    await expect_error(resp, 400, "invalid_param", USER_REQUIRED)


@pytest.mark.parametrize("response_mode", ["blocking", "streaming"])
async def test_query_is_required(client, expect_error, response_mode):
    payload = body(response_mode=response_mode)
    del payload["query"]
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth("app-chat"))
    error = await expect_error(resp, 400, "invalid_param")
    assert "query" in error["message"]


@pytest.mark.parametrize(
    "inputs", [[], "city=Paris", 5, None, "missing"], ids=["list", "str", "int", "null", "missing"]
)
async def test_inputs_must_be_an_object(client, expect_error, inputs):
    payload = body()
    if inputs == "missing":
        del payload["inputs"]
    else:
        payload["inputs"] = inputs
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth("app-chat"))
    error = await expect_error(resp, 400, "invalid_param")
    assert "inputs" in error["message"]


@pytest.mark.parametrize("response_mode", ["fast", "stream", "Blocking", ""])
async def test_unknown_response_mode(client, expect_error, response_mode):
    resp = await client.post("/v1/chat-messages", json=body(response_mode=response_mode), headers=auth("app-chat"))
    error = await expect_error(resp, 400, "invalid_param")
    assert "response_mode" in error["message"]


@pytest.mark.parametrize("conversation_id", ["abc", "conv-456", "45701982-8118-4bc5-8e9b", "not a uuid at all"])
async def test_conversation_id_must_be_a_uuid(client, expect_error, conversation_id):
    # The pydantic before-validator's ValueError, wrapped as pydantic wraps it (audit F2).
    resp = await client.post("/v1/chat-messages", json=body(conversation_id=conversation_id), headers=auth("app-chat"))
    message = (await expect_error(resp, 400, "invalid_param"))["message"]
    assert message.startswith(
        f"1 validation error for ChatRequestPayload\nconversation_id\n  Value error, conversation_id must be a "
        f"valid UUID [type=value_error, input_value={conversation_id!r}, input_type=str]"
    )


@pytest.mark.parametrize(
    "raw", [b"{bad", b"", b'{"inputs": {}, "query": "hi",', b"[1, 2"], ids=["brace", "empty", "cut", "list"]
)
async def test_malformed_json(client, expect_error, raw):
    headers = auth("app-chat", **{"Content-Type": "application/json"})
    resp = await client.post("/v1/chat-messages", data=raw, headers=headers)
    error = await expect_error(resp, 400, "bad_request")
    assert error["message"] in BAD_JSON_MESSAGES


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_wrong_content_type(client, expect_error, content_type):
    resp = await client.post(
        "/v1/chat-messages",
        data=b'{"inputs": {}, "query": "hi", "user": "u1"}',
        headers=auth("app-chat", **{"Content-Type": content_type}),
    )
    await expect_error(
        resp,
        415,
        "unsupported_media_type",
        "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
    )


@pytest.mark.parametrize("key", ["app-completion", "app-workflow"])
@pytest.mark.parametrize("response_mode", ["blocking", "streaming"])
async def test_chat_on_a_non_chat_app(client, expect_error, key, response_mode):
    resp = await client.post("/v1/chat-messages", json=body(response_mode=response_mode), headers=auth(key))
    await expect_error(resp, 400, "not_chat_app", MODE_MISMATCH)


async def test_user_is_checked_before_the_mode_guard(client, expect_error):
    # §1.4: user (step 4) before the mode guard (step 5) before body validation (step 6).
    resp = await client.post("/v1/chat-messages", json={"inputs": {}, "query": "hi"}, headers=auth("app-completion"))
    await expect_error(resp, 400, "invalid_param", USER_REQUIRED)
    resp = await client.post("/v1/chat-messages", json={"user": "u1"}, headers=auth("app-workflow"))
    await expect_error(resp, 400, "not_chat_app", MODE_MISMATCH)


# --- conversations --------------------------------------------------------------------------------


async def test_conversation_continuity(client, parse_sse):
    first = await (await client.post("/v1/chat-messages", json=body("first"), headers=auth("app-chat"))).json()
    cid = first["conversation_id"]

    resp = await client.post("/v1/chat-messages", json=body("second", conversation_id=cid), headers=auth("app-chat"))
    assert resp.status == 200
    second = await resp.json()
    assert second["conversation_id"] == cid
    assert second["message_id"] != first["message_id"]
    assert second["answer"] == "You asked: second"

    # Streaming continues the same conversation too; surrounding whitespace is stripped (§3.1).
    events = await stream(client, parse_sse, "app-chat", body("third", conversation_id=f"  {cid} "))
    assert {e["conversation_id"] for e in events} == {cid}
    assert events[0]["message_id"] not in (first["message_id"], second["message_id"])


async def test_conversation_started_by_a_stream_can_be_continued(client, parse_sse):
    events = await stream(client, parse_sse, "app-agent-chat", body("first"))
    cid = events[0]["conversation_id"]
    again = await stream(client, parse_sse, "app-agent-chat", body("second", conversation_id=cid))
    assert {e["conversation_id"] for e in again} == {cid}


@pytest.mark.parametrize("blank", ["", "   ", None])
async def test_blank_conversation_id_starts_a_new_conversation(client, blank):
    first = await (await client.post("/v1/chat-messages", json=body(), headers=auth("app-chat"))).json()
    resp = await client.post("/v1/chat-messages", json=body(conversation_id=blank), headers=auth("app-chat"))
    assert resp.status == 200
    reply = await resp.json()
    assert is_uuid4(reply["conversation_id"]) and reply["conversation_id"] != first["conversation_id"]


async def test_another_users_conversation_does_not_exist(client, expect_error):
    first = await (await client.post("/v1/chat-messages", json=body(user="alice"), headers=auth("app-chat"))).json()
    cid = first["conversation_id"]
    resp = await client.post("/v1/chat-messages", json=body(user="bob", conversation_id=cid), headers=auth("app-chat"))
    await expect_error(resp, 404, "not_found", CONVERSATION_NOT_EXISTS)
    # ... and bob's failed attempt did not take it over: alice can still continue it.
    resp = await client.post(
        "/v1/chat-messages", json=body(user="alice", conversation_id=cid), headers=auth("app-chat")
    )
    assert resp.status == 200 and (await resp.json())["conversation_id"] == cid


@pytest.mark.parametrize("response_mode", ["blocking", "streaming"])
async def test_unknown_conversation(client, expect_error, response_mode):
    payload = body(conversation_id="11111111-2222-4333-8444-555555555555", response_mode=response_mode)
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth("app-chat"))
    await expect_error(resp, 404, "not_found", CONVERSATION_NOT_EXISTS)


async def test_conversation_belongs_to_its_app(client, expect_error):
    # Same tenant (one X-Mock-Session), two apps: a conversation of one is unknown to the other.
    headers = auth("app-chat", **{"X-Mock-Session": "conv-scope"})
    cid = (await (await client.post("/v1/chat-messages", json=body(), headers=headers)).json())["conversation_id"]
    other = auth("app-advanced-chat", **{"X-Mock-Session": "conv-scope"})
    resp = await client.post("/v1/chat-messages", json=body(conversation_id=cid), headers=other)
    await expect_error(resp, 404, "not_found", CONVERSATION_NOT_EXISTS)


# --- input form (app-chat declares text-input `city`, max_length 48, optional) ---------------------


@pytest.mark.parametrize("response_mode", ["blocking", "streaming"])
async def test_city_too_long(client, expect_error, response_mode):
    payload = body(response_mode=response_mode)
    payload["inputs"] = {"city": "x" * 49}
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth("app-chat"))
    await expect_error(resp, 400, "invalid_param", "city in input form must be less than 48 characters")


@pytest.mark.parametrize("city", [5, 3.5, True, ["Paris"], {"name": "Paris"}])
async def test_city_must_be_a_string(client, expect_error, city):
    payload = body()
    payload["inputs"] = {"city": city}
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth("app-chat"))
    await expect_error(resp, 400, "invalid_param", "(type 'text-input') city in input form must be a string")


@pytest.mark.parametrize(
    "inputs",
    [{"city": "x" * 48}, {"city": "Paris"}, {"city": None}, {}, {"undeclared": 123}],
    ids=["max-length", "short", "null", "absent", "undeclared-key"],
)
async def test_valid_inputs(client, inputs):
    payload = body()
    payload["inputs"] = inputs
    resp = await client.post("/v1/chat-messages", json=payload, headers=auth("app-chat"))
    assert resp.status == 200
    assert (await resp.json())["answer"] == "You asked: What is the weather?"


async def test_a_forced_scenario_never_bypasses_difys_rules(client):
    # X-Mock-Scenario picks the scenario, but the mode rules in code still run first.
    headers = auth("app-agent-chat", **{"X-Mock-Scenario": "default"})
    resp = await client.post("/v1/chat-messages", json=body(), headers=headers)
    assert resp.status == 400
    assert (await resp.json())["message"] == "Agent Chat App does not support blocking mode"
    resp = await client.post(
        "/v1/chat-messages", json=body(user=""), headers=auth("app-chat", **{"X-Mock-Scenario": "default"})
    )
    assert resp.status == 400 and (await resp.json())["message"] == USER_REQUIRED


async def test_a_forced_scenario_is_served_and_stays_complete(client, parse_sse):
    # The chatflow scenario forced onto a plain chat app: its workflow events still carry a run id.
    headers = auth("app-chat", **{"X-Mock-Scenario": "chatflow"})
    resp = await client.post("/v1/chat-messages", json=body(response_mode="streaming"), headers=headers)
    assert resp.status == 200
    events = parse_sse(await resp.read())
    assert events[0]["event"] == "workflow_started"
    run_ids = {e["workflow_run_id"] for e in events if "workflow_run_id" in e}
    assert len(run_ids) == 1 and is_uuid4(run_ids.pop())
