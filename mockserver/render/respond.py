"""RESPONDERS[spec.response]: a scenario's rendered body becomes a Plan (JSON, 204, bytes or a page;
`generate` is render/generate.py's), and respond() delivers a Plan as its faults say."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web
from msgspec import Struct, field

from mockserver.dify.files import content_type
from mockserver.endpoint import EndpointSpec
from mockserver.faults.delivery import NORMAL, Delivery, send_body
from mockserver.render.sse import StreamPlan
from mockserver.render.wire import RESTX, Wire, send_json
from mockserver.state.records import Blob

OCTET: Final = "application/octet-stream"


class Plan(Struct, eq=False):
    """A response to send: its status, body or stream, headers and delivery."""

    status: int = 200
    body: Any = None  # blocking JSON body; None with status 204
    stream: StreamPlan | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delivery: Delivery = NORMAL
    wire: Wire = RESTX  # the JSON dialect of the body: a resource's, or a blocking generation's
    content: bytes | None = None  # raw bytes (a file): sent as they are, `headers` say what they are
    chunked: bool = False  # the content goes out in chunks, without a Content-Length
    encoded: bytes | None = None  # `body` already in its wire's bytes (a plain blocking generation's)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=headers, content_type="application/json")


def _json(spec: EndpointSpec, body: Any) -> Plan:
    return Plan(status=spec.status, body=body)


def _page(spec: EndpointSpec, body: Any) -> Plan:
    """The action's page as it shaped it; a scenario's bare list becomes one whole page of Dify's style."""
    if isinstance(body, list):
        size = len(body)
        if spec.pagination == "page":
            body = {"page": 1, "limit": size, "total": size, "has_more": False, "data": body}
        else:
            body = {"limit": size, "has_more": False, "data": body}
    return Plan(status=spec.status, body=body)


def _empty(spec: EndpointSpec, body: Any) -> Plan:
    # Flask drops a 204's body and its Content-Length but keeps the resource's JSON content type.
    return Plan(status=spec.status, headers={"Content-Type": "application/json"})


def _bytes(spec: EndpointSpec, body: Any) -> Plan:
    """A Blob from the action; a scenario may answer text (sent as the response schema's
    `contentMediaType`, else as octets) or JSON instead."""
    if isinstance(body, Blob):
        return Plan(status=spec.status, content=body.data, headers=dict(body.headers), chunked=body.chunked)
    if isinstance(body, str | bytes):
        data = body.encode() if isinstance(body, str) else body
        media = (spec.response_schema or {}).get("contentMediaType")
        kind = content_type(media) if isinstance(media, str) else OCTET  # an event stream's text/event-stream
        return Plan(status=spec.status, content=data, headers={"Content-Type": kind})
    return Plan(status=spec.status, body=body)


RESPONDERS: Final[dict[str, Callable[[EndpointSpec, Any], Plan]]] = {
    "json": _json,
    "page": _page,
    "empty": _empty,
    "bytes": _bytes,
}


async def respond(request: web.Request, plan: Plan) -> web.StreamResponse:
    """A whole body (JSON, bytes, 204); a stream is written by the pipeline (sse.stream)."""
    assert plan.stream is None, "a stream is written by pipeline.handle, not respond()"
    if plan.delivery.latency_s:
        await asyncio.sleep(plan.delivery.latency_s)
    if plan.status == 204:
        return web.Response(status=204, headers=plan.headers)
    if plan.content is not None:
        return await send_body(
            request, plan.content, plan.status, plan.headers, plan.delivery, None, chunked=plan.chunked
        )
    if plan.encoded is not None:
        wire = plan.wire
        return await send_body(
            request, plan.encoded, plan.status, plan.headers or None, plan.delivery, wire.content_type, wire.charset
        )
    return await send_json(request, plan.body, plan.status, plan.headers or None, plan.delivery, plan.wire)
