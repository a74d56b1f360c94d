"""The bytes of Dify's JSON bodies. Dify writes two dialects (REFERENCE §11.1, verified against
Flask 3.1, flask-restx 1.3.2 and ujson, which every production image installs):

- resources and every error body go through flask-restx's output_json with ujson: compact, ASCII
  only, `/` escaped as `\\/`, a trailing newline, `Content-Type: application/json`;
- blocking generate bodies (chat, completion, workflow run) go through libs/helper.py
  compact_generate_response: stdlib json.dumps defaults (`", "`, `": "`, ASCII escapes), no newline,
  `Content-Type: application/json; charset=utf-8`.
SSE frames are orjson (render/sse.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from mockserver.faults.delivery import Delivery, send_body


@dataclass(frozen=True, slots=True)
class Wire:
    content_type: str
    charset: str | None

    def encode(self, body: Any) -> bytes:
        raise NotImplementedError


class _Restx(Wire):
    def encode(self, body: Any) -> bytes:
        # JSON text has `/` only inside strings, so the replace is ujson's escape and nothing else.
        return (json.dumps(body, separators=(",", ":")).replace("/", "\\/") + "\n").encode()


class _Generate(Wire):
    def encode(self, body: Any) -> bytes:
        return json.dumps(body).encode()


RESTX: Final[Wire] = _Restx("application/json", None)
GENERATE: Final[Wire] = _Generate("application/json", "utf-8")


async def send_json(
    request: web.Request,
    body: Any,
    status: int,
    headers: dict[str, str] | None,
    delivery: Delivery,
    wire: Wire = RESTX,
) -> web.StreamResponse:
    """`body` in Dify's bytes, delivered as the request's faults shape it."""
    return await send_body(request, wire.encode(body), status, headers, delivery, wire.content_type, wire.charset)
