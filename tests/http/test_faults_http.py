"""HTTP error faults (README, "Faults"): codes and their statuses, aliases, overrides, Retry-After,
the 400 for a bad fault, the precedence of header > queue > fixture, and what the journal records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from dify_facts import CONVERSATION_NOT_EXISTS, SSE_CONTENT_TYPE, auth, queue

from mockserver.keys import TENANTS

CHAT = "/v1/chat-messages"
DIFY_INTERNAL = (
    "The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application."
)
MSG_PROVIDER = (
    "No valid model provider credentials found. Please go to Settings -> Model Provider to "
    "complete your provider credentials."
)
MSG_APP_UNAVAILABLE = "App unavailable, please check your app configurations."


def chat_body(user: str = "u1", query: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"inputs": {}, "query": query, "user": user, **extra}


def headers(session: str, fault: str | None = None, key: str = "app-chat", **extra: str) -> dict[str, str]:
    out = auth(key, **{"X-Mock-Session": session}, **extra)
    if fault is not None:
        out["X-Mock-Fault"] = fault
    return out


async def chat(client, session: str, fault: str | None = None, **body: Any):
    return await client.post(CHAT, json=chat_body(**body), headers=headers(session, fault))


async def error_body(resp, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    """Dify's error envelope, exactly {code, message, status}, as JSON with the HTTP status repeated."""
    raw = await resp.read()
    assert resp.status == status, (resp.status, raw[:300])
    assert resp.content_type == "application/json"
    body = json.loads(raw)
    assert body == {"code": code, "message": body["message"], "status": status}
    assert isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"] == message
    return body


def journal(client, tenant: str) -> list[dict[str, Any]]:
    return list(client.app[TENANTS].get(tenant).journal)


async def remaining(client, tenant: str) -> list[int | None]:
    resp = await client.get("/_mock/faults", params={"tenant": tenant})
    assert resp.status == 200
    return [entry["remaining"].get(tenant) for entry in (await resp.json())["data"]]


# --- codes and statuses ---------------------------------------------------------------------------

# The seed reference's codes answer at the seed's status (README, "Faults", second row), with
# Dify's catalogue text where Dify has the code.
SEED_CODES = [
    ("invalid_api_key", 401, None),
    ("rate_limit_exceeded", 429, None),
    ("quota_exceeded", 429, None),
    ("app_unavailable", 503, MSG_APP_UNAVAILABLE),
    ("provider_not_initialize", 503, MSG_PROVIDER),
    ("model_currently_not_support", 503, "Dify Hosted OpenAI trial currently not support the GPT-4 model."),
    ("completion_request_error", 500, "Completion request failed."),
    ("internal_server_error", 500, DIFY_INTERNAL),
]


@pytest.mark.parametrize(("code", "status", "message"), SEED_CODES)
async def test_seed_codes_answer_at_the_seeds_status(client, code, status, message):
    resp = await chat(client, "seed", code)
    await error_body(resp, status, code, message)
    assert "Retry-After" not in resp.headers  # Dify sends none; only retry_after or quota add it


