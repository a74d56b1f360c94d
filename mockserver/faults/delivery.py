"""How bytes reach the client: latency before the head, dribbled slices, and connections that end
badly (TCP reset, close without a response). Fault delays are real time: pace_scale never touches them."""

from __future__ import annotations

import asyncio
import math
import socket
import struct
from typing import Any, Final, Literal

from aiohttp import web
from msgspec import Struct

from mockserver.faults.whole_response import WholeResponse

Abort = Literal["reset", "empty"]


# Frozen: NORMAL is a shared default of the response plans (msgspec shares no mutable struct as a default).
class Delivery(Struct, frozen=True, eq=False):
    """How a response's bytes go out: latency, dribbled slices, or an abort."""

    latency_s: Final[float] = 0.0
    dribble: Final[tuple[int, float] | None] = None  # (bytes per slice, seconds between slices)
    abort: Final[Abort | None] = None


NORMAL = Delivery()
# The headers every response of a Dify route carries (Dify's after-request hook, extensions/ext_app_metrics.py:
# X-Version, X-Env), as the Dify stage (middleware.dify) hands them to a request. A response made here or
# by the stream writer and prepared before the stage sees it takes them from the request; the stage adds
# them to any other (an on_response_prepare signal would cost a signal and a coroutine on every response).
DIFY_HEADERS: Final = web.RequestKey("DIFY_HEADERS", dict[str, str])
CHUNK = 1024  # a chunked body's chunk: what Dify's plugin daemon yields of a TTS stream
MAX_LATENCY_MS = 3_600_000.0


def latency_seconds(params: dict[str, Any], rng: Any) -> float:
    """`latency;ms=..;jitter=..;dist=..`: fixed, uniform (ms ± jitter) or lognormal (median ms, sigma jitter)."""
    ms = float(params.get("ms", 1000))
    dist = params.get("dist", "fixed" if "jitter" not in params else "uniform")
    if dist == "uniform":
        jitter = float(params.get("jitter", ms / 2))
        ms = ms + rng.uniform(-jitter, jitter)
    elif dist == "lognormal":
        sigma = min(float(params.get("jitter", 0.5)), 5.0)  # beyond that the tail is hours long
        ms = ms * math.exp(min(sigma * rng.gauss(0.0, 1.0), 50.0))
    return min(max(0.0, ms), MAX_LATENCY_MS) / 1000.0


async def write(resp: web.StreamResponse, data: bytes, delivery: Delivery) -> None:
    if delivery.dribble is None:
        await resp.write(data)
        return
    size, pause = delivery.dribble
    for start in range(0, len(data), size):
        await resp.write(data[start : start + size])
        await asyncio.sleep(pause)


async def send_body(
    request: web.Request,
    data: bytes,
    status: int,
    headers: dict[str, str] | None,
    delivery: Delivery,
    content_type: str | None,
    charset: str | None = None,
    chunked: bool = False,
) -> web.StreamResponse:
    """A whole body; dribbled, it goes out slice by slice with its Content-Length set up front.
    `content_type` None: the headers carry the Content-Type as it is to be sent. `chunked`: no
    Content-Length, the body in CHUNK-sized chunks (HTTP/1.1's chunked coding; 1.0 ends at the close)."""
    if delivery.dribble is None and not chunked:
        return WholeResponse(data, status, headers, f"{content_type}; charset={charset}" if charset else content_type)
    resp = web.StreamResponse(status=status, headers=headers)
    resp.headers.update(request.get(DIFY_HEADERS) or {})
    if content_type is not None:
        resp.content_type = content_type
        if charset:
            resp.charset = charset
    if not chunked:
        resp.content_length = len(data)
    await resp.prepare(request)
    if chunked and delivery.dribble is None:
        for start in range(0, len(data), CHUNK):
            await resp.write(data[start : start + CHUNK])
    else:
        await write(resp, data, delivery)
    await resp.write_eof()
    return resp


def drop_connection(request: web.Request, how: Abort) -> web.Response:
    """End the connection without a response: a TCP reset (RST) or a plain close (FIN)."""
    transport = request.transport
    if transport is not None:
        if how == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # linger on, timeout 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
    # aiohttp's attempt to send this finds the transport closing and gives up quietly.
    return web.Response(status=200)
