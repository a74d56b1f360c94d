"""Every row of VERSIONS.md (V1-V14) for each emulated release: `--dify-version` 1.12, 1.14, 1.16.

Each test names the Dify source it follows (paths under langgenius/dify api/, at tags 1.12.0, 1.14.2 and
07119e3f = 1.16.1). Where VERSIONS.md and the tagged source disagree, the tests follow the source and
say so."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from dify_facts import auth

RELEASES = ["1.12", "1.14", "1.16"]
SERVER_VERSION = {"1.12": "1.12.0", "1.14": "1.14.2", "1.16": "1.16.1"}
CHAT = {"inputs": {}, "query": "hello there", "user": "u"}
RUN = {"inputs": {"query": "q"}, "user": "u"}


def frames(raw: bytes) -> list[Any]:
    """Each SSE frame: "ping" or the event dict, in order."""
    out: list[Any] = []
    for frame in raw.split(b"\n\n")[:-1]:
        out.append("ping" if frame == b"event: ping" else json.loads(frame[len(b"data: ") :]))
    return out


async def post(client, path: str, body: dict[str, Any], key: str, **headers: str):
    resp = await client.post(path, json=body, headers=auth(key, **headers))
    return resp, await resp.read()


async def stream(client, path: str, body: dict[str, Any], key: str, **headers: str) -> list[Any]:
    resp, raw = await post(client, path, {**body, "response_mode": "streaming"}, key, **headers)
    assert resp.status == 200, raw[:300]
    return frames(raw)


@pytest.fixture(params=RELEASES)
def release(request) -> str:
    return str(request.param)


@pytest.fixture
async def at(make_client, release):
    return await make_client(dify_version=release)


# --- V1 --------------------------------------------------------------------------------------------


async def test_v1_server_version(at, release):
    # controllers/service_api/index.py: dify_config.project.version (api/pyproject.toml).
    resp = await at.get("/v1/")
    assert (await resp.json())["server_version"] == SERVER_VERSION[release]
    assert resp.headers["X-Version"] == SERVER_VERSION[release]


# --- V2, V3: relayed workflow and chatflow streams ---------------------------------------------------


@pytest.mark.parametrize(
    ("key", "path", "body"),
    [("app-workflow", "/v1/workflows/run", RUN), ("app-advanced-chat", "/v1/chat-messages", CHAT)],
)
async def test_v2_a_relayed_run_opens_with_a_ping(at, release, key, path, body):
    # 1.14+: core/app/apps/streaming_utils.py stream_topic_events yields PING before subscribing.
    got = await stream(at, path, body, key)
    if release == "1.12":
        assert got[0] != "ping" and got[0]["event"] == "workflow_started"
    else:
        assert got[0] == "ping" and got[1]["event"] == "workflow_started"


async def test_v2_chat_streams_never_open_with_a_ping(at):
    # Chat, completion and agent streams run in the request at every release: pings only every 10 s.
    got = await stream(at, "/v1/chat-messages", CHAT, "app-chat")
    assert "ping" not in got


async def test_v3_a_chatflow_closes_per_release(at, release):
    # 1.12: workflow_finished, then the queued message_end (advanced_chat/generate_task_pipeline.py
    # 1.12.0 :505-506); 1.14+: message_end first, then workflow_finished, where the relay ends.
    got = [e["event"] for e in await stream(at, "/v1/chat-messages", CHAT, "app-advanced-chat") if e != "ping"]
    expected = ["workflow_finished", "message_end"] if release == "1.12" else ["message_end", "workflow_finished"]
    assert got[-2:] == expected


# --- V4: a refusal found in the worker --------------------------------------------------------------


LONG_QUERY = {"inputs": {"query": "x" * 300}, "user": "u"}  # app-workflow's form allows 256 characters
FORM_ERROR = "query in input form must be less than 256 characters"


async def test_v4_an_input_form_error_on_a_streaming_run(at, release):
    resp, raw = await post(at, "/v1/workflows/run", {**LONG_QUERY, "response_mode": "streaming"}, "app-workflow")
    if release == "1.12":  # synchronous: an HTTP error before any stream
        assert resp.status == 400 and json.loads(raw) == {"code": "invalid_param", "message": FORM_ERROR, "status": 400}
        return
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    got = frames(raw)
    if release == "1.14":
        # tasks/app_generate/workflow_execute_task.py 1.14.2 :145-175 publishes nothing: the relay's
        # ping, then silence until its idle close.
        assert got == ["ping"]
        return
    # 1.16.1 workflow_execute_task.py :265-312: a synthetic run, bare model dumps, task_id = run id.
    assert got[0] == "ping"
    started, finished = got[1], got[2]
    run_id = started["workflow_run_id"]
    assert list(started) == ["event", "task_id", "workflow_run_id", "data"] and started["task_id"] == run_id
    assert started["data"] == {
        "id": run_id,
        "workflow_id": "7c3e33d4-2a8b-4e5f-9b1a-d3c6e8f12345",
        "inputs": {"query": "x" * 300},
        "created_at": started["data"]["created_at"],
        "reason": "initial",
    }
    assert list(finished["data"]) == [
        "id", "workflow_id", "status", "outputs", "error", "elapsed_time", "total_tokens", "total_steps",
        "created_by", "created_at", "finished_at", "exceptions_count", "files",
    ]  # fmt: skip
    assert finished["data"]["status"] == "failed" and finished["data"]["error"] == FORM_ERROR
    assert finished["data"]["outputs"] is None and finished["data"]["created_by"] == {}
    assert finished["data"]["exceptions_count"] == 1 and finished["data"]["elapsed_time"] == 0.0
    assert len(got) == 3


async def test_v4_an_empty_query_on_a_streaming_chatflow(at, release):
    resp, raw = await post(
        at, "/v1/chat-messages", {**CHAT, "query": "", "response_mode": "streaming"}, "app-advanced-chat"
    )
    if release == "1.12":
        assert resp.status == 400 and json.loads(raw)["message"] == "query is required"
        return
    got = frames(raw)
    if release == "1.14":
        assert got == ["ping"]
        return
    finished = got[-1]
    # The chatflow variant has the same bare shape: no conversation_id, message_id, created_at.
    assert list(finished) == ["event", "task_id", "workflow_run_id", "data"]
    assert finished["data"]["error"] == "query is required"


async def test_v4_1_14_waits_for_the_relays_idle_close(make_client):
    # streaming_utils.py idle_timeout=300 (scaled here by pace_scale, as every delay of the timeline).
    client = await make_client(dify_version="1.14", pace_scale=0.002)
    started = time.monotonic()
    _resp, raw = await post(client, "/v1/workflows/run", {**LONG_QUERY, "response_mode": "streaming"}, "app-workflow")
    assert frames(raw) == ["ping"] and time.monotonic() - started >= 0.5


async def test_v4_workflow_id_errors_stay_synchronous(at):
    # AppGenerateService resolves the workflow before it enqueues the run (app_generate_service.py).
    resp, raw = await post(at, "/v1/workflows/not-a-uuid/run", {**RUN, "response_mode": "streaming"}, "app-workflow")
    assert resp.status == 400 and json.loads(raw)["message"] == "Invalid workflow_id format: 'not-a-uuid'. "


# --- V5: blocking requests ---------------------------------------------------------------------------


async def test_v5_blocking_requests_keep_http_errors(at):
    resp, raw = await post(at, "/v1/workflows/run", LONG_QUERY, "app-workflow")
    assert resp.status == 400 and json.loads(raw)["message"] == FORM_ERROR


# --- V6, V6b, V7: metadata and files -----------------------------------------------------------------


async def test_v6_blocking_metadata(at, release):
    # easy_ui_based_generate_task_pipeline.py _to_blocking_response: TaskStateMetadata.model_dump()
    # (1.12.0 :148, 1.16.1 :153); 1.16 adds reasoning (task_entities.py :26-32).
    _resp, raw = await post(at, "/v1/chat-messages", CHAT, "app-chat")
    metadata = json.loads(raw)["metadata"]
    keys = ["annotation_reply", "retriever_resources", "usage"] + (["reasoning"] if release == "1.16" else [])
    assert list(metadata) == keys
    assert metadata["annotation_reply"] is None and metadata["retriever_resources"] == []
    assert list(metadata["usage"])[-2:] == ["time_to_first_token", "time_to_generate"]
    assert metadata["usage"]["time_to_first_token"] is None  # easy-UI apps never set them


async def test_v6_a_chatflows_usage_times_its_tokens(at):
    # advanced_chat/generate_task_pipeline.py _save_message sets both when answer text streamed.
    _resp, raw = await post(at, "/v1/chat-messages", CHAT, "app-advanced-chat")
    usage = json.loads(raw)["metadata"]["usage"]
    assert isinstance(usage["time_to_first_token"], float) and isinstance(usage["time_to_generate"], float)


async def test_v6b_message_end_metadata(at, release):
    got = await stream(at, "/v1/chat-messages", CHAT, "app-chat")
    metadata = got[-1]["metadata"]
    if release == "1.16":
        # model_dump(exclude_none=True): no annotation_reply, no null timing fields (:526).
        assert list(metadata) == ["retriever_resources", "usage", "reasoning"]
        assert "time_to_first_token" not in metadata["usage"]
    else:
        assert list(metadata) == ["annotation_reply", "retriever_resources", "usage"]
        assert metadata["usage"]["time_to_generate"] is None
    chatflow = [e for e in await stream(at, "/v1/chat-messages", CHAT, "app-advanced-chat") if e != "ping"]
    end = next(e for e in chatflow if e["event"] == "message_end")
    assert end["metadata"]["annotation_reply"] is None  # advanced-chat dumps in full at every release


@pytest.mark.parametrize(
    ("key", "path", "body"),
    [
        ("app-chat", "/v1/chat-messages", CHAT),
        ("app-completion", "/v1/completion-messages", {"inputs": {}, "user": "u"}),
        ("app-advanced-chat", "/v1/chat-messages", CHAT),
    ],
)
async def test_v7_message_end_files(at, release, key, path, body):
    end = next(e for e in await stream(at, path, body, key) if e != "ping" and e["event"] == "message_end")
    expected = [] if release == "1.16" or key == "app-advanced-chat" else None
    assert end["files"] == expected


# --- V8, V10: workflow event data ---------------------------------------------------------------------


async def test_v8_node_events_carry_the_truncated_flags(at):
    got = [e for e in await stream(at, "/v1/workflows/run", RUN, "app-workflow") if e != "ping"]
    started = next(e for e in got if e["event"] == "node_started")["data"]
    finished = next(e for e in got if e["event"] == "node_finished")["data"]
    assert started["inputs_truncated"] is False
    assert (finished["inputs_truncated"], finished["process_data_truncated"], finished["outputs_truncated"]) == (
        False,
        False,
        False,
    )


async def test_v10_workflow_started_reason(at, release):
    got = [e for e in await stream(at, "/v1/workflows/run", RUN, "app-workflow") if e != "ping"]
    data = got[0]["data"]
    assert ("reason" in data) == (release != "1.12")
    if release != "1.12":
        assert data["reason"] == "initial"


# --- V9: app modes --------------------------------------------------------------------------------------


async def test_v9_the_new_agent_exists_from_1_16(at, release):
    resp, raw = await post(at, "/v1/chat-messages", {**CHAT, "response_mode": "streaming"}, "app-agent")
    if release == "1.16":
        assert resp.status == 200
    else:  # models/model.py AppMode has no AGENT before 1.15.0: the key is unknown
        assert resp.status == 401 and json.loads(raw)["message"] == "Access token is invalid"


# --- V11, V11b, V12: failures ---------------------------------------------------------------------------


async def test_v11_a_failing_node_in_a_workflow(at):
    # workflow/generate_task_pipeline.py: node_finished failed, workflow_finished failed, no error event.
    got = [
        e
        for e in await stream(at, "/v1/workflows/run", RUN, "app-workflow", **{"X-Mock-Fault": "stream_error;after=4"})
        if e != "ping"
    ]
    names = [e["event"] for e in got]
    assert names[-2:] == ["node_finished", "workflow_finished"] and "error" not in names
    failed, finished = got[-2]["data"], got[-1]["data"]
    assert failed["status"] == "failed" and failed["node_id"] == "llm"
    assert finished["status"] == "failed" and finished["error"] == failed["error"]
    assert finished["exceptions_count"] == 0


async def test_v11b_a_non_graph_error_in_a_workflow(make_client, release):
    client = await make_client(dify_version=release, pace_scale=0.002)
    started = time.monotonic()
    got = [
        e
        for e in await stream(
            client, "/v1/workflows/run", RUN, "app-workflow", **{"X-Mock-Fault": "stream_error;after=2;as=event"}
        )
        if e != "ping"
    ]
    took = time.monotonic() - started
    names = [e["event"] for e in got]
    assert names[2] == "error"
    if release == "1.16":  # the relay's fallback (workflow_execute_task.py 1.16.1 :354-469)
        assert names[3:] == ["workflow_finished"] and got[3]["data"]["status"] == "failed"
        assert got[3]["data"]["error"] == got[2]["message"]
    else:
        assert names[3:] == []
    # 1.14.2 publishes no fallback (:241-257), so its relay idles out (VERSIONS.md says a fallback
    # comes from 1.14; the 1.14.2 source has none); 1.12 closes at the error.
    assert (took >= 0.5) == (release == "1.14")


async def test_v12_a_failing_chatflow(at, release):
    # advanced_chat/generate_task_pipeline.py: workflow_finished failed, then ValueError("Run failed: ...")
    # as an error event (1.16.1 :753-757); the relay ends at workflow_finished from 1.14.
    got = [
        e
        for e in await stream(
            at, "/v1/chat-messages", CHAT, "app-advanced-chat", **{"X-Mock-Fault": "stream_error;after=4"}
        )
        if e != "ping"
    ]
    names = [e["event"] for e in got]
    finished = next(e for e in got if e["event"] == "workflow_finished")
    assert finished["data"]["status"] == "failed"
    assert "message_end" not in names
    if release == "1.12":
        assert names[-1] == "error"
        assert (got[-1]["code"], got[-1]["status"]) == ("invalid_param", 400)
        assert got[-1]["message"] == f"Run failed: {finished['data']['error']}"
    else:
        assert names[-1] == "workflow_finished"


# --- V13: validation texts ---------------------------------------------------------------------------------


async def test_v13_pydantic_texts_with_the_releases_version(at, release):
    _resp, raw = await post(at, "/v1/chat-messages", {"user": "u"}, "app-chat")
    message = json.loads(raw)["message"]
    version = "2.11" if release == "1.12" else "2.12"
    assert message == (
        "2 validation errors for ChatRequestPayload\n"
        "inputs\n  Field required [type=missing, input_value={'user': 'u'}, input_type=dict]\n"
        f"    For further information visit https://errors.pydantic.dev/{version}/v/missing\n"
        "query\n  Field required [type=missing, input_value={'user': 'u'}, input_type=dict]\n"
        f"    For further information visit https://errors.pydantic.dev/{version}/v/missing"
    )


# --- V14: DSL versions ---------------------------------------------------------------------------------------


def test_v14_the_newest_dsl_version_each_release_imports():
    # services/app_dsl_service.py CURRENT_DSL_VERSION: 0.5.0 (1.12.0), 0.6.0 (1.14.2), 0.7.0 (1.16.1).
    from mockserver.dify.versions import RELEASES as TABLE

    assert {name: r.dsl_version for name, r in TABLE.items()} == {"1.12": "0.5.0", "1.14": "0.6.0", "1.16": "0.7.0"}


# --- requested versions map to a profile ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "profile", "notice"),
    [
        ("1.16", "1.16", False),
        ("1.14.2", "1.14", False),
        ("1.13", "1.14", True),
        ("1.10", "1.12", True),
        ("1.17.1", "1.16", True),
        ("v1.12", "1.12", False),
    ],
)
def test_a_requested_version_maps_to_a_profile(asked, profile, notice):
    from mockserver.dify.versions import resolve

    release, said = resolve(asked)
    assert release.name == profile and (said is not None) == notice


@pytest.mark.parametrize("spec", [">=1.14", "<1.16,>=1.14", "==1.14", "1.14"])
async def test_fixtures_match_on_the_release(make_client, tmp_path, spec):
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "send_chat_message.yaml").write_text(
        "scenarios:\n"
        "  newer:\n"
        f"    match: {{dify.version: '{spec}'}}\n"
        "    respond: {blocking: {answer: 'v{{ dify.version }}'}}\n"
    )
    answers = {}
    for release in RELEASES:
        client = await make_client(dify_version=release, fixtures=(tmp_path,))
        _resp, raw = await post(client, "/v1/chat-messages", CHAT, "app-chat")
        answers[release] = json.loads(raw)["answer"]
    from mockserver.dify.versions import compare

    assert answers == {r: (f"v{r}" if compare(r, spec) else "You asked: hello there") for r in RELEASES}
    assert answers["1.14"] == "v1.14"