# REFERENCE.md's catalogue (§11, with the codes of §6, §9.4 and §11.3): every other code at Dify's status.
DIFY_CODES = [
    ("bad_request", 400, None),
    ("invalid_param", 400, None),
    ("unauthorized", 401, "Access token is invalid"),
    ("forbidden", 403, None),
    ("not_found", 404, None),
    ("method_not_allowed", 405, "The method is not allowed for the requested URL."),
    ("request_entity_too_large", 413, None),
    ("unsupported_media_type", 415, None),
    ("not_completion_app", 400, "Please check if your Completion app mode matches the right API route."),
    ("not_chat_app", 400, "Please check if your app mode matches the right API route."),
    ("not_workflow_app", 400, "Please check if your app mode matches the right API route."),
    ("conversation_completed", 400, "The conversation has ended. Please start a new conversation."),
    (
        "provider_quota_exceeded",
        400,
        "Your quota for Dify Hosted OpenAI has been exhausted. Please go to Settings -> Model Provider "
        "to complete your own provider credentials.",
    ),
    ("too_many_requests", 429, None),
    ("rate_limit_error", 429, "Rate Limit Error"),
    (
        "workflow_version_execution_not_allowed",
        403,
        "Workflow version execution is not available on your current plan. Please upgrade to a paid plan.",
    ),
    ("agent_not_published", 400, "Agent has not been published. Please publish the Agent before using the API."),
    # §6, §9.4 and §11.3
    ("human_input_form_submitted", 412, None),
    ("human_input_form_expired", 412, None),
    ("invalid_form_data", 400, None),
    ("no_file_uploaded", 400, "Please upload your file."),
    ("too_many_files", 400, "Only one file is allowed."),
    ("filename_not_exists_error", 400, "The specified filename does not exist."),
    ("file_too_large", 413, None),
    ("unsupported_file_type", 415, "File type not allowed."),
    ("file_access_denied", 403, "Access to the requested file is denied."),
    ("file_not_found", 404, "The requested file was not found."),
    ("end_user_not_found", 404, "End user not found."),
    ("no_audio_uploaded", 400, "Please upload your audio."),
    ("speech_to_text_disabled", 400, "Speech to text is disabled."),
    ("provider_not_support_speech_to_text", 400, "Provider not support speech to text."),
    ("audio_too_large", 413, None),
    ("unsupported_audio_type", 415, "Audio type not allowed."),
    ("dataset_not_initialized", 400, None),
    ("archived_document_immutable", 403, "The archived document is not editable."),
    ("dataset_name_duplicate", 409, None),
    ("invalid_action", 400, "Invalid action."),
    ("document_already_finished", 400, None),
    ("document_indexing", 400, None),
    ("invalid_metadata", 400, None),
    ("dataset_in_use", 409, None),
    ("dataset_indexing_in_progress", 409, None),
    ("pipeline_run_error", 500, "An error occurred while running the pipeline."),
]


@pytest.mark.parametrize(("code", "status", "message"), DIFY_CODES)
async def test_dify_codes_answer_at_difys_status(client, code, status, message):
    resp = await chat(client, "dify", code)
    await error_body(resp, status, code, message)


async def test_an_injected_401_carries_www_authenticate_like_difys(client):
    resp = await chat(client, "www", "unauthorized")
    await error_body(resp, 401, "unauthorized")
    assert resp.headers.get("WWW-Authenticate") == 'Bearer realm="api"'


@pytest.mark.parametrize(
    ("code", "status"),
    [("app_unavailable", 400), ("provider_not_initialize", 400), ("too_many_requests", 429), ("not_found", 404)],
)
async def test_generic_error_answers_difys_status_for_its_code(client, code, status):
    resp = await chat(client, "generic", f"error;code={code}")
    await error_body(resp, status, code)


async def test_generic_error_with_a_code_of_its_own_needs_a_status(client):
    resp = await chat(client, "generic", "error;code=my_backend_down;status=502;message=Upstream gone")
    await error_body(resp, 502, "my_backend_down", "Upstream gone")
    resp = await chat(client, "generic", "error;code=my_backend_down")
    await error_body(resp, 400, "mock_invalid_fault")
    resp = await chat(client, "generic", "error")
    await error_body(resp, 400, "mock_invalid_fault")


@pytest.mark.parametrize(
    ("alias", "code", "status"),
    [
        ("rate_limit", "rate_limit_exceeded", 429),
        ("outage", "app_unavailable", 503),
        ("bad_key", "invalid_api_key", 401),
    ],
)
async def test_aliases_answer_as_their_target(client, alias, code, status):
    resp = await chat(client, "alias", alias)
    direct = await chat(client, "alias", code)
    assert await error_body(resp, status, code) == await error_body(direct, status, code)


async def test_an_alias_takes_its_targets_parameters(client):
    resp = await chat(client, "alias", "rate_limit;retry_after=2;message=Slow down;status=503")
    await error_body(resp, 503, "rate_limit_exceeded", "Slow down")
    assert resp.headers["Retry-After"] == "2"


