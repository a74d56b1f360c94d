"""The blocking chat answer the bench's own servers give: the same shape as the mock's."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any


def new_id() -> str:
    return str(uuid.UUID(bytes=os.urandom(16), version=4))


def blocking_answer(body: dict[str, Any], mode: str) -> dict[str, Any]:
    message_id = new_id()
    return {
        "event": "message",
        "task_id": new_id(),
        "id": message_id,
        "message_id": message_id,
        "conversation_id": body.get("conversation_id") or new_id(),
        "mode": mode,
        "answer": f"You asked: {body['query']}",
        "metadata": {
            "usage": {
                "prompt_tokens": 12,
                "prompt_unit_price": "0.001",
                "prompt_price_unit": "0.001",
                "prompt_price": "0.0000120",
                "completion_tokens": 9,
                "completion_unit_price": "0.002",
                "completion_price_unit": "0.001",
                "completion_price": "0.0000180",
                "total_tokens": 21,
                "total_price": "0.0000300",
                "currency": "USD",
                "latency": 0.5,
            },
            "retriever_resources": [],
        },
        "created_at": int(time.time()),  # noqa: TID251 - a bench server, not the mock
    }
