"""respond(): a Plan becomes a blocking JSON response or an SSE stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from .sse import StreamPlan, stream


@dataclass(slots=True)
class Plan:
    status: int = 200
    body: Any = None  # blocking JSON body; None with status 204
    stream: StreamPlan | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=headers, content_type="application/json")


async def respond(request: web.Request, plan: Plan) -> web.StreamResponse:
    if plan.stream is not None:
        return await stream(request, plan.stream)
    if plan.status == 204:
        return web.Response(status=204, headers=plan.headers)
    return json_response(plan.body, plan.status, plan.headers)
