"""Run-time stubs: POST /_mock/scenarios with a scenario body (README, "Stubs"), the
handle's .stub(), and the problems of a broken stub named by JSON path as `lint` words them."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientPayloadError
from dify_facts import auth

from mockserver.control.api import LocalControl
from mockserver.testing.handle import ControlError, DifyMock

CHAT = "/v1/chat-messages"
ENDPOINT = "service.send_chat_message"


def chat_body(query: str = "hello", mode: str = "blocking", **extra: Any) -> dict[str, Any]:
    return {"inputs": {}, "query": query, "user": "u", "response_mode": mode, **extra}


def session(name: str, **extra: str) -> dict[str, str]:
    return auth("app-chat", **{"X-Mock-Session": name}, **extra)


async def stub(client, scenario: Any, tenant: str | None = "s:a", **extra: Any):
    body = {"endpoint": ENDPOINT, "scenario": scenario, "tenant": tenant, **extra}
    return await client.post("/_mock/scenarios", json={k: v for k, v in body.items() if v is not None})


async def answer(client, name: str, query: str = "hello", **headers: str) -> str:
    resp = await client.post(CHAT, json=chat_body(query), headers=session(name, **headers))
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["answer"])


# --- answering ------------------------------------------------------------------------------------


async def test_a_blocking_stub_answers_its_tenants_only(client):
    resp = await stub(client, {"respond": {"blocking": {"answer": "Stubbed."}}})
    assert resp.status == 201
    assert (await resp.json()) == {"result": "success", "endpoint": ENDPOINT, "name": "stub-1", "tenant": "s:a"}
    assert await answer(client, "a") == "Stubbed."
    assert await answer(client, "b") == "You asked: hello"


async def test_a_stream_stub_streams_its_events_with_the_envelope_filled_in(client, parse_sse):
    events = [{"event": "message", "answer": "one two", "split": "words"}, {"event": "message_end"}]
    assert (await stub(client, {"respond": {"stream": {"events": events}}})).status == 201
    resp = await client.post(CHAT, json=chat_body(mode="streaming"), headers=session("a"))
    sent = parse_sse(await resp.read())
    assert [e["event"] for e in sent] == ["message", "message", "message_end"]
    assert "".join(e.get("answer", "") for e in sent) == "one two"
    assert all(e["conversation_id"] == sent[0]["conversation_id"] for e in sent)


async def test_an_error_stub_answers_dify_s_error_body(client, expect_error):
    assert (await stub(client, {"respond": {"error": {"code": "provider_quota_exceeded"}}})).status == 201
    resp = await client.post(CHAT, json=chat_body(), headers=session("a"))
    await expect_error(resp, 400, "provider_quota_exceeded")


async def test_a_stub_is_tried_before_the_fixture_s_own_rules(client):
    # The built-in `weather` rule matches this query; the stub, matching it too, comes first.
    query = "what is the weather?"
    match = {"body.query": {"regex": "weather"}}
    assert (await stub(client, {"match": match, "respond": {"blocking": {"answer": "Rain."}}})).status == 201
    assert await answer(client, "a", query) == "Rain."
    assert await answer(client, "a", "hello") == "You asked: hello"  # no match: the fixture answers
    assert await answer(client, "b", query) != "Rain."


async def test_stub_times_count_per_tenant(client):
    scenario = {"times": 2, "respond": {"blocking": {"answer": "Twice."}}}
    assert (await stub(client, scenario, tenant="s:*")).status == 201
    assert [await answer(client, "a") for _ in range(3)] == ["Twice.", "Twice.", "You asked: hello"]
    assert [await answer(client, "b") for _ in range(3)] == ["Twice.", "Twice.", "You asked: hello"]


async def test_a_later_stub_wins_and_a_stub_of_the_same_name_replaces_it(client):
    await stub(client, {"respond": {"blocking": {"answer": "first"}}}, name="mine")
    await stub(client, {"respond": {"blocking": {"answer": "other"}}})
    assert await answer(client, "a") == "other"
    await stub(client, {"respond": {"blocking": {"answer": "second"}}}, name="stub-1")  # replaces `other`
    assert await answer(client, "a") == "second"
    listed = (await (await client.get("/_mock/scenarios?tenant=s:a")).json())["adhoc"]
    assert [s["scenario"] for s in listed] == ["mine", "stub-1"]


async def test_a_stub_can_carry_a_fault(client, expect_error):
    scenario = {"respond": {"blocking": {"answer": "after"}}, "fault": "rate_limit;retry_after=3"}
    assert (await stub(client, scenario)).status == 201
    resp = await client.post(CHAT, json=chat_body(), headers=session("a"))
    await expect_error(resp, 429, "rate_limit_exceeded")
    assert resp.headers["Retry-After"] == "3"
    assert await answer(client, "a") == "after"  # a fixture fault fires once by default


async def test_a_stub_is_named_by_x_mock_scenario_and_by_forcing(client, expect_error):
    await stub(client, {"match": {"body.query": "never"}, "respond": {"blocking": {"answer": "named"}}}, name="pick")
    assert await answer(client, "a") == "You asked: hello"
    assert await answer(client, "a", **{"X-Mock-Scenario": "pick"}) == "named"
    resp = await client.post(CHAT, json=chat_body(), headers=session("a", **{"X-Mock-Scenario": "pik"}))
    body = await expect_error(resp, 400, "mock_unknown_scenario")
    assert "did you mean 'pick'" in body["message"]
    forced = await client.post("/_mock/scenarios", json={"endpoint": ENDPOINT, "scenario": "pick", "tenant": "s:a"})
    assert forced.status == 200
    assert await answer(client, "a") == "named"


# --- listing and removing -------------------------------------------------------------------------


async def test_get_lists_stubs_and_delete_drops_those_of_the_selected_tenants(client):
    await stub(client, {"respond": {"blocking": {"answer": "A"}}}, tenant="s:a", times=3)
    await stub(client, {"respond": {"blocking": {"answer": "B"}}}, tenant="s:b")
    await client.post("/_mock/scenarios", json={"endpoint": ENDPOINT, "scenario": "chatflow", "tenant": "s:a"})
    listed = await (await client.get("/_mock/scenarios")).json()
    assert listed["adhoc"] == [
        {"tenant": "s:a", "endpoint": ENDPOINT, "scenario": "stub-1", "times": None},
        {"tenant": "s:b", "endpoint": ENDPOINT, "scenario": "stub-2", "times": None},
    ]
    assert listed["data"][ENDPOINT][-1] == "default"  # the fixtures' names are listed as before
    resp = await client.delete("/_mock/scenarios?tenant=s:a")
    assert (await resp.json()) == {"result": "success", "adhoc": 1, "forced": 1}
    listed = await (await client.get("/_mock/scenarios")).json()
    assert [s["tenant"] for s in listed["adhoc"]] == ["s:b"] and listed["forced"] == []
    assert await answer(client, "a") == "You asked: hello"
    assert await answer(client, "b") == "B"


async def test_a_reset_drops_the_tenant_s_stubs(client):
    await stub(client, {"respond": {"blocking": {"answer": "gone soon"}}})
    await client.post("/_mock/reset", json={"tenant": "s:a"})
    assert await answer(client, "a") == "You asked: hello"


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (
            {"respond": {"stream": {"events": [{"event": "message", "answr": "x"}]}}},
            "scenario.respond.stream.events[0]: unknown key 'answr' in a message event (did you mean 'answer'?)",
        ),
        ({"respond": {"strem": {}}}, "scenario.respond: unknown key 'strem' (did you mean 'stream'?)"),
        (
            {"repsond": {}},
            "scenario: unknown key 'repsond' (did you mean 'respond'?); "
            "scenario: needs 'respond' or 'sequence' or 'fault' or 'indexing' or 'graph'",
        ),
        ({"match": {"body.query": "x"}}, "scenario: needs 'respond' or 'sequence' or 'fault' or 'indexing' or 'graph'"),
        ({"respond": {"blocking": {}}, "times": 0}, "scenario.times: 0 is less than the minimum of 1"),
        (
            {"match": {"body.query": {"regexp": "x"}}, "respond": {"blocking": {}}},
            "scenario.match.body.query: unknown operator 'regexp' (did you mean 'regex'?)",
        ),
        (
            {"fault": "rate_limt"},
            "scenario.fault: unknown fault 'rate_limt' (did you mean rate_limit, rate_limit_error, "
            "rate_limit_exceeded?)",
        ),
        (
            {"respond": {"stream": {"events": [{"event": "mesage"}]}}},
            "scenario.respond.stream.events[0].event: unknown event 'mesage' (did you mean 'message'?)",
        ),
        (
            {"respond": {"blocking": {"answer": "{{ request.body.query | shout }}"}}},
            "scenario.respond.blocking.answer: unknown filter 'shout' in 'request.body.query | shout' "
            "(known: default, json, length, lower, truncate, upper)",
        ),
        (
            {"respond": {"blocking": {"answer": "{{ fake.nope() }}"}}},
            "scenario.respond.blocking.answer: unknown Faker provider 'fake.nope()'",
        ),
        (
            {"respond": {"blocking": {"answr": "x"}}},
            "scenario.respond.blocking: unknown key 'answr' in a blocking body (did you mean 'answer'?)",
        ),
        ("just text", "scenario: 'just text' is not of type 'object'"),
    ],
)
async def test_a_broken_stub_is_a_400_naming_the_json_path(client, expect_error, scenario, message):
    body = {"endpoint": ENDPOINT, "scenario": scenario, "tenant": "s:a"}
    if isinstance(scenario, str):  # a string forces a scenario by name: send it as a stub another way
        body = {"endpoint": ENDPOINT, "scenario": {"respond": scenario}, "tenant": "s:a"}
        message = "scenario.respond: 'just text' is not of type 'object'"
    resp = await client.post("/_mock/scenarios", json=body)
    got = await expect_error(resp, 400, "mock_invalid_scenario")
    assert got["message"] == message
    assert (await (await client.get("/_mock/scenarios")).json())["adhoc"] == []


async def test_every_problem_of_a_stub_comes_at_once(client, expect_error):
    scenario = {"respond": {"stream": {"events": [{"event": "message", "answr": "x"}, {"event": "nope"}]}}}
    got = await expect_error(await stub(client, scenario), 400, "mock_invalid_scenario")
    first, second = got["message"].split("; ")
    assert first.startswith("scenario.respond.stream.events[0]: unknown key 'answr'")
    assert second.startswith("scenario.respond.stream.events[1].event: unknown event 'nope'")


async def test_refused_stubs_use_up_no_names(client):
    await stub(client, {"respond": {"strem": {}}})
    resp = await stub(client, {"respond": {"blocking": {"answer": "ok"}}})
    assert (await resp.json())["name"] == "stub-1"


async def test_a_stub_needs_a_known_endpoint_and_a_real_name(client, expect_error):
    resp = await client.post("/_mock/scenarios", json={"endpoint": "service.nowhere", "scenario": {}})
    await expect_error(resp, 400, "invalid_param")
    resp = await stub(client, {"respond": {"blocking": {}}}, name=" ")
    await expect_error(resp, 400, "invalid_param")


async def test_forcing_an_unknown_name_suggests_the_closest(client, expect_error):
    resp = await client.post("/_mock/scenarios", json={"endpoint": ENDPOINT, "scenario": "chatflw"})
    body = await expect_error(resp, 400, "invalid_param")
    assert body["message"].startswith(f"endpoint {ENDPOINT} has no scenario 'chatflw' (did you mean 'chatflow'?);")
    assert body["message"].endswith("default")


# --- the handle ------------------------------------------------------------------------------------


def handle_for(client) -> DifyMock:
    return DifyMock(str(client.make_url("")), LocalControl(client.server.app), "t1", 0)


async def test_handle_stub_acts_on_the_test_s_session_and_the_default_tenant(client):
    mock = handle_for(client)
    name = mock.stub(
        ENDPOINT,
        match={"body.query": {"contains": "refund"}},
        respond={"blocking": {"answer": "Refunds take 5 days."}},
        times=1,
    )
    assert name == "stub-1"
    assert await answer(client, "t1", "a refund?") == "Refunds take 5 days."
    assert await answer(client, "t1", "a refund?") == "You asked: a refund?"  # times=1
    resp = await client.post(CHAT, json=chat_body("refund please"), headers=auth("app-chat"))  # header-less
    assert (await resp.json())["answer"] == "Refunds take 5 days."
    listed = (await (await client.get("/_mock/scenarios")).json())["adhoc"]
    assert [(s["tenant"], s["scenario"]) for s in listed] == [("s:t1", "stub-1"), ("default", "stub-1")]


async def test_handle_stub_with_stream_timing_and_faults(client):
    mock = handle_for(client)
    mock.stub(
        ENDPOINT,
        respond={"stream": {"events": [{"event": "message", "answer": "hi"}, {"event": "message_end"}]}},
        timing={"first_event_ms": 0, "interval_ms": 0},
        faults={"name": "stream_cut", "after": 1},
    )
    resp = await client.post(CHAT, json=chat_body(mode="streaming"), headers=session("t1"))
    with pytest.raises(ClientPayloadError):  # cut after one event: no terminal chunk
        await resp.read()
    entry = mock.journal.last
    assert entry["scenario"] == "stub-1" and entry["events"] == ["message"] and entry["outcome"] == "cut"


async def test_handle_stub_errors_are_control_errors(client):
    mock = handle_for(client)
    with pytest.raises(ControlError) as caught:
        mock.stub(ENDPOINT, respond={"stream": {"events": [{"event": "message", "answr": "x"}]}})
    assert caught.value.code == "mock_invalid_scenario" and caught.value.status == 400
    assert str(caught.value).startswith("scenario.respond.stream.events[0]: unknown key 'answr'")
    assert isinstance(caught.value, ValueError)
