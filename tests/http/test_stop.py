"""Stop endpoints (REFERENCE §3.5, §2.2): answers, guards, and their effect on a running stream."""

from __future__ import annotations

import time

import pytest
from dify_facts import MODE_MISMATCH, USER_REQUIRED, auth

UNKNOWN_TASK = "0b4f0d39-5c1e-4a63-9a4e-2f1d3c4b5a69"

CHAT_STOP = "/v1/chat-messages/{task_id}/stop"
COMPLETION_STOP = "/v1/completion-messages/{task_id}/stop"
WORKFLOW_STOP = "/v1/workflows/tasks/{task_id}/stop"

# Long enough that an unstopped paced stream runs for well over a second (~40 ms per word).
WORDS = " ".join(f"w{i}" for i in range(40))
FULL_REPLY = f"You asked: {WORDS}"
STOPPED_WITHIN_S = 0.6


# --- the endpoints themselves (pace_scale 0) ------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "template"),
    [
        ("app-chat", CHAT_STOP),
        ("app-advanced-chat", CHAT_STOP),
        ("app-agent-chat", CHAT_STOP),
        ("app-agent", CHAT_STOP),
        ("app-completion", COMPLETION_STOP),
        ("app-workflow", WORKFLOW_STOP),
    ],
)
@pytest.mark.parametrize("task_id", [UNKNOWN_TASK, "not-even-a-uuid"])
async def test_stop_unknown_task_succeeds(client, key, template, task_id):
    resp = await client.post(template.format(task_id=task_id), json={"user": "user-1"}, headers=auth(key))
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == {"result": "success"}


@pytest.mark.parametrize(
    ("key", "template"),
    [
        ("app-chat", CHAT_STOP),
        ("app-agent", CHAT_STOP),
        ("app-completion", COMPLETION_STOP),
        ("app-workflow", WORKFLOW_STOP),
    ],
)
@pytest.mark.parametrize("payload", [{}, {"user": ""}, {"user": None}], ids=["missing", "empty", "null"])
async def test_stop_requires_user(client, expect_error, key, template, payload):
    resp = await client.post(template.format(task_id=UNKNOWN_TASK), json=payload, headers=auth(key))
    await expect_error(resp, 400, "invalid_param", USER_REQUIRED)


@pytest.mark.parametrize(
    ("key", "template", "code", "message"),
    [
        ("app-completion", CHAT_STOP, "not_chat_app", MODE_MISMATCH),
        ("app-workflow", CHAT_STOP, "not_chat_app", MODE_MISMATCH),
        ("app-chat", COMPLETION_STOP, "app_unavailable", "App unavailable, please check your app configurations."),
        ("app-workflow", COMPLETION_STOP, "app_unavailable", "App unavailable, please check your app configurations."),
        (
            "app-agent-chat",
            COMPLETION_STOP,
            "app_unavailable",
            "App unavailable, please check your app configurations.",
        ),
        ("app-chat", WORKFLOW_STOP, "not_workflow_app", MODE_MISMATCH),
        ("app-advanced-chat", WORKFLOW_STOP, "not_workflow_app", MODE_MISMATCH),
        ("app-completion", WORKFLOW_STOP, "not_workflow_app", MODE_MISMATCH),
    ],
)
async def test_stop_on_the_wrong_mode(client, expect_error, key, template, code, message):
    resp = await client.post(template.format(task_id=UNKNOWN_TASK), json={"user": "user-1"}, headers=auth(key))
    await expect_error(resp, 400, code, message)


async def test_stop_needs_a_key(client, expect_error):
    resp = await client.post(CHAT_STOP.format(task_id=UNKNOWN_TASK), json={"user": "user-1"})
    await expect_error(resp, 401, "unauthorized", "Authorization header must be provided and start with 'Bearer'")


# --- stopping a running stream (pace_scale 1) -----------------------------------------------------


async def start_stream(client, key: str, path: str, payload: dict):
    resp = await client.post(path, json={**payload, "response_mode": "streaming"}, headers=auth(key))
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    return resp


async def read_until(resp, read_event, names: set[str]) -> list[dict]:
    """Events up to and including the first whose name is in `names`."""
    events: list[dict] = []
    while True:
        event = await read_event(resp)
        assert event is not None, f"stream ended before any of {names}: {[e['event'] for e in events]}"
        events.append(event)
        if event["event"] in names:
            return events


async def read_rest(resp, read_event) -> list[dict]:
    events: list[dict] = []
    while (event := await read_event(resp)) is not None:
        events.append(event)
    return events


async def stop(client, key: str, template: str, task_id: str, user: str) -> None:
    resp = await client.post(template.format(task_id=task_id), json={"user": user}, headers=auth(key))
    assert resp.status == 200
    assert await resp.json() == {"result": "success"}