async def test_user_aliases_from_faults_yaml(make_client, tmp_path: Path):
    (tmp_path / "_faults.yaml").write_text(
        "aliases:\n  throttled: too_many_requests;retry_after=7\n  outage: null\n", encoding="utf-8"
    )
    client = await make_client(fixtures=(tmp_path,))
    resp = await chat(client, "ua", "throttled")
    await error_body(resp, 429, "too_many_requests")
    assert resp.headers["Retry-After"] == "7"
    resp = await chat(client, "ua", "throttled;retry_after=1")  # the caller's parameters win
    assert resp.headers["Retry-After"] == "1"
    resp = await chat(client, "ua", "outage")  # removed by `outage: null`
    body = await error_body(resp, 400, "mock_invalid_fault")
    assert "throttled" in body["message"]


# --- overrides and Retry-After --------------------------------------------------------------------


async def test_status_and_message_override(client):
    resp = await chat(client, "ovr", "app_unavailable;status=400")
    await error_body(resp, 400, "app_unavailable", MSG_APP_UNAVAILABLE)
    resp = await chat(client, "ovr", "too_many_requests;message=Please wait a minute.")
    await error_body(resp, 429, "too_many_requests", "Please wait a minute.")
    resp = await chat(client, "ovr", "internal_server_error;status=502;message=Bad gateway")
    await error_body(resp, 502, "internal_server_error", "Bad gateway")


async def test_retry_after_adds_the_header_and_nothing_else_does(client):
    resp = await chat(client, "ra", "rate_limit;retry_after=30")
    await error_body(resp, 429, "rate_limit_exceeded")
    assert resp.headers["Retry-After"] == "30"
    for fault in ("rate_limit", "too_many_requests", "outage"):
        resp = await chat(client, "ra", fault)
        assert resp.status in (429, 503)
        assert "Retry-After" not in resp.headers, fault
    resp = await chat(client, "ra", "outage;retry_after=5")
    await error_body(resp, 503, "app_unavailable")
    assert resp.headers["Retry-After"] == "5"


async def test_http_faults_answer_every_endpoint(client):
    resp = await client.get("/v1/parameters", headers=headers("ep", "outage"))
    await error_body(resp, 503, "app_unavailable")
    resp = await client.get("/v1/info", headers=headers("ep", "forbidden"))
    await error_body(resp, 403, "forbidden")
    resp = await client.post(
        "/v1/completion-messages",
        json={"inputs": {}, "user": "u1", "response_mode": "streaming"},
        headers=headers("ep", "quota_exceeded", key="app-completion"),
    )
    await error_body(resp, 429, "quota_exceeded")
    resp = await client.post(
        "/v1/workflows/run",
        json={"inputs": {}, "user": "u1", "response_mode": "streaming"},
        headers=headers("ep", "rate_limit;retry_after=3", key="app-workflow"),
    )
    await error_body(resp, 429, "rate_limit_exceeded")
    assert resp.headers["Retry-After"] == "3"


async def test_an_http_fault_on_a_streaming_request_answers_json_not_a_stream(client):
    resp = await client.post(
        CHAT, json=chat_body(response_mode="streaming"), headers=headers("st", "rate_limit;retry_after=1")
    )
    await error_body(resp, 429, "rate_limit_exceeded")
    assert resp.headers["Content-Type"] != SSE_CONTENT_TYPE
    ok = await client.post(CHAT, json=chat_body(response_mode="streaming"), headers=headers("st"))
    assert ok.status == 200 and ok.headers["Content-Type"] == SSE_CONTENT_TYPE
    await ok.read()


# --- bad faults -----------------------------------------------------------------------------------

EXPECTED_NAMES = ["rate_limit", "outage", "bad_key", "app_unavailable", "too_many_requests", "latency", "stream_cut"]
EXPECTED_NAMES += ["stream_error", "stream_malformed", "stream_stall", "dribble", "reset", "empty", "error"]


async def test_an_unknown_fault_in_the_header_is_a_400_naming_the_three_closest(client):
    resp = await chat(client, "bad", "rate_limitt")
    body = await error_body(resp, 400, "mock_invalid_fault")
    near = "rate_limit, rate_limit_error, rate_limit_exceeded"
    assert body["message"] == f"unknown fault 'rate_limitt' (did you mean {near}?)"


