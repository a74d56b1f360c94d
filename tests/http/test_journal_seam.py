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


async def test_every_unknown_path_and_method_is_answered_and_journaled_as_dify_answers_it(
    aiohttp_client: Any,
) -> None:
    """No route takes them (the catch-all does): Flask's HTML 404 for a path no Dify release has, on the
    control plane too, and Dify's 405 with the path's methods; never aiohttp's text/plain. A path with
    an encoded newline is no exception (the schemathesis run found one)."""
    client = await aiohttp_client(create_app(Settings(pace_scale=0.0)))
    for path in ("/v1/nowhere", "/v1/datasets/000%0A/metadata/built-in/0", "/%0A", "/"):
        resp = await client.post(path, json={})
        assert (resp.status, resp.content_type) == (404, "text/html"), path
    resp = await client.put("/v1/chat-messages", json={})
    assert (resp.status, resp.content_type) == (405, "application/json")
    assert "POST" in resp.headers["Allow"].replace(" ", "").split(",")  # its format is aiohttp's, not Werkzeug's
    assert (await resp.json())["code"] == "method_not_allowed"
    for path in ("/_mock/nowhere%0A", "/_mock"):
        resp = await client.get(path)
        assert (resp.status, resp.content_type) == (404, "text/html"), path
    journal = list(client.app[TENANTS].get("-").journal)
    assert [(e["method"], e["status"], e["unmatched"]) for e in journal] == [
        *[("POST", 404, True)] * 4,
        ("PUT", 405, True),
    ]  # the /_mock/ one is the control plane's: never journaled
