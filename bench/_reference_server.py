"""Reference server for bench/blocking.py: a bare aiohttp handler doing the mock's work for one route.

POST /v1/chat-messages: check the bearer token, parse the JSON body, validate it with a
Draft202012Validator of the mock's own request schema, answer a blocking chat body of the same shape.
Prints `reference listening on http://HOST:PORT` when ready; SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from _serving import main
from aiohttp import web
from jsonschema import Draft202012Validator

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "service" / "send_chat_message.json"
KEYS = {"app-chat": "chat"}


def load_validator() -> Draft202012Validator:
    document = json.loads(SCHEMA.read_text())
    body_schema = document["$defs"]["request"]["properties"]["body"]
    Draft202012Validator.check_schema(body_schema)
    return Draft202012Validator(body_schema)


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "status": status}, status=status)


def new_id() -> str:
    return str(uuid.UUID(bytes=os.urandom(16), version=4))


def make_handler(validator: Draft202012Validator) -> Any:
    async def chat_messages(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        mode = KEYS.get(token.strip()) if scheme.lower() == "bearer" else None
        if mode is None:
            return error(401, "unauthorized", "Access token is invalid")
        try:
            body = await request.json()
        except ValueError:
            return error(400, "invalid_param", "Failed to decode JSON object")
        problems = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        if problems:
            return error(400, "invalid_param", problems[0].message)
        message_id = new_id()
        answer = f"You asked: {body['query']}"
        return web.json_response(
            {
                "event": "message",
                "task_id": new_id(),
                "id": message_id,
                "message_id": message_id,
                "conversation_id": body.get("conversation_id") or new_id(),
                "mode": mode,
                "answer": answer,
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
                "created_at": int(time.time()),  # noqa: TID251 - a reference server, not the mock
            }
        )

    return chat_messages


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat-messages", make_handler(load_validator()))
    return app


if __name__ == "__main__":
    main(make_app, "reference", __doc__.splitlines()[0])