async def test_an_unknown_fault_with_no_near_miss_lists_the_valid_names(client):
    resp = await chat(client, "bad", "spill")
    body = await error_body(resp, 400, "mock_invalid_fault")
    assert body["message"].startswith("unknown fault 'spill'; valid faults: ")
    for name in EXPECTED_NAMES:
        assert name in body["message"], name


async def test_an_unknown_parameter_names_what_was_typed_and_the_closest_parameter(client):
    resp = await chat(client, "badp", "rate_limit;retry=2")
    body = await error_body(resp, 400, "mock_invalid_fault")
    assert body["message"] == "unknown parameter 'retry' for fault 'rate_limit' (did you mean 'retry_after'?)"
    resp = await chat(client, "badp", "outage;retry_after=soon")
    body = await error_body(resp, 400, "mock_invalid_fault")
    assert body["message"] == "fault 'outage': retry_after='soon' is not a whole number"


@pytest.mark.parametrize(
    ("fault", "mentions"),
    [
        ("latency;speed=3", "speed"),
        ("rate_limit;retry_after=soon", "retry_after"),
        ("rate_limit;status=200", "status"),
        ("rate_limit;status=600", "status"),
        ("rate_limit;times=0", "times"),
        ("rate_limit;p=1.5", "p"),
        ("rate_limit;window=5-2", "window"),
        ("rate_limit;during=later", "during"),
        ("rate_limit;quota=5", "per"),
        ("rate_limit;clock=sundial", "clock"),
        ("latency;dist=gamma", "dist"),
        ("latency;ms=-5", "ms"),
        ("stream_malformed;form=xml", "form"),
        ("stream_cut;after=two", "after"),
        ("rate_limit;times", "times"),
        ("outage, nope", "nope"),
    ],
)
async def test_a_bad_parameter_is_a_400_naming_it(client, fault, mentions):
    resp = await chat(client, "badp", fault)
    body = await error_body(resp, 400, "mock_invalid_fault")
    assert mentions in body["message"]


async def test_an_unknown_parameter_lists_the_known_ones(client):
    resp = await chat(client, "badp", "stream_stall;after=1;wait=5")
    body = await error_body(resp, 400, "mock_invalid_fault")
    for known in ("after", "ms", "ping_ms", "times", "skip"):
        assert known in body["message"]


async def test_posting_a_bad_fault_is_a_400_and_queues_nothing(client):
    resp = await client.post("/_mock/faults", json={"fault": "rate_limitt;times=2", "tenant": "s:q"})
    body = await error_body(resp, 400, "mock_invalid_fault")
    assert "(did you mean rate_limit, rate_limit_error, rate_limit_exceeded?)" in body["message"]
    resp = await client.post("/_mock/faults", json={"fault": "rate_limit;tims=2", "tenant": "s:q"})
    body = await error_body(resp, 400, "mock_invalid_fault")
    assert "tims" in body["message"]
    resp = await client.post("/_mock/faults", json={"fault": "outage;endpoint=service.nowhere"})
    await error_body(resp, 400, "mock_invalid_fault")
    # A good fault next to a bad one: nothing of it is queued.
    resp = await client.post("/_mock/faults", json={"fault": "outage, nope", "tenant": "s:q"})
    await error_body(resp, 400, "mock_invalid_fault")
    resp = await client.post("/_mock/faults", json={"tenant": "s:q"})
    await error_body(resp, 400, "invalid_param")
    listed = await client.get("/_mock/faults")
    assert (await listed.json())["data"] == []
    assert (await chat(client, "q")).status == 200


async def test_a_bad_header_fault_counts_nothing(client):
    await queue(client, "rate_limit;skip=1", tenant="s:cnt")
    await error_body(await chat(client, "cnt", "bogus"), 400, "mock_invalid_fault")
    assert (await chat(client, "cnt")).status == 200  # the first admitted call: skipped
    await error_body(await chat(client, "cnt"), 429, "rate_limit_exceeded")


# --- when faults are drawn ------------------------------------------------------------------------


