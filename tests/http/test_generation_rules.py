"""Dify's generation checks and their order (audit F3-F8, G1): what a request Dify refuses gets, and
which refusal wins when several apply, per release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dify_facts import CONVERSATION_NOT_EXISTS, UNKNOWN_UUID, auth

CHAT = {"inputs": {}, "query": "hi", "user": "u"}
CHATFLOW_WORKFLOW_ID = "6c3b8a74-ae3f-4b2a-9f79-3d4e5f6a7b82"
ROUTE_HINT = (
    " You have requested this URI [/v1/chat-messages] but did you mean /v1/chat-messages or "
    "/api/chat-messages or /v1/chat-messages/<string:task_id>/stop ?"
)


async def answer(client, body: Any, key: str = "app-chat", path: str = "/v1/chat-messages") -> tuple[int, Any]:
    resp = await client.post(path, json=body, headers=auth(key))
    raw = await resp.read()
    return resp.status, json.loads(raw) if resp.content_type == "application/json" else raw


# --- F5: an empty query -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["app-chat", "app-advanced-chat", "app-agent-chat"])
async def test_an_empty_query_is_refused_by_the_chat_generators(client, key):
    # chat/app_generator.py :94, advanced_chat :148 `if not args.get("query")` (dify 1.16.1).
    status, body = await answer(client, {**CHAT, "query": "", "response_mode": "streaming"}, key)
    if key == "app-advanced-chat":  # 1.16 relays the run: the refusal arrives in a failed run (V4)
        assert status == 200
        return
    assert (status, body) == (400, {"code": "invalid_param", "message": "query is required", "status": 400})


async def test_the_new_agent_also_refuses_a_blank_query(client):
    # agent_app/app_generator.py _require_query (:538-543) strips the query first.
    status, body = await answer(client, {**CHAT, "query": "   ", "response_mode": "streaming"}, "app-agent")
    assert (status, body["message"]) == (400, "query is required")
    status, _ = await answer(client, {**CHAT, "query": "   ", "response_mode": "streaming"}, "app-chat")
    assert status == 200  # the chat generator only refuses an empty one


async def test_completion_has_no_query_rule(client):
    status, _ = await answer(
        client, {"inputs": {}, "query": "", "user": "u"}, "app-completion", "/v1/completion-messages"
    )
    assert status == 200


# --- F6: a chatflow's workflow_id ---------------------------------------------------------------------


async def test_a_chatflow_runs_the_published_workflow_it_names(client):
    status, body = await answer(client, {**CHAT, "workflow_id": "nope"}, "app-advanced-chat")
    assert (status, body["code"], body["message"]) == (400, "bad_request", "Invalid workflow_id format: 'nope'. ")
    status, body = await answer(client, {**CHAT, "workflow_id": UNKNOWN_UUID}, "app-advanced-chat")
    assert (status, body["code"]) == (404, "not_found")
    assert body["message"] == f"Workflow not found with id: {UNKNOWN_UUID}.{ROUTE_HINT}"
    status, body = await answer(client, {**CHAT, "workflow_id": CHATFLOW_WORKFLOW_ID.upper()}, "app-advanced-chat")
    assert status == 200
    status, _ = await answer(client, {**CHAT, "workflow_id": "nope"}, "app-chat")
    assert status == 200  # only advanced-chat resolves it
    status, _ = await answer(client, {**CHAT, "workflow_id": ""}, "app-advanced-chat")
    assert status == 200  # blank means the current published workflow


# --- F7: which refusal wins ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "key", "body", "expected"),
    [
        # 1.16's controller looks the conversation up first (completion.py :398-406) ...
        ("1.16", "app-chat", {"query": ""}, 404),
        ("1.16", "app-agent-chat", {}, 404),
        ("1.16", "app-chat", {"inputs": {"city": 5}}, 404),
        # ... before, the generators checked the query (and agent-chat's blocking rule) first
        # (chat/app_generator.py 1.12.0 :82 -> :97; agent_chat :86-90).
        ("1.12", "app-chat", {"query": ""}, "query is required"),
        ("1.12", "app-agent-chat", {}, "Agent Chat App does not support blocking mode"),
        ("1.14", "app-chat", {"query": ""}, "query is required"),
        # the input form comes after the conversation at every release
        ("1.12", "app-chat", {"inputs": {"city": 5}}, 404),
    ],
)
async def test_an_unknown_conversation_against_other_refusals(make_client, release, key, body, expected):
    client = await make_client(dify_version=release)
    status, got = await answer(client, {**CHAT, "conversation_id": UNKNOWN_UUID, **body}, key)
    if expected == 404:
        assert (status, got["message"]) == (404, CONVERSATION_NOT_EXISTS)
    else:
        assert (status, got["code"], got["message"]) == (400, "invalid_param", expected)


@pytest.mark.parametrize("release", ["1.12", "1.16"])
async def test_a_chatflows_workflow_id_goes_before_its_query(make_client, release):
    client = await make_client(dify_version=release)
    status, got = await answer(client, {**CHAT, "query": "", "workflow_id": "nope"}, "app-advanced-chat")
    assert (status, got["code"]) == (400, "bad_request")


async def test_a_by_id_runs_workflow_id_goes_before_its_input_form(client):
    body = {"inputs": {"query": 5}, "user": "u"}
    status, got = await answer(client, body, "app-workflow", f"/v1/workflows/{UNKNOWN_UUID}/run")
    assert (status, got["message"]) == (404, f"Workflow not found with id: {UNKNOWN_UUID}")  # no route hint here


# --- F8: the input form's edges -------------------------------------------------------------------------


@pytest.fixture
async def form_client(make_client, tmp_path: Path):
    (tmp_path / "_apps.yaml").write_text(
        "apps:\n"
        "  app-form:\n"
        "    mode: chat\n"
        "    parameters:\n"
        "      user_input_form:\n"
        "        - number: {label: N, variable: n, required: false}\n"
        "        - checkbox: {label: C, variable: c, required: false}\n"
        "        - checkbox: {label: D, variable: d, required: false}\n"
        "        - json_object: {label: J, variable: j, required: false}\n"
    )
    return await make_client(fixtures=(tmp_path,))


async def test_an_object_where_no_object_belongs_is_an_invalid_input_type(form_client):
    # base_app_generator.py _prepare_user_inputs post-check (1.16.1 :183-201): every key, form order.
    status, got = await answer(form_client, {**CHAT, "inputs": {"c": {}, "d": [{"x": 1}], "j": {"ok": 1}}}, "app-form")
    assert (status, got["message"]) == (400, "Invalid input type for ['c', 'd']")


async def test_a_number_given_a_list_is_difys_500(form_client):
    # _validate_inputs raises TypeError there (:256), which the controller answers InternalServerError.
    status, got = await answer(form_client, {**CHAT, "inputs": {"n": [1]}}, "app-form")
    assert (status, got["code"]) == (500, "internal_server_error")
    entry = (await (await form_client.get("/_mock/journal")).json())["data"][-1]
    assert not entry["error"].get("crash")  # Dify's own answer, not a failure of the mock


@pytest.mark.parametrize(("value", "status"), [("12", 200), (" ", 200), ("1e5", 400), (True, 200)])
async def test_number_inputs(form_client, value, status):
    got_status, got = await answer(form_client, {**CHAT, "inputs": {"n": value}}, "app-form")
    assert got_status == status, got
    if status == 400:
        assert got["message"] == "n in input form must be a valid number"


# --- F3, F4: the body and the user ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"[1]", b"null", b'"text"', b"5"])
async def test_a_body_that_is_not_an_object_is_difys_generic_500(client, raw):
    # validate_app_token calls .get("user") on it outside any handler (wraps.py :132): Dify's generic
    # handler answers {"message", "code": "unknown", "status"} (external_api.py :119-134).
    resp = await client.post(
        "/v1/chat-messages", data=raw, headers=auth("app-chat", **{"Content-Type": "application/json"})
    )
    assert resp.status == 500
    assert await resp.read() == b'{"message":"Internal Server Error","code":"unknown","status":500}\n'


@pytest.mark.parametrize("raw", [b"", b"{bad"])
async def test_empty_or_broken_json_is_werkzeugs_bad_request(client, raw):
    resp = await client.post(
        "/v1/chat-messages", data=raw, headers=auth("app-chat", **{"Content-Type": "application/json"})
    )
    assert (await resp.json())[
        "message"
    ] == "The browser (or proxy) sent a request that this server could not understand."


@pytest.mark.parametrize(
    "extra",
    [{"user": 123}, {"auto_generate_name": "yes"}, {"files": [{}]}, {"files": None}, {"conversation_id": "  "}],
)
async def test_values_dify_accepts_are_accepted(client, extra):
    status, got = await answer(client, {**CHAT, **extra})
    assert status == 200, got


async def test_a_numeric_user_is_its_string(client):
    _status, got = await answer(client, {**CHAT, "user": 123})
    again = {**CHAT, "user": "123", "conversation_id": got["conversation_id"]}
    assert (await answer(client, again))[0] == 200  # the same end user, so the same conversation
