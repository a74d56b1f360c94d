"""A queued fault as the official SDK `dify-client==0.1.10` sees it, against a real `serve --port 0`.

The SDK cannot send X-Mock-Session, so its tenant is the shared `default` one: faults are queued for it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

dify_client = pytest.importorskip("dify_client")

TENANT = "default"


@pytest.fixture(autouse=True)
def fresh_state(running_server: str) -> None:
    resp = requests.post(f"{running_server}/_mock/reset", json={}, timeout=10)
    assert resp.status_code == 200, resp.text


def chat_client(url: str) -> Any:
    client = dify_client.ChatClient("app-chat")
    client.base_url = f"{url}/v1"
    return client


def queue(url: str, fault: str) -> None:
    resp = requests.post(f"{url}/_mock/faults", json={"fault": fault, "tenant": TENANT}, timeout=10)
    assert resp.status_code == 201, resp.text


def test_a_queued_429_with_retry_after_then_success(running_server):
    queue(running_server, "rate_limit;retry_after=2")
    chat = chat_client(running_server)

    limited = chat.create_chat_message(inputs={}, query="hello", user="sdk-user")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert limited.headers["Content-Type"].startswith("application/json")
    assert limited.json() == {"code": "rate_limit_exceeded", "message": "Request rate limit exceeded.", "status": 429}

    # What a client honouring Retry-After does next (the wait itself is the client's business).
    retried = chat.create_chat_message(inputs={}, query="hello", user="sdk-user")
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["answer"] == "You asked: hello"
    assert "Retry-After" not in retried.headers

    listed = requests.get(f"{running_server}/_mock/faults", params={"tenant": TENANT}, timeout=10).json()
    assert [entry["remaining"] for entry in listed["data"]] == [{TENANT: 0}]


def test_a_rate_limited_chat_leaves_no_conversation_for_the_sdk(running_server):
    queue(running_server, "rate_limit;times=2;retry_after=1")
    chat = chat_client(running_server)
    statuses = [chat.create_chat_message(inputs={}, query="hi", user="sdk-user").status_code for _ in range(2)]
    assert statuses == [429, 429]
    ok = chat.create_chat_message(inputs={}, query="hi", user="sdk-user")
    assert ok.status_code == 200
    conversation_id = ok.json()["conversation_id"]
    follow = chat.create_chat_message(inputs={}, query="again", user="sdk-user", conversation_id=conversation_id)
    assert follow.status_code == 200
    assert follow.json()["conversation_id"] == conversation_id


def test_a_queued_stream_error_seen_through_the_sdks_stream(running_server):
    queue(running_server, "stream_error;after=1;code=provider_quota_exceeded")
    chat = chat_client(running_server)
    resp = chat.create_chat_message(inputs={}, query="hello there", user="sdk-user", response_mode="streaming")
    assert resp.status_code == 200
    events = [json.loads(line[len(b"data: ") :]) for line in resp.iter_lines() if line.startswith(b"data: ")]
    assert [e["event"] for e in events] == ["message", "error"]
    assert events[-1]["code"] == "provider_quota_exceeded" and events[-1]["status"] == 400