async def test_an_invalid_request_never_uses_up_a_queued_fault(client):
    await queue(client, "rate_limit", tenant="s:val")
    resp = await client.post(CHAT, json={"inputs": {}, "user": "u1"}, headers=headers("val"))  # no query
    await error_body(resp, 400, "invalid_param")
    resp = await client.post(CHAT, json=chat_body(response_mode="sideways"), headers=headers("val"))
    await error_body(resp, 400, "invalid_param")
    resp = await client.post(CHAT, json=chat_body(), headers=headers("val", key="app-nope"))
    await error_body(resp, 401, "unauthorized")
    resp = await client.post(CHAT, json=chat_body(), headers=headers("val", key="app-workflow"))
    await error_body(resp, 400, "not_chat_app")
    assert await remaining(client, "s:val") == [1]
    await error_body(await chat(client, "val"), 429, "rate_limit_exceeded")
    assert (await chat(client, "val")).status == 200


async def test_a_rate_limited_chat_creates_no_conversation(make_client):
    # The same seed and tenant give the same ids: a twin app shows the conversation the first call
    # would have started.
    twin = await make_client()
    would_be = (await (await chat(twin, "conv")).json())["conversation_id"]

    client = await make_client()
    await queue(client, "rate_limit", tenant="s:conv")
    await error_body(await chat(client, "conv"), 429, "rate_limit_exceeded")
    (entry,) = journal(client, "s:conv")
    assert entry["status"] == 429 and entry.get("conversation_id") is None

    resp = await chat(client, "conv", conversation_id=would_be)
    await error_body(resp, 404, "not_found", CONVERSATION_NOT_EXISTS)

    fresh = await (await chat(client, "conv")).json()
    assert fresh["conversation_id"] != would_be
    follow = await chat(client, "conv", conversation_id=fresh["conversation_id"], query="again")
    assert follow.status == 200
    assert (await follow.json())["conversation_id"] == fresh["conversation_id"]
    listed = await client.get("/v1/conversations", params={"user": "u1"}, headers=headers("conv"))
    assert [c["id"] for c in (await listed.json())["data"]] == [fresh["conversation_id"]]


async def test_a_fault_on_a_follow_up_leaves_the_conversation_as_it_was(client):
    first = await (await chat(client, "fu")).json()
    conversation = first["conversation_id"]
    resp = await chat(client, "fu", "outage", conversation_id=conversation, query="lost")
    await error_body(resp, 503, "app_unavailable")
    resp = await chat(client, "fu", conversation_id=conversation, query="kept")
    assert resp.status == 200
    listed = await client.get(
        "/v1/messages", params={"user": "u1", "conversation_id": conversation}, headers=headers("fu")
    )
    assert [m["query"] for m in (await listed.json())["data"]] == ["hello there", "kept"]


async def test_blocking_calls_neither_fire_nor_consume_stream_faults(client):
    await queue(client, "stream_cut;after=1", tenant="s:blk")
    for _ in range(2):
        resp = await chat(client, "blk")
        assert resp.status == 200
        assert (await resp.json())["answer"] == "You asked: hello there"
    assert await remaining(client, "s:blk") == [1]
    assert [e["fault"] for e in journal(client, "s:blk")] == [None, None]
    resp = await client.post(CHAT, json=chat_body(response_mode="streaming"), headers=headers("blk"))
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    assert await remaining(client, "s:blk") == [0]


# --- precedence -----------------------------------------------------------------------------------


def _fixture_fault_dir(root: Path, fault: str) -> Path:
    (root / "service").mkdir(parents=True, exist_ok=True)
    (root / "service" / "send_chat_message.yaml").write_text(
        f'scenarios:\n  faulty:\n    match: {{body.user: faulty}}\n    fault: "{fault}"\n', encoding="utf-8"
    )
    return root


