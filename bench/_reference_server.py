"""Reference server for bench/blocking.py: a bare aiohttp handler doing the mock's work for one route.

POST /v1/chat-messages: check the bearer token, parse the JSON body, validate it with a
Draft202012Validator of the mock's own request schema, answer a blocking chat body of the same shape.
Prints `reference listening on http://HOST:PORT` when ready; SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

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


async def serve(host: str, port: int) -> None:
    app = web.Application()
    app.router.add_post("/v1/chat-messages", make_handler(load_validator()))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"reference listening on http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))
    sys.exit(0)


if __name__ == "__main__":
    main()
