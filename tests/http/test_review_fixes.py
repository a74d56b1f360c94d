"""Hardening: the control plane refuses other origins, fault numbers are bounded, the journal keeps
refused bodies and dropped connections' missing status, HEAD works, validated inputs are echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from dify_facts import auth

from mockserver.keys import TENANTS

CHAT = {"inputs": {}, "query": "hi", "user": "u"}


async def test_the_control_plane_refuses_other_origins_and_forms(client):
    forged = await client.post(
        "/_mock/faults",
        data='{"fault": "outage;times=*"}',
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert forged.status == 403 and (await forged.json())["code"] == "mock_forbidden"
    # A page of the mock's own origin still sends JSON only (without Origin, see test_control_plane.py).
    own_origin = f"http://{client.host}:{client.port}"
    form = await client.post(
        "/_mock/faults",
        data='{"fault": "outage;times=*"}',
        headers={"Content-Type": "text/plain", "Origin": own_origin},
    )
    assert form.status == 415
    rebound = await client.get("/_mock/journal", headers={"Host": "attacker.example:5001"})
    assert rebound.status == 403
    own = await client.post("/_mock/faults", json={"fault": "outage"}, headers={"Origin": own_origin})
    assert own.status == 201
    assert (await client.get("/v1/info", headers=auth("app-chat"))).status == 503  # nothing else was queued


@pytest.mark.parametrize(
    "fault",
    [
        "rate_limit;retry_after=99999999999999999999999999",
        "stream_cut;after=99999999999999",
        "stream_stall;ping_ms=0",
        "latency;ms=99999999",
        "latency;jitter=nan",
        "outage;p=nan",
        "dribble;bytes=0",
    ],
)
async def test_fault_numbers_are_bounded(client, fault):
    resp = await client.get("/v1/info", headers=auth("app-chat", **{"X-Mock-Fault": fault}))
    assert resp.status == 400 and (await resp.json())["code"] == "mock_invalid_fault"


async def test_clock_advance_is_bounded(client):
    assert (await client.post("/_mock/clock", json={"tenant": "s:c", "advance": 1e20})).status == 400


async def test_refused_bodies_and_dropped_connections_are_journaled_faithfully(client):
    headers = auth("app-chat", **{"X-Mock-Session": "j"})
    await client.post("/v1/chat-messages", json={"inputs": {}, "user": "u"}, headers=headers)
    with pytest.raises(Exception):  # noqa: B017 - the connection is dropped; its exact error is aiohttp's
        await client.get("/v1/info", headers={**headers, "X-Mock-Fault": "empty"})
    refused, dropped = client.app[TENANTS].get("s:j").journal
    assert refused["status"] == 400 and refused["body"] == {"inputs": {}, "user": "u"}
    assert dropped["status"] is None and dropped["aborted"] == "empty"


async def test_head_is_answered_where_get_is(client):
    resp = await client.head("/v1/info", headers=auth("app-chat"))
    assert resp.status == 200 and await resp.read() == b""


async def test_chatflow_echoes_only_validated_inputs(client, parse_sse):
    body = {"inputs": {"city": "Oslo", "zzz": "undeclared"}, "query": "q", "user": "u", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-advanced-chat"))
    started = parse_sse(await resp.read())[0]
    assert started["event"] == "workflow_started" and "zzz" not in started["data"]["inputs"]


@pytest.mark.schema_violations
async def test_strict_names_the_users_file(make_client, tmp_path: Path):
    (tmp_path / "service").mkdir()
    mine = tmp_path / "service" / "get_app_info.yaml"
    mine.write_text("scenarios:\n  default:\n    respond:\n      blocking: {name: 5}\n")
    client = await make_client(fixtures=(tmp_path,))
    body = await (await client.get("/v1/info", headers=auth("app-chat"))).json()
    assert body["code"] == "mock_schema_violation" and str(mine) in body["message"]
