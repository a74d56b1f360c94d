"""Control plane ergonomics: the verdict over HTTP, the live app list, strict journal filters,
curl-style bodies, and the handle's checks (queued faults fired, keys of live apps, near misses),
the same in-process and over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from dify_facts import auth

from mockserver.control.api import LocalControl
from mockserver.testing.handle import ControlError, DifyMock, HttpControl

CHAT = "/v1/chat-messages"
BODY = {"inputs": {}, "query": "hi", "user": "u"}


def handle_for(client, control=None) -> DifyMock:
    return DifyMock(str(client.make_url("")), control or LocalControl(client.server.app), "t1", 0)


async def retry_at_once(client, session: str) -> None:
    """A client that retries a 429 at once, although the answer said Retry-After: 5."""
    await client.post("/_mock/faults", json={"fault": "rate_limit;retry_after=5", "tenant": f"s:{session}"})
    for _ in range(2):
        await client.post(CHAT, json=BODY, headers=auth("app-chat", **{"X-Mock-Session": session}))


# --- GET /_mock/verdict ---------------------------------------------------------------------------


async def test_the_verdict_over_http_names_each_finding_with_its_requests(client):
    await retry_at_once(client, "v")
    resp = await client.get("/_mock/verdict?tenant=s:v")
    assert resp.status == 200
    verdict = await resp.json()
    assert verdict["ok"] is False
    assert [f["name"] for f in verdict["findings"]] == ["retry_after_ignored", "no_backoff"]
    first = verdict["findings"][0]
    assert set(first) == {"name", "message", "requests"} and len(first["requests"]) == 2
    assert first["message"].startswith("POST /v1/chat-messages retried ") and "Retry-After: 5" in first["message"]


async def test_the_verdict_takes_a_retry_budget_and_other_tenants_are_clean(client):
    await retry_at_once(client, "v")
    strict = await (await client.get("/_mock/verdict?tenant=s:v&retry_budget=0")).json()
    assert "retry_budget_exceeded" in [f["name"] for f in strict["findings"]]
    await client.post(CHAT, json=BODY, headers=auth("app-chat", **{"X-Mock-Session": "calm"}))
    assert await (await client.get("/_mock/verdict?tenant=s:calm")).json() == {"ok": True, "findings": []}


@pytest.mark.parametrize("query", ["retry_budget=many", "retry_budget=-1", "budget=1"])
async def test_a_bad_verdict_query_is_a_400(client, expect_error, query):
    await expect_error(await client.get(f"/_mock/verdict?{query}"), 400, "invalid_param")


async def test_verdict_assert_ok_raises_the_worded_findings(client):
    await retry_at_once(client, "t1")
    verdict = handle_for(client).journal.verdict()
    with pytest.raises(AssertionError) as caught:
        verdict.assert_ok()
    text = str(caught.value)
    assert text.startswith("the client's failure handling has 2 finding(s):\n")
    assert str(verdict) in text and "retry_after_ignored: POST /v1/chat-messages retried" in text


async def test_verdict_assert_ok_passes_quietly_when_there_is_nothing(client):
    handle_for(client).journal.verdict().assert_ok()


# --- GET /_mock/apps and handle.api_key ----------------------------------------------------------


async def test_apps_lists_the_built_in_apps_and_dataset_keys(client):
    listed = await (await client.get("/_mock/apps")).json()
    by_key = {a["key"]: a for a in listed["data"]}
    assert by_key["app-chat"] == {
        "key": "app-chat",
        "mode": "chat",
        "name": "Demo Chat",
        "source": "built-in",
        "dsl": None,
        "warnings": [],
        "notes": [],
    }
    assert {a["mode"] for a in listed["data"]} >= {"chat", "advanced-chat", "agent-chat", "completion", "workflow"}
    assert listed["dataset_keys"] == ["dataset-demo"]


USER_APPS = """
apps:
  app-support: {mode: chat, name: Support bot}
  app-workflow: {mode: workflow, name: My pipeline}
  app-agent: null
