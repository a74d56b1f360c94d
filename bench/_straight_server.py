"""A yardstick for bench/blocking.py --straight: the mock's blocking chat work, written straight through.

Per request it does what the mock does for the built-in chat app's default scenario, with none of the
mock's generality (no catalogue, fixtures, templates, faults, releases or error wording): bearer -> app,
session -> tenant, the body parsed and its fields' types checked, admission (a count and a clock), three
deterministic ids (the mock's own Draws), an end user, a conversation and a message record in capped
OrderedDicts, the body's JSON text with the mock's usage block, Dify's two headers, and a journal entry
(a tuple in a bounded deque). It is not the product: it says what the work itself costs,
so the gap between it and the mock is what the mock's general machinery costs a request.
Prints `straight listening on http://HOST:PORT` when ready; SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from json.encoder import encode_basestring_ascii as esc
from typing import Any

import orjson
from _serving import main
from aiohttp import web

from mockserver.determinism import Draws, FakerSource

APPS = {"app-chat": ("app-chat", "chat", "a1b2c3d4-0000-4000-8000-000000000001")}
MODES = {"blocking", "streaming", None}
USAGE = (
    '{"annotation_reply": null, "retriever_resources": [], "usage": {"prompt_tokens": 12, '
    '"prompt_unit_price": "0.001", "prompt_price_unit": "0.001", "prompt_price": "0.0000120", '
    '"completion_tokens": 9, "completion_unit_price": "0.002", "completion_price_unit": "0.001", '
    '"completion_price": "0.0000180", "total_tokens": 21, "total_price": "0.0000300", "currency": "USD", '
    '"latency": 0.5, "time_to_first_token": null, "time_to_generate": null}, "reasoning": {}}'
)
HEADERS = {"X-Version": "1.16.1", "X-Env": "PRODUCTION"}
FAKER = FakerSource()  # never drawn from: Draws wants one


class Tenant:
    __slots__ = ("clock", "conversations", "journal", "messages", "n", "users")

    def __init__(self) -> None:
        self.journal: deque[tuple[Any, ...]] = deque(maxlen=1000)
        self.n: dict[str, int] = {}
        self.clock = 1735689600
        self.conversations: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.messages: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.users: dict[str, dict[str, Any]] = {}


TENANTS: dict[str, Tenant] = {}


def error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        body=orjson.dumps({"code": code, "message": message, "status": status}),
        status=status,
        content_type="application/json",
    )


def check(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body"
    inputs = body.get("inputs")
    if not isinstance(inputs, dict):
        return "inputs"
    query = body.get("query")
    if not isinstance(query, str):
        return "query"
    if body.get("response_mode") not in MODES:
        return "response_mode"
    conversation = body.get("conversation_id")
    if conversation is not None and not isinstance(conversation, str):
        return "conversation_id"
    files = body.get("files")
    if files is not None and not isinstance(files, list):
        return "files"
    name = body.get("auto_generate_name", True)
    if not isinstance(name, bool):
        return "auto_generate_name"
    user = body.get("user")
    if not isinstance(user, str) or not user:
        return "user"
    return None


async def chat_messages(request: web.Request) -> web.Response:
    started = time.perf_counter()
    headers = request.headers
    auth = headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    app = APPS.get(token.strip()) if scheme.lower() == "bearer" else None
    session = headers.get("X-Mock-Session", "default")
    tenant = TENANTS.get(session)
    if tenant is None:
        tenant = TENANTS[session] = Tenant()
    raw = await request.read()
    if app is None:
        return error(401, "unauthorized", "Access token is invalid")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return error(400, "invalid_param", "Failed to decode JSON object")
    bad = check(body)
    if bad is not None:
        return error(400, "invalid_param", bad)
    key, mode, app_id = app
    n = tenant.n[key] = tenant.n.get(key, 0) + 1
    tenant.clock += 1
    now = tenant.clock
    draws = Draws(0, session, key, "service.send_chat_message", n, FAKER)
    task_id, message_id = draws.uuid("task_id"), draws.uuid("message_id")
    conversation_id = body.get("conversation_id") or draws.uuid("conversation_id")
    user = body["user"]
    end_user = tenant.users.get(user)
    if end_user is None:
        end_user = tenant.users[user] = {"id": draws.uuid("end_user"), "session_id": user, "app_id": app_id}
    query = body["query"]
    answer = f"You asked: {query}"
    conversations = tenant.conversations
    if conversation_id not in conversations:
        conversations[conversation_id] = {
            "id": conversation_id,
            "name": "New conversation",
            "inputs": body["inputs"],
            "status": "normal",
            "introduction": "",
            "created_at": now,
            "updated_at": now,
            "app_id": app_id,
            "from_end_user_id": end_user["id"],
        }
        if len(conversations) > 1000:
            conversations.popitem(last=False)
    messages = tenant.messages
    messages[message_id] = {
        "id": message_id,
        "conversation_id": conversation_id,
        "parent_message_id": None,
        "inputs": body["inputs"],
        "query": query,
        "answer": answer,
        "message_files": [],
        "feedback": None,
        "retriever_resources": [],
        "created_at": now,
        "agent_thoughts": [],
        "status": "normal",
        "error": None,
    }
    if len(messages) > 1000:
        messages.popitem(last=False)
    text = (
        f'{{"event": "message", "task_id": {esc(task_id)}, "id": {esc(message_id)}, '
        f'"message_id": {esc(message_id)}, "conversation_id": {esc(conversation_id)}, "mode": {esc(mode)}, '
        f'"answer": {esc(answer)}, "metadata": {USAGE}, "created_at": {now}}}'
    )
    tenant.journal.append(
        (
            request.method,
            request.path,
            "Bearer ...-" + token[-4:],
            raw,
            "default",
            200,
            now,
            time.perf_counter() - started,
        )
    )
    return web.Response(body=text.encode(), content_type="application/json", headers=HEADERS)


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat-messages", chat_messages)
    return app


if __name__ == "__main__":
    main(make_app, "straight", __doc__.splitlines()[0])
