"""Dify API facts and checks shared by the HTTP tests (imported as `dify_facts`: tests/http is no package)."""

from __future__ import annotations

import uuid
from typing import Any

USAGE_KEYS = {
    "prompt_tokens",
    "prompt_unit_price",
    "prompt_price_unit",
    "prompt_price",
    "completion_tokens",
    "completion_unit_price",
    "completion_price_unit",
    "completion_price",
    "total_tokens",
    "total_price",
    "currency",
    "latency",
}
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
MODE_MISMATCH = "Please check if your app mode matches the right API route."
USER_REQUIRED = "Arg user must be provided."
UNKNOWN_UUID = "11111111-2222-4333-8444-555555555555"


def auth(key: str, **extra: str) -> dict[str, str]:
    """Bearer headers for an app key, plus any extra headers."""
    return {"Authorization": f"Bearer {key}", **extra}


def is_uuid4(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return str(parsed) == value and parsed.version == 4


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def queue(client: Any, fault: str, tenant: str | None = None, **extra: Any) -> str:
    """POST /_mock/faults; the new fault's id."""
    payload: dict[str, Any] = {"fault": fault, **extra}
    if tenant is not None:
        payload["tenant"] = tenant
    resp = await client.post("/_mock/faults", json=payload)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert isinstance(body["id"], str) and body["id"]
    return str(body["id"])
