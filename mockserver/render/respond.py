"""respond(): a Plan becomes a blocking JSON response or an SSE stream, delivered as its faults say."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from mockserver.faults.delivery import NORMAL, Delivery
from mockserver.render.sse import StreamPlan, stream
from mockserver.render.wire import RESTX, Wire, send_json


@dataclass(slots=True)
class Plan:
    status: int = 200
    body: Any = None  # blocking JSON body; None with status 204
    stream: StreamPlan | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delivery: Delivery = NORMAL
    wire: Wire = RESTX  # the JSON dialect of the body: a resource's, or a blocking generation's


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=headers, content_type="application/json")


async def respond(request: web.Request, plan: Plan) -> web.StreamResponse:
    if plan.stream is not None:
        plan.stream.delivery = plan.delivery
        return await stream(request, plan.stream)
    if plan.delivery.latency_s:
        await asyncio.sleep(plan.delivery.latency_s)
    if plan.status == 204:
        return web.Response(status=204, headers=plan.headers)
    return await send_json(request, plan.body, plan.status, plan.headers or None, plan.delivery, plan.wire)
