"""Reference server for bench/blocking.py: a bare aiohttp handler doing the mock's work for one route.

POST /v1/chat-messages: check the bearer token, parse the JSON body, validate it with a
Draft202012Validator of the mock's own request schema, answer a blocking chat body of the same shape.
Prints `reference listening on http://HOST:PORT` when ready; SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _chat import blocking_answer
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
        return web.json_response(blocking_answer(body, mode))

    return chat_messages


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat-messages", make_handler(load_validator()))
    return app


if __name__ == "__main__":
    main(make_app, "reference", __doc__.splitlines()[0])
