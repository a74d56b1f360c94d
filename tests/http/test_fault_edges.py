"""Fault edge cases: schedules in a one-request header, a node the stream does not have, `after` past the end."""

from __future__ import annotations

import aiohttp
import pytest
from dify_facts import auth

from mockserver.keys import TENANTS

STREAM = {"inputs": {}, "query": "one two", "user": "u", "response_mode": "streaming"}


@pytest.mark.parametrize("fault", ["outage;skip=1", "rate_limit;times=2", "outage;every=2", "outage;quota=1;per=60"])
async def test_call_counting_schedules_are_refused_in_the_header(client, fault):
    resp = await client.post("/v1/chat-messages", json=STREAM, headers=auth("app-chat", **{"X-Mock-Fault": fault}))
    body = await resp.json()
    assert resp.status == 400 and body["code"] == "mock_invalid_fault" and "POST /_mock/faults" in body["message"]


async def test_p_is_allowed_in_the_header(client):
    headers = auth("app-chat", **{"X-Mock-Fault": "outage;p=1"})
    assert (await client.post("/v1/chat-messages", json=STREAM, headers=headers)).status == 503


async def test_an_unknown_node_is_a_clear_400_before_the_stream_starts(client):
    body = {"inputs": {}, "user": "u", "response_mode": "streaming"}
    headers = auth("app-workflow", **{"X-Mock-Fault": "stream_cut;after_node=nope"})
    resp = await client.post("/v1/workflows/run", json=body, headers=headers)
    payload = await resp.json()
    assert resp.status == 400 and payload["code"] == "mock_invalid_fault"
    assert "nope" in payload["message"] and "start, llm, end" in payload["message"]


async def test_a_cut_past_the_last_event_leaves_the_body_unterminated(client):
    headers = auth("app-chat", **{"X-Mock-Fault": "stream_cut;after=99", "X-Mock-Session": "past"})
    resp = await client.post("/v1/chat-messages", json=STREAM, headers=headers)
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    (entry,) = client.app[TENANTS].get("s:past").journal
    assert entry["events"][-1] == "message_end" and entry["outcome"] == "cut"
    assert entry["fault"]["after_events"] == len(entry["events"])
