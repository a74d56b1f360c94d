"""Faults, scenarios and stubs apply to a DSL app as to any other app (issue 12): a header fault refuses
the request in Dify's envelope, stream faults cut or fail the graph's own stream at its real nodes, a
forced scenario replaces the graph's plan, and an ad-hoc scenario's `graph:` steers one run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

FILES = Path(__file__).parent.parent / "dify" / "dsl_files"
KEY = "app-gate"
BODY = {"inputs": {"topic": "tea"}, "user": "ann", "response_mode": "streaming"}


@pytest.fixture
async def client(make_client: Any) -> TestClient:
    return await make_client(dsl=(f"{FILES / 'review_gate.yml'}={KEY}",))


def headers(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}", **extra}


def titles(events: list[dict[str, Any]]) -> list[str]:
    return [f"{e['event']} {e['data'].get('title', '')}".strip() for e in events if e["event"].startswith("node_")]


async def test_a_header_fault_refuses_a_dsl_run_in_difys_envelope(client: TestClient) -> None:
    resp = await client.post("/v1/workflows/run", json=BODY, headers=headers(**{"X-Mock-Fault": "rate_limit"}))
    body = await resp.json()
    assert (resp.status, list(body), body["code"], body["status"]) == (
        429,
        ["code", "message", "status"],
        "rate_limit_exceeded",
        429,
    )


async def read_until_cut(resp: Any) -> tuple[list[dict[str, Any]], bool]:
    """The data events of a stream read frame by frame, and whether it ended without its last chunk."""
    events: list[dict[str, Any]] = []
    try:
        while chunk := await resp.content.readuntil(b"\n\n"):
            if chunk.startswith(b"data: "):
                events.append(json.loads(chunk[6:]))
    except aiohttp.ClientPayloadError:
        return events, True
    return events, False


async def test_stream_cut_after_a_real_node(client: TestClient) -> None:
    fault = {"X-Mock-Fault": "stream_cut;after_node=draft"}
    resp = await client.post("/v1/workflows/run", json=BODY, headers=headers(**fault))
    assert resp.status == 200
    events, cut = await read_until_cut(resp)
    assert cut
    assert titles(events) == ["node_started Start", "node_finished Start", "node_started Draft", "node_finished Draft"]
    assert events[-1]["event"] == "node_finished" and not any(e["event"] == "workflow_finished" for e in events)


async def test_stream_error_fails_the_next_real_node(client: TestClient, parse_sse: Any) -> None:
    fault = {"X-Mock-Fault": "stream_error;after=3;message=upstream down"}
    resp = await client.post("/v1/workflows/run", json=BODY, headers=headers(**fault))
    events = parse_sse(await resp.read())
    failed = [e["data"] for e in events if e["event"] == "node_finished" and e["data"]["status"] == "failed"]
    assert [d["title"] for d in failed] == ["Draft"]
    assert events[-1]["event"] == "workflow_finished" and events[-1]["data"]["status"] == "failed"
    assert events[-1]["data"]["error"] == "upstream down"


async def test_a_forced_scenario_replaces_the_graphs_plan(client: TestClient, parse_sse: Any) -> None:
    resp = await client.post("/v1/workflows/run", json=BODY, headers=headers(**{"X-Mock-Scenario": "human_input"}))
    events = parse_sse(await resp.read())
    assert "node_started Draft" not in titles(events)  # the scenario's own events, not the app's nodes
    assert [e["event"] for e in events][-2:] == ["human_input_required", "workflow_paused"]


async def test_an_ad_hoc_scenario_steers_one_run_with_graph_knobs(client: TestClient, parse_sse: Any) -> None:
    scenario = {"match": {"body.inputs.topic": "coffee"}, "graph": {"human_input": {"Review": "reject"}}}
    resp = await client.post("/_mock/scenarios", json={"endpoint": "service.run_workflow", "scenario": scenario})
    assert resp.status == 201, await resp.text()
    steered = parse_sse(
        await (
            await client.post("/v1/workflows/run", json={**BODY, "inputs": {"topic": "coffee"}}, headers=headers())
        ).read()
    )
    assert "node_started Rejected" in titles(steered) and steered[-1]["data"]["status"] == "succeeded"
    plain = parse_sse(await (await client.post("/v1/workflows/run", json=BODY, headers=headers())).read())
    assert plain[-1]["event"] == "workflow_paused"  # a run the scenario does not match pauses at Review
