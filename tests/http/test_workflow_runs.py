"""Workflow runs as Dify stores them: the run detail, the logs and the events route (REFERENCE §9.1-§9.3;
research/workflow_runs.md)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

UNKNOWN = "0b0e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
DETAIL_KEYS = [
    "id",
    "workflow_id",
    "status",
    "inputs",
    "outputs",
    "error",
    "total_steps",
    "total_tokens",
    "created_at",
    "finished_at",
    "elapsed_time",
]
RUN_KEYS = [
    "id",
    "version",
    "status",
    "triggered_from",
    "error",
    "elapsed_time",
    "total_tokens",
    "total_steps",
    "created_at",
    "finished_at",
    "exceptions_count",
]
WORDS = " ".join(f"w{i}" for i in range(40))


def auth(key: str = "app-workflow") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Mock-Session": "runs"}


async def run(client: Any, query: str = "two words", user: str = "u1", **headers: str) -> dict[str, Any]:
    body = {"inputs": {"query": query}, "user": user, "response_mode": "blocking"}
    resp = await client.post("/v1/workflows/run", json=body, headers={**auth(), **headers})
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_a_run_reads_back_as_dify_stored_it(client):
    made = await run(client, query="héllo")
    resp = await client.get(f"/v1/workflows/run/{made['workflow_run_id']}", headers=auth())
    assert resp.status == 200
    detail = await resp.json()
    assert list(detail) == DETAIL_KEYS
    data = made["data"]
    for key in (
        "id",
        "workflow_id",
        "status",
        "outputs",
        "error",
        "total_steps",
        "total_tokens",
        "created_at",
        "finished_at",
    ):
        assert detail[key] == data[key], key
    assert detail["status"] == "succeeded" and isinstance(detail["outputs"], dict)
    # The stored inputs are json.dumps' text of the run's inputs, sys.* included, non-ASCII escaped.
    assert isinstance(detail["inputs"], str) and '"query": "h\\u00e9llo"' in detail["inputs"]
    assert json.loads(detail["inputs"])["sys.user_id"] == "u1"


async def test_unknown_runs_and_1_12s_quirks(client, make_client, expect_error):
    resp = await client.get(f"/v1/workflows/run/{UNKNOWN}", headers=auth())
    await expect_error(resp, 404, "not_found", "Workflow run not found.")
    old = await make_client(dify_version="1.12")
    resp = await old.get(f"/v1/workflows/run/{UNKNOWN}", headers=auth())
    assert resp.status == 200 and await resp.json() == dict.fromkeys(DETAIL_KEYS)
    made = await run(old)
    detail = await (await old.get(f"/v1/workflows/run/{made['workflow_run_id']}", headers=auth())).json()
    assert isinstance(detail["outputs"], str) and json.loads(detail["outputs"]) == made["data"]["outputs"]
    resp = await client.get(f"/v1/workflows/run/{UNKNOWN}", headers=auth("app-chat"))
    await expect_error(resp, 400, "not_workflow_app")


async def test_a_chatflow_turn_is_a_run_but_not_a_log(client):
    body = {"inputs": {}, "query": "hi", "user": "u1", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-advanced-chat"))
    raw = await resp.read()
    run_id = json.loads(raw.split(b"data: ", 1)[1].split(b"\n", 1)[0])["workflow_run_id"]
    detail = await (await client.get(f"/v1/workflows/run/{run_id}", headers=auth("app-advanced-chat"))).json()
    assert detail["id"] == run_id and detail["status"] == "succeeded"
    logs = await (await client.get("/v1/workflows/logs", headers=auth("app-advanced-chat"))).json()
    assert logs == {"page": 1, "limit": 20, "total": 0, "has_more": False, "data": []}


async def test_the_logs_list_runs_newest_first_with_filters(client):
    made = [await run(client, query=q, user=u) for q, u in (("alpha", "u1"), ("beta", "u2"), ("gamma", "u1"))]
    logs = await (await client.get("/v1/workflows/logs", headers=auth())).json()
    assert list(logs) == ["page", "limit", "total", "has_more", "data"]
    assert [item["workflow_run"]["id"] for item in logs["data"]] == [m["workflow_run_id"] for m in reversed(made)]
    item = logs["data"][0]
    assert list(item) == [
        "id",
        "workflow_run",
        "details",
        "created_from",
        "created_by_role",
        "created_by_account",
        "created_by_end_user",
        "created_at",
    ]
    assert list(item["workflow_run"]) == RUN_KEYS
    assert (item["details"], item["created_from"], item["created_by_role"], item["created_by_account"]) == (
        None,
        "service-api",
        "end_user",
        None,
    )
    assert item["created_by_end_user"]["session_id"] == "u1" and item["created_by_end_user"]["is_anonymous"] is False
    assert item["id"] != item["workflow_run"]["id"]  # the log row's own id

    async def ids(**params: str) -> list[str]:
        body = await (await client.get("/v1/workflows/logs", params=params, headers=auth())).json()
        return [i["workflow_run"]["id"] for i in body["data"]]

    assert await ids(keyword="BETA") == [made[1]["workflow_run_id"]]
    assert await ids(keyword=made[0]["workflow_run_id"]) == [made[0]["workflow_run_id"]]
    assert await ids(created_by_end_user_session_id="u2") == [made[1]["workflow_run_id"]]
    assert await ids(status="failed") == []
    page = await (await client.get("/v1/workflows/logs", params={"limit": "2"}, headers=auth())).json()
    assert (page["total"], page["has_more"], len(page["data"])) == (3, True, 2)
    last = await (await client.get("/v1/workflows/logs", params={"limit": "2", "page": "2"}, headers=auth())).json()
    assert (last["has_more"], len(last["data"])) == (False, 1)
    assert await ids(created_at__before="2000-01-01") == []
    assert len(await ids(created_at__after="2000-01-01T00:00:00Z")) == 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"created_at__before": "abc"}, "ISO string too short"),
        ({"created_at__after": "2024-13-01"}, "month must be in 1..12"),
        ({"created_by_account": "nobody@example.com"}, "Account not found: nobody@example.com"),
        (
            {"status": "running"},
            "1 validation error for WorkflowLogQuery\nstatus\n  Input should be 'succeeded', 'failed' or 'stopped' "
            "[type=literal_error, input_value='running', input_type=str]\n"
            "    For further information visit https://errors.pydantic.dev/2.12/v/literal_error",
        ),
    ],
)
async def test_log_filter_errors(client, expect_error, params, message):
    resp = await client.get("/v1/workflows/logs", params=params, headers=auth())
    await expect_error(resp, 400, "invalid_param", message)


async def test_a_known_account_has_no_service_api_runs(client):
    await run(client)
    body = await (
        await client.get("/v1/workflows/logs", params={"created_by_account": "admin@example.com"}, headers=auth())
    ).json()
    assert body["data"] == [] and body["total"] == 0


async def test_a_failed_stream_fails_the_run_as_the_client_saw_it(client):
    body = {"inputs": {"query": "x"}, "user": "u1", "response_mode": "streaming"}
    headers = {**auth(), "X-Mock-Fault": "stream_error;after=1;message=boom"}
    raw = await (await client.post("/v1/workflows/run", json=body, headers=headers)).read()
    frames = [json.loads(f[len(b"data: ") :]) for f in raw.split(b"\n\n") if f.startswith(b"data: ")]
    finished = next(f["data"] for f in reversed(frames) if f["event"] == "workflow_finished")
    detail = await (await client.get(f"/v1/workflows/run/{frames[0]['workflow_run_id']}", headers=auth())).json()
    assert (detail["status"], detail["error"]) == ("failed", "boom")
    # What the stream said when it failed, not what the run would have produced.
    for key in ("outputs", "total_steps", "total_tokens", "finished_at", "elapsed_time"):
        assert detail[key] == finished[key], key


async def stream_until_text(client: Any, read_event: Any) -> dict[str, Any]:
    body = {"inputs": {"query": WORDS}, "user": "u1", "response_mode": "streaming"}
    resp = await client.post("/v1/workflows/run", json=body, headers=auth())
    event = await read_event(resp)
    while event is not None and event["event"] != "text_chunk":
        event = await read_event(resp)
    assert event is not None
    return {"resp": resp, "event": event}


@pytest.mark.parametrize(
    ("version", "status", "error"), [("1.16", "stopped", "Aborted: User requested stop"), ("1.14", "running", None)]
)
async def test_a_stopped_run_per_release(make_client, read_event, version, status, error):
    client = await make_client(pace_scale=1.0, dify_version=version)
    started = await stream_until_text(client, read_event)
    resp, first = started["resp"], started["event"]
    midway = await (await client.get(f"/v1/workflows/run/{first['workflow_run_id']}", headers=auth())).json()
    assert (midway["status"], midway["finished_at"], midway["outputs"]) == ("running", None, {})  # not yet ended
    stop = await client.post(f"/v1/workflows/tasks/{first['task_id']}/stop", json={"user": "u1"}, headers=auth())
    assert stop.status == 200
    last = None
    while (event := await read_event(resp)) is not None:
        last = event
    detail = await (await client.get(f"/v1/workflows/run/{first['workflow_run_id']}", headers=auth())).json()
    assert (detail["status"], detail["error"]) == (status, error)
    if status == "running":  # the row never got its ending: nothing finished, nothing counted
        assert (detail["finished_at"], detail["elapsed_time"], detail["total_steps"]) == (None, 0.0, 0)
    else:
        assert last is not None and last["event"] == "workflow_finished"
        for key in ("outputs", "total_steps", "total_tokens", "finished_at"):
            assert detail[key] == last["data"][key], key


async def test_the_events_of_a_finished_run(client, make_client, expect_error):
    made = await run(client)
    run_id = made["workflow_run_id"]
    resp = await client.get(f"/v1/workflow/{run_id}/events", params={"user": "u1"}, headers=auth())
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    raw = await resp.read()
    assert re.fullmatch(rb'data: \{"event": "workflow_finished", .*\}\n\n', raw, re.S)  # json.dumps: spaced
    frame = json.loads(raw[len(b"data: ") :])
    assert (frame["task_id"], frame["workflow_run_id"], frame["data"]["id"]) == (run_id, run_id, run_id)
    assert frame["data"]["created_by"]["user"] == "u1" and frame["data"]["status"] == "succeeded"
    for user, wanted in (("u2", run_id), ("u1", UNKNOWN)):
        resp = await client.get(f"/v1/workflow/{wanted}/events", params={"user": user}, headers=auth())
        await expect_error(resp, 404, "not_found", "Workflow run not found")
    old = await make_client(dify_version="1.12")
    resp = await old.get(f"/v1/workflow/{run_id}/events", params={"user": "u1"}, headers=auth())
    assert resp.status == 404 and resp.content_type == "text/html"
