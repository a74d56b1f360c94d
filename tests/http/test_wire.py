"""The bytes Dify writes (audit H1, H2): resources and errors through flask-restx's output_json with
ujson (compact, ASCII, `\\/`, trailing newline, application/json), blocking generations through
libs/helper.py compact_generate_response (json.dumps defaults, `application/json; charset=utf-8`),
streams with only `Content-Type: text/event-stream; charset=utf-8`."""

from __future__ import annotations

import json

from dify_facts import auth


async def test_an_error_body_is_ujson_with_a_trailing_newline(client):
    resp = await client.post("/v1/chat-messages", json={"inputs": {}, "query": "q"}, headers=auth("app-chat"))
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/json"
    assert await resp.read() == b'{"code":"invalid_param","message":"Arg user must be provided.","status":400}\n'


async def test_slashes_are_escaped_as_ujson_does(client):
    resp = await client.post("/v1/chat-messages", data="x", headers=auth("app-chat"))
    assert resp.status == 415
    raw = await resp.read()
    assert b"'application\\/json'" in raw  # "...Content-Type was not 'application\/json'."
    assert json.loads(raw)["message"].endswith("was not 'application/json'.")


async def test_a_resource_body_is_ujson_too(client):
    resp = await client.get("/v1/info", headers=auth("app-chat"))
    raw = await resp.read()
    assert resp.headers["Content-Type"] == "application/json"
    assert raw.endswith(b"}\n") and b", " not in raw and b": " not in raw
    assert json.loads(raw)["name"] == "Demo Chat"


async def test_a_blocking_generation_is_json_dumps_with_a_charset(client):
    body = {"inputs": {}, "query": "héllo 🤖", "user": "u"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-chat"))
    raw = await resp.read()
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert raw.startswith(b'{"event": "message", "task_id": "')
    assert b"h\\u00e9llo \\ud83e\\udd16" in raw and not raw.endswith(b"\n")
    assert json.loads(raw)["answer"] == "You asked: héllo 🤖"


async def test_a_stream_has_only_difys_content_type(client):
    body = {"inputs": {}, "query": "q", "user": "u", "response_mode": "streaming"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-chat"))
    await resp.read()
    assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert "Cache-Control" not in resp.headers and "X-Accel-Buffering" not in resp.headers