async def test_header_beats_queue_beats_fixture(make_client, tmp_path: Path):
    client = await make_client(fixtures=(_fixture_fault_dir(tmp_path, "quota_exceeded;times=*"),))
    await queue(client, "rate_limit", tenant="s:prec")

    resp = await chat(client, "prec", "outage", user="faulty")
    await error_body(resp, 503, "app_unavailable")
    resp = await chat(client, "prec", user="faulty")  # the queued fault was not spent by the header's call
    await error_body(resp, 429, "rate_limit_exceeded")
    resp = await chat(client, "prec", user="faulty")
    await error_body(resp, 429, "quota_exceeded")
    resp = await chat(client, "prec", user="someone")
    assert resp.status == 200

    sources = [(e["fault"]["name"], e["fault"]["source"]) for e in journal(client, "s:prec")[:3]]
    assert sources == [("outage", "header"), ("rate_limit", "queue"), ("quota_exceeded", "scenario")]


async def test_the_first_of_several_faults_wins_and_shapers_combine(client):
    resp = await chat(client, "many", "outage, rate_limit")
    await error_body(resp, 503, "app_unavailable")
    resp = await chat(client, "many", "latency;ms=1, too_many_requests;retry_after=4")
    await error_body(resp, 429, "too_many_requests")
    assert resp.headers["Retry-After"] == "4"
    entry = journal(client, "s:many")[-1]
    assert entry["fault"]["name"] == "too_many_requests"
    assert entry["fault"]["source"] == "header"


async def test_queued_faults_fire_in_fifo_order(client):
    await queue(client, "outage", tenant="s:fifo")
    await queue(client, "rate_limit", tenant="s:fifo")
    await error_body(await chat(client, "fifo"), 503, "app_unavailable")
    await error_body(await chat(client, "fifo"), 429, "rate_limit_exceeded")
    assert (await chat(client, "fifo")).status == 200


# --- journal --------------------------------------------------------------------------------------


async def test_the_journal_records_the_fault_of_each_request(client):
    await queue(client, "rate_limit;retry_after=2;times=1", tenant="s:jr")
    await error_body(await chat(client, "jr"), 429, "rate_limit_exceeded")
    await error_body(await chat(client, "jr", "bad_key;message=Nope"), 401, "invalid_api_key", "Nope")
    assert (await chat(client, "jr")).status == 200

    queued, header, clean = journal(client, "s:jr")
    assert queued["status"] == 429
    assert queued["fault"] == {
        "name": "rate_limit",
        "source": "queue",
        "params": {"retry_after": 2},
        "after_events": None,
    }
    assert header["status"] == 401
    assert header["fault"]["name"] == "bad_key" and header["fault"]["source"] == "header"
    assert header["fault"]["params"] == {"message": "Nope"}
    assert clean["status"] == 200 and clean["fault"] is None


async def test_the_journal_records_stream_faults_with_their_outcome(client):
    resp = await client.post(
        CHAT, json=chat_body(response_mode="streaming"), headers=headers("js", "stream_error;after=2")
    )
    assert resp.status == 200
    await resp.read()
    (entry,) = journal(client, "s:js")
    assert entry["fault"]["name"] == "stream_error" and entry["fault"]["source"] == "header"
    assert entry["fault"]["after_events"] == 2
    assert entry["events"] == ["message", "message", "error"]
    assert entry["outcome"] == "error"


async def test_a_request_the_action_refuses_never_uses_up_a_queued_fault(client):
    # code-review §4.6: a queued stream fault spent on a 404 left the next stream uncut.
    await queue(client, "stream_cut;after=1", tenant="s:refused")
    headers = {"Authorization": "Bearer app-chat", "X-Mock-Session": "refused"}
    unknown = {
        "inputs": {},
        "query": "q",
        "user": "u",
        "response_mode": "streaming",
        "conversation_id": "11111111-2222-4333-8444-555555555555",
    }
    resp = await client.post("/v1/chat-messages", json=unknown, headers=headers)
    assert resp.status == 404
    (entry,) = journal(client, "s:refused")
    assert entry["fault"] is None
    assert await remaining(client, "s:refused") == [1]
    resp = await client.post("/v1/chat-messages", json={**unknown, "conversation_id": None}, headers=headers)
    with pytest.raises(aiohttp.ClientPayloadError):  # this stream is the one cut
        await resp.read()
    assert journal(client, "s:refused")[-1]["fault"]["after_events"] == 1