@pytest.mark.parametrize(
    ("key", "delta_event"),
    [("app-chat", "message"), ("app-agent-chat", "agent_message")],
)
async def test_stop_ends_a_chat_stream_with_message_end(make_client, read_event, key, delta_event):
    client = await make_client(pace_scale=1.0)
    payload = {"inputs": {}, "query": WORDS, "user": "user-1"}
    resp = await start_stream(client, key, "/v1/chat-messages", payload)
    before = await read_until(resp, read_event, {delta_event})
    task_id = before[-1]["task_id"]

    t_stop = time.monotonic()
    await stop(client, key, CHAT_STOP, task_id, "user-1")
    after = await read_rest(resp, read_event)
    elapsed = time.monotonic() - t_stop

    events = before + after
    names = [e["event"] for e in events]
    assert names[-1] == "message_end"
    assert names.count("message_end") == 1
    assert elapsed < STOPPED_WITHIN_S, f"stream took {elapsed:.2f}s to end after the stop"
    answer = "".join(e["answer"] for e in events if e["event"] == delta_event)
    assert FULL_REPLY.startswith(answer) and len(answer) < len(FULL_REPLY)
    assert {e["task_id"] for e in events} == {task_id}
    assert "answer" not in events[-1]


async def test_stop_ends_a_completion_stream_with_message_end(make_client, read_event):
    client = await make_client(pace_scale=1.0)
    payload = {"inputs": {"topic": WORDS}, "user": "user-1"}
    resp = await start_stream(client, "app-completion", "/v1/completion-messages", payload)
    before = await read_until(resp, read_event, {"message"})

    t_stop = time.monotonic()
    await stop(client, "app-completion", COMPLETION_STOP, before[-1]["task_id"], "user-1")
    after = await read_rest(resp, read_event)
    elapsed = time.monotonic() - t_stop

    events = before + after
    assert events[-1]["event"] == "message_end"
    assert elapsed < STOPPED_WITHIN_S, f"stream took {elapsed:.2f}s to end after the stop"
    answer = "".join(e["answer"] for e in events if e["event"] == "message")
    full = f"Here is a short text about {WORDS}."
    assert full.startswith(answer) and len(answer) < len(full)


@pytest.mark.parametrize("stopper", ["user-1", "someone-else"])
async def test_stop_ends_a_workflow_stream_stopped(make_client, read_event, stopper):
    # The workflow stop is not user-checked (§3.5): any user of the app can stop the task.
    client = await make_client(pace_scale=1.0)
    payload = {"inputs": {"query": WORDS}, "user": "user-1"}
    resp = await start_stream(client, "app-workflow", "/v1/workflows/run", payload)
    before = await read_until(resp, read_event, {"text_chunk"})
    task_id = before[-1]["task_id"]

    t_stop = time.monotonic()
    await stop(client, "app-workflow", WORKFLOW_STOP, task_id, stopper)
    after = await read_rest(resp, read_event)
    elapsed = time.monotonic() - t_stop

    events = before + after
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started"
    assert names[-1] == "workflow_finished"
    assert names.count("workflow_finished") == 1
    assert events[-1]["data"]["status"] == "stopped"
    assert events[-1]["data"]["id"] == events[0]["workflow_run_id"]
    assert elapsed < STOPPED_WITHIN_S, f"stream took {elapsed:.2f}s to end after the stop"
    text = "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk")
    assert f"Processed: {WORDS}".startswith(text) and len(text) < len(f"Processed: {WORDS}")
    assert {e["task_id"] for e in events} == {task_id}


async def stop_chatflow(
    make_client, read_event, stop_after: str, version: str = "1.16", stopper: str = "user-1"
) -> tuple[list[dict], float, str]:
    client = await make_client(pace_scale=1.0, dify_version=version)
    payload = {"inputs": {}, "query": WORDS, "user": "user-1"}
    resp = await start_stream(client, "app-advanced-chat", "/v1/chat-messages", payload)
    before = await read_until(resp, read_event, {stop_after})
    task_id = before[-1]["task_id"]

    t_stop = time.monotonic()
    await stop(client, "app-advanced-chat", CHAT_STOP, task_id, stopper)
    after = await read_rest(resp, read_event)
    return before + after, time.monotonic() - t_stop, task_id


