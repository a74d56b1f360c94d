"""The project's DSL conformance cases through HTTP (tests/dify/dsl_cases.yaml, DSL.md §A.2.10): each
case's export is added as an app (POST /_mock/apps), its knobs given as an ad-hoc scenario's `graph:`,
and a streamed `/v1/workflows/run` or `/v1/chat-messages` must show the case's outline; blocking mode
answers the same outputs, and a second fresh server streams the same bytes (DSL.md §A.2.11)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.support.dsl_cases import Case, fold, load_cases

CASES = load_cases()
KEY = "app-case"


def sse_outline(events: list[dict[str, Any]]) -> list[str]:
    """The SSE stream in the cases' form: node events by title (a status other than succeeded in
    brackets), chunks by their text, container steps with their index, the rest by name."""
    out: list[str] = []
    for e in events:
        name, data = e["event"], e.get("data") or {}
        if name in ("node_started", "node_finished", "node_retry"):
            status = data.get("status")
            extra = f" [{status}]" if name == "node_finished" and status != "succeeded" else ""
            out.append(f"{name.split('_')[1]} {data['title']}{extra}")
        elif name == "text_chunk":
            out.append("chunk " + data["text"])
        elif name == "message":
            out.append("chunk " + e["answer"])
        elif name in ("iteration_next", "loop_next"):
            out.append(f"{name} {data['index']}")
        else:
            out.append(name)
    return fold(out)


async def serve(make_client: Any, case: Case) -> tuple[TestClient, str, dict[str, Any]]:
    """A fresh server with the case's app; returns it, the run path and the request body."""
    client = await make_client()
    doc = case.document()
    resp = await client.post("/_mock/apps", json={"key": KEY, "dsl": case.path.read_text(encoding="utf-8")})
    assert resp.status == 200, await resp.text()
    chat = doc["app"]["mode"] == "advanced-chat"
    if case.graph:
        endpoint = "service.send_chat_message" if chat else "service.run_workflow"
        resp = await client.post("/_mock/scenarios", json={"endpoint": endpoint, "scenario": {"graph": case.graph}})
        assert resp.status == 201, await resp.text()
    body: dict[str, Any] = {"inputs": case.inputs, "user": "case-user"}
    if chat:
        body["query"] = case.query
    return client, "/v1/chat-messages" if chat else "/v1/workflows/run", body


async def post(client: TestClient, path: str, body: dict[str, Any], mode: str) -> Any:
    resp = await client.post(path, json={**body, "response_mode": mode}, headers={"Authorization": f"Bearer {KEY}"})
    assert resp.status == 200, await resp.text()
    return resp


def expected_outline(case: Case, chat: bool) -> list[str]:
    """The case's outline as the default profile (Dify 1.16) streams it: a failed chatflow run ends at
    workflow_finished, without the `error` event 1.12 sent after it (dify-api/VERSIONS.md V12)."""
    if chat and case.status == "failed":
        return [line for line in case.outline if line != "error"]
    return case.outline


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_case_streams_and_answers_as_written(make_client: Any, parse_sse: Any, case: Case) -> None:
    client, path, body = await serve(make_client, case)
    chat = path == "/v1/chat-messages"
    raw = await (await post(client, path, body, "streaming")).read()
    events = parse_sse(raw)
    assert sse_outline(events) == expected_outline(case, chat)

    last = next(e for e in reversed(events) if e["event"] in ("workflow_finished", "workflow_paused"))
    if case.status == "paused":
        assert last["event"] == "workflow_paused"
    else:
        assert last["event"] == "workflow_finished" and last["data"]["status"] == case.status
        if case.outputs is not None:
            assert last["data"]["outputs"] == case.outputs
    for title, ms in case.elapsed_ms.items():
        # The timing table gives the gap before node_finished; events in between (chunks) add theirs.
        at = next(i for i, e in enumerate(events) if e["event"] == "node_finished" and e["data"]["title"] == title)
        elapsed = events[at]["data"]["elapsed_time"]
        adjacent = events[at - 1]["event"] == "node_started"
        assert elapsed == pytest.approx(ms / 1000) if adjacent else elapsed > ms / 1000, title

    # Blocking mode runs the same plan silently: the same outputs (workflow) or the same answer (chatflow).
    blocking = await (await post(client, path, body, "blocking")).json()
    if chat:
        assert blocking["answer"] == "".join(e["answer"] for e in events if e["event"] == "message")
        if case.outputs is not None:
            assert blocking["answer"] == case.outputs["answer"]
    else:
        assert blocking["data"]["status"] == case.status
        assert blocking["data"]["outputs"] == (last["data"]["outputs"] if case.status != "paused" else {})

    # Another fresh server, the same requests: byte for byte the same stream.
    again, path, body = await serve(make_client, case)
    assert await (await post(again, path, body, "streaming")).read() == raw
