"""The journal middleware records every Dify request per tenant (its query API comes later)."""

from __future__ import annotations

from typing import Any

from mockserver.app import create_app
from mockserver.keys import TENANTS
from mockserver.settings import Settings


async def test_requests_are_recorded_per_tenant(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(Settings(pace_scale=0.0)))
    headers = {"Authorization": "Bearer app-chat", "X-Mock-Session": "j1"}
    body = {"inputs": {}, "query": "hi", "user": "u", "response_mode": "streaming"}
    assert (await client.post("/v1/chat-messages", json=body, headers=headers)).status == 200
    assert (await client.get("/v1/info", headers={"X-Mock-Session": "j1"})).status == 401
    assert (await client.get("/v1/info", headers={"Authorization": "Bearer app-chat"})).status == 200
    assert (await client.get("/_mock/health")).status == 200  # the control plane is never journaled

    registry = client.app[TENANTS]
    chat, denied = list(registry.get("s:j1").journal)
    assert chat["endpoint"] == "service.send_chat_message" and chat["scenario"] == "default"
    assert chat["status"] == 200 and chat["events"] == ["message", "message", "message", "message_end"]
    assert chat["headers"]["Authorization"] == "…chat" and chat["body"]["query"] == "hi"
    assert denied["status"] == 401 and denied["tenant"] == "s:j1"
    (info,) = list(registry.get("default").journal)
    assert info["path"] == "/v1/info" and info["tenant"] == "default"


async def test_unmatched_routes_are_marked(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(Settings(pace_scale=0.0)))
    assert (await client.get("/v1/nowhere")).status == 404
    (entry,) = list(client.app[TENANTS].get("-").journal)
    assert entry["unmatched"] is True and entry["status"] == 404