@pytest.mark.parametrize("stop_after", ["node_started", "message"])
async def test_stop_ends_a_chatflow_stream(make_client, read_event, stop_after):
    # 1.16 relays the run from a worker and the relay ends at workflow_finished, so the message_end
    # the pipeline sends after a stop never arrives (streaming_utils.py :56-63; VERSIONS.md V3).
    events, elapsed, task_id = await stop_chatflow(make_client, read_event, stop_after)
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started"
    assert names[-1] == "workflow_finished" and "message_end" not in names
    finished = events[-1]
    assert finished["data"]["status"] == "stopped"
    # graphon 0.7 aborts the run on the stop command: its reason becomes the error
    # (workflow_app_runner.py :428-434, graph_engine/domain/graph_execution.py).
    assert finished["data"]["error"] == "Aborted: User requested stop"
    assert finished["data"]["outputs"] == {}  # the run's outputs so far: no end node finished (audit D2)
    assert elapsed < STOPPED_WITHIN_S, f"stream took {elapsed:.2f}s to end after the stop"
    answer = "".join(e["answer"] for e in events if e["event"] == "message")
    assert FULL_REPLY.startswith(answer) and len(answer) < len(FULL_REPLY)
    assert {e["task_id"] for e in events} == {task_id}


@pytest.mark.parametrize("stop_after", ["node_started", "message"])
async def test_a_stopped_chatflow_on_1_12_ends_workflow_finished_then_message_end(make_client, read_event, stop_after):
    # 1.12 runs in the request: the advanced-chat pipeline's _handle_stop_event finishes the run
    # (stopped, the listener's "Stopped by user.") and then saves the message
    # (advanced_chat/generate_task_pipeline.py, dify 1.12.0 :558-595; queue_entities.py :478).
    events, _, _ = await stop_chatflow(make_client, read_event, stop_after, version="1.12")
    assert [e["event"] for e in events][-2:] == ["workflow_finished", "message_end"]
    assert events[-2]["data"]["status"] == "stopped"
    assert events[-2]["data"]["error"] == "Stopped by user."


@pytest.mark.parametrize(("version", "status"), [("1.12", "failed"), ("1.14", "failed"), ("1.16", "stopped")])
async def test_another_user_stops_a_chatflow_through_the_graph_engine(make_client, read_event, version, status):
    # stop_task's user-checked flag does nothing for a stranger, but the graph engine's stop command
    # checks no user (services/app_task_service.py :40-46). Before graphon 0.7 the runner reports that
    # abort as a failed run (workflow_app_runner.py 1.14.2 :415-416; audit D4).
    events, _, _ = await stop_chatflow(make_client, read_event, "message", version=version, stopper="someone-else")
    finished = next(e for e in events if e["event"] == "workflow_finished")
    assert (finished["data"]["status"], finished["data"]["error"]) == (status, "Aborted: User requested stop")
    names = [e["event"] for e in events]
    if version == "1.12":  # unrelayed: the chatflow pipeline's error after the failed run reaches the client
        assert names[-2:] == ["workflow_finished", "error"]
        assert events[-1]["message"] == "Run failed: Aborted: User requested stop"
    else:
        assert names[-1] == "workflow_finished"


async def test_stop_by_another_user_does_not_stop_a_chat(make_client, read_event):
    client = await make_client(pace_scale=1.0)
    payload = {"inputs": {}, "query": WORDS, "user": "user-1"}
    t_start = time.monotonic()
    resp = await start_stream(client, "app-chat", "/v1/chat-messages", payload)
    before = await read_until(resp, read_event, {"message"})

    t_stop = time.monotonic()
    await stop(client, "app-chat", CHAT_STOP, before[-1]["task_id"], "someone-else")
    after = await read_rest(resp, read_event)
    t_end = time.monotonic()

    events = before + after
    names = [e["event"] for e in events]
    assert names[-1] == "message_end"
    assert set(names[:-1]) == {"message"}
    assert "".join(e["answer"] for e in events[:-1]) == FULL_REPLY
    # It ran its normal course: ~41 deltas 40 ms apart, far longer than a stopped stream takes to end.
    assert t_end - t_stop > 2 * STOPPED_WITHIN_S
    assert t_end - t_start > 1.2


async def test_stop_does_not_leak_into_the_next_stream(make_client, read_event):
    # A stop for a finished (or unknown) task must not cut the caller's next stream short.
    client = await make_client()
    payload = {"inputs": {}, "query": "one two three", "user": "user-1"}
    resp = await start_stream(client, "app-chat", "/v1/chat-messages", payload)
    first = await read_rest(resp, read_event)
    await stop(client, "app-chat", CHAT_STOP, first[0]["task_id"], "user-1")

    resp = await start_stream(client, "app-chat", "/v1/chat-messages", payload)
    second = await read_rest(resp, read_event)
    assert second[-1]["event"] == "message_end"
    assert "".join(e["answer"] for e in second[:-1]) == "You asked: one two three"