dataset_keys:
  dataset-mine: {}
"""


async def test_apps_name_the_user_file_they_come_from(make_client, tmp_path: Path):
    (tmp_path / "_apps.yaml").write_text(USER_APPS, encoding="utf-8")
    client = await make_client(fixtures=(tmp_path,))
    listed = await (await client.get("/_mock/apps")).json()
    by_key = {a["key"]: a for a in listed["data"]}
    user_file = str(tmp_path / "_apps.yaml")
    assert by_key["app-support"] == {
        "key": "app-support",
        "mode": "chat",
        "name": "Support bot",
        "source": user_file,
        "dsl": None,
        "warnings": [],
        "notes": [],
    }
    assert by_key["app-workflow"]["source"] == user_file and by_key["app-workflow"]["name"] == "My pipeline"
    assert by_key["app-chat"]["source"] == "built-in"
    assert "app-agent" not in by_key
    assert set(listed["dataset_keys"]) == {"dataset-demo", "dataset-mine"}


async def test_api_key_honours_the_user_apps_first(make_client, tmp_path: Path):
    (tmp_path / "_apps.yaml").write_text(USER_APPS, encoding="utf-8")
    client = await make_client(fixtures=(tmp_path,))
    mock = handle_for(client)
    assert mock.api_key("chat") == "app-support"  # yours first
    assert mock.api_key("workflow") == "app-workflow"
    assert mock.api_key("completion") == "app-completion"  # built-in
    assert mock.api_key("agent") == "app-agent"  # no live app of the mode: the built-in table
    assert mock.api_key("dataset") == "dataset-demo"
    resp = await client.post(CHAT, json=BODY, headers=auth(mock.api_key("chat")))
    assert resp.status == 200


async def test_api_key_of_an_unknown_mode_lists_the_known_ones(client):
    with pytest.raises(ValueError) as caught:
        handle_for(client).api_key("chatbot")
    message = str(caught.value)
    assert message.startswith("unknown app mode 'chatbot' (did you mean 'chat'?); known modes: ")
    assert "advanced-chat" in message and "workflow" in message and "dataset" in message


# --- GET /_mock/journal filters -------------------------------------------------------------------


async def test_an_unknown_journal_filter_is_a_400_naming_the_known_ones(client, expect_error):
    body = await expect_error(await client.get("/_mock/journal?foo=1"), 400, "invalid_param")
    assert body["message"] == "unknown filter 'foo'; known filters: tenant, path, status, since"
    body = await expect_error(await client.get("/_mock/journal?stauts=4xx"), 400, "invalid_param")
    assert body["message"].startswith("unknown filter 'stauts' (did you mean 'status'?)")


async def test_the_admin_token_in_the_query_is_no_filter(make_client):
    client = await make_client(admin_token="secret")
    assert (await client.get("/_mock/journal?token=secret&status=2xx")).status == 200


# --- bodies as curl sends them --------------------------------------------------------------------


async def test_a_post_without_a_json_content_type_is_read_as_json_when_no_page_sent_it(client):
    resp = await client.post(
        "/_mock/faults",
        data='{"fault": "outage", "tenant": "s:c"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},  # what `curl -d` says
    )
    assert resp.status == 201
    info = await client.get("/v1/info", headers=auth("app-chat", **{"X-Mock-Session": "c"}))
    assert info.status == 503


async def test_a_post_that_is_not_json_is_still_a_400(client, expect_error):
    resp = await client.post("/_mock/faults", data="fault=outage", headers={"Content-Type": "text/plain"})
    await expect_error(resp, 400, "bad_request")


# --- the handle: faults that never fired, scenarios, errors ----------------------------------------


async def test_assert_faults_fired_names_each_fault_that_never_fired(client):
    mock = handle_for(client)
    mock.fail("rate_limit", times=3)
    mock.fail("outage", endpoint="service.get_app_info")
    await client.post("/_mock/faults", json={"fault": "reset"})  # every tenant's, not this test's
    with pytest.raises(AssertionError) as caught:
        mock.assert_faults_fired()
    assert str(caught.value) == (
        "queued faults that never fired:\n"
        "  rate_limit;times=3 (f1, f2)\n"
        "  outage;times=1 on service.get_app_info (f3, f4)"
    )


async def test_assert_faults_fired_passes_once_each_fired_in_any_of_the_test_s_tenants(client):
    mock = handle_for(client)
    mock.fail("rate_limit", times=3, endpoint="service.send_chat_message")
    mock.fail("outage", endpoint="service.get_app_info")
    assert (await client.post(CHAT, json=BODY, headers=auth("app-chat"))).status == 429  # header-less: default
    assert (await client.get("/v1/info", headers=auth("app-chat", **mock.headers))).status == 503
    mock.assert_faults_fired()


async def test_scenario_with_an_unknown_name_suggests_the_closest(client):
    with pytest.raises(ValueError) as caught:
        handle_for(client).scenario("chatflw")
    message = str(caught.value)
    assert message.startswith("no endpoint has a scenario named 'chatflw' (did you mean 'chatflow'?); known scenarios:")
    assert "default" in message


async def test_the_handle_can_force_a_stub_of_its_own_by_name(client):
    mock = handle_for(client)
    never = {"body.query": "never"}
    mock.stub("service.send_chat_message", match=never, respond={"blocking": {"answer": "S"}}, name="s")
    mock.scenario("s")
    resp = await client.post(CHAT, json=BODY, headers=auth("app-chat", **mock.headers))
    assert (await resp.json())["answer"] == "S"


async def test_control_errors_are_the_same_in_process_and_over_http(client):
    local = handle_for(client)
    remote = handle_for(client, HttpControl(str(client.make_url("")).rstrip("/")))
    errors = []
    for mock in (local, remote):
        with pytest.raises(ControlError) as caught:
            await asyncio.to_thread(mock.fail, "rate_limt")
        errors.append(caught.value)
    assert [type(e) for e in errors] == [ControlError, ControlError]
    assert {(e.status, e.code, str(e)) for e in errors} == {
        (
            400,
            "mock_invalid_fault",
            "unknown fault 'rate_limt' (did you mean rate_limit, rate_limit_error, rate_limit_exceeded?) "
            "(dify-mockserver POST /_mock/faults: 400 mock_invalid_fault)",
        )
    }
    assert all(isinstance(e, ValueError) for e in errors)


async def test_the_remote_handle_stubs_and_lists_apps_over_http(client):
    remote = handle_for(client, HttpControl(str(client.make_url("")).rstrip("/")))
    name = await asyncio.to_thread(
        remote.stub, "service.send_chat_message", respond={"blocking": {"answer": "over HTTP"}}
    )
    assert name == "stub-1"
    assert await asyncio.to_thread(remote.api_key, "chat") == "app-chat"
    resp = await client.post(CHAT, json=BODY, headers=auth("app-chat", **remote.headers))
    assert (await resp.json())["answer"] == "over HTTP"


# --- journal helpers take paths without /v1 -------------------------------------------------------


async def test_journal_helpers_accept_paths_without_the_v1_prefix(client):
    mock = handle_for(client)
    await client.post(CHAT, json=BODY, headers=auth("app-chat", **mock.headers))
    journal = mock.journal
    assert journal.assert_called_with("/chat-messages", {"query": "hi"})["path"] == CHAT
    assert journal.assert_called_with("chat-messages")["path"] == CHAT
    journal.assert_called_exactly(1, "/chat-messages")
    journal.assert_called_exactly(1, CHAT)
    assert len(journal.filter("/chat-messages", "post")) == 1
    journal.assert_called_exactly(0, "/info")
    with pytest.raises(AssertionError, match=r"no request to /info; seen: POST /v1/chat-messages"):
        journal.assert_called_with("/info")
