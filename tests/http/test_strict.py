"""--strict: a fixture that produces something Dify would never send answers 500 mock_schema_violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mockserver.app import create_app
from mockserver.settings import Settings

AUTH = {"Authorization": "Bearer app-chat"}


def _fixtures(tmp_path: Path) -> Path:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "get_app_info.yaml").write_text(
        "scenarios:\n  default:\n    respond:\n      blocking: {name: 5, description: x, tags: [], mode: chat}\n"
    )
    (tmp_path / "service" / "send_chat_message.yaml").write_text(
        "scenarios:\n  default:\n    respond:\n      stream:\n        events:\n"
        "          - {event: agent_thought, position: 1, tool_input: {not: a string}}\n"
        "          - {event: message_end}\n"
    )
    return tmp_path


async def test_strict_names_the_fixture(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(Settings(pace_scale=0.0, strict=True, fixtures=(_fixtures(tmp_path),))))
    resp = await client.get("/v1/info", headers=AUTH)
    body = await resp.json()
    assert resp.status == 500 and body["code"] == "mock_schema_violation"
    assert "get_app_info.yaml" in body["message"] and "'default'" in body["message"] and "name" in body["message"]

    chat = {"inputs": {}, "query": "q", "user": "u", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=chat, headers=AUTH)
    body = await resp.json()
    assert resp.status == 500 and "event 1 (agent_thought)" in body["message"]


async def test_without_strict_the_fixture_is_served_as_written(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(Settings(pace_scale=0.0, fixtures=(_fixtures(tmp_path),))))
    resp = await client.get("/v1/info", headers=AUTH)
    assert resp.status == 200 and (await resp.json())["name"] == 5
