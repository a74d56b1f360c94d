"""WholeResponse: a response whose whole body is known up front, sent as one write.

aiohttp's Response sends the same bytes through a general path (its prepare and write_eof, the payload
writer's header buffer, the on_response_prepare hook): about 700 of a blocking chat's 6,600 Python
bytecodes, and 9% of the server's CPU a request (bench/blocking.py's load, measured A/B). This class
writes the head and the body it would write, in its order, in one `transport.write`. Anything the
short path does not cover goes aiohttp's way: HEAD and bodiless statuses, a header the head adds
itself, cookies, compression, chunking, a header value with a line break (aiohttp refuses it).
tests/http/test_whole_response.py holds the two paths' bytes equal.

What it skips on purpose: the app's on_response_prepare signal, which the mock's apps never connect
(a connected one would be skipped for these responses), and the payload writer's buffer and counters
(the protocol makes a writer for each request and drops it after); it still waits on the writer's
drain, as aiohttp does after the last write.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.compression_utils import MAX_SYNC_CHUNK_SIZE
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion10, HttpVersion11
from multidict import CIMultiDict


class WholeResponse(web.Response):
    """A Response of `body` (bytes), `status` and `headers`, with `content_type` (charset included)
    when the headers do not carry it."""

    # What web.Response.__init__ sets for compression, which the short path never takes.
    _zlib_executor_size = MAX_SYNC_CHUNK_SIZE
    _zlib_executor = None

    def __init__(self, body: bytes, status: int, headers: Mapping[str, str] | None, content_type: str | None) -> None:
        # web.Response.__init__ without its checks of text, charset and body types: the caller gives bytes.
        real: CIMultiDict[str] = CIMultiDict(headers) if headers else CIMultiDict()
        if content_type is not None:
            real["Content-Type"] = content_type
        web.StreamResponse.__init__(self, status=status, _real_headers=real)
        self._body = body

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        headers, status = self._headers, self._status
        if (
            self._eof_sent
            or self._payload_writer is not None
            or request.method == "HEAD"  # HEAD and bodiless statuses: aiohttp's rules for their length
            or status < 200
            or status == 204
            or status == 304
            or self._cookies
            or self._compression
            or self._chunked
            # Without a Content-Type, aiohttp adds one after Content-Length; the others the head writes
            # itself (or must not carry with a known length): aiohttp keeps or refuses them its way.
            or "Content-Type" not in headers
            or "Content-Length" in headers
            or "Transfer-Encoding" in headers
            or "Date" in headers
            or "Server" in headers
            or "Connection" in headers
        ):
            return await super().prepare(request)
        body = self._body
        assert isinstance(body, bytes)
        keep_alive = self._keep_alive
        if keep_alive is None:
            keep_alive = self._keep_alive = request.keep_alive
        version = request.version
        # aiohttp's order: the response's headers as set, then Content-Length, Date, Server, Connection.
        try:
            lines = "\r\n".join(map(": ".join, headers.items()))
        except TypeError:  # a value that is no str: aiohttp's error
            return await super().prepare(request)
        if lines.count("\n") + lines.count("\r") != 2 * len(headers) - 2:
            return await super().prepare(request)  # a line break inside a name or value: aiohttp's error
        if keep_alive:
            connection = "Connection: keep-alive\r\n" if version == HttpVersion10 else ""
        else:
            connection = "Connection: close\r\n" if version == HttpVersion11 else ""
        head = (
            f"HTTP/{version[0]}.{version[1]} {status} {self._reason}\r\n{lines}\r\n"
            f"Content-Length: {len(body)}\r\nDate: {rfc822_formatted_time()}\r\nServer: {SERVER_SOFTWARE}\r\n"
            f"{connection}\r\n"
        )
        transport = request.transport
        if transport is None or transport.is_closing():
            # As the payload writer says it: the protocol takes a ConnectionError for a client gone.
            raise ConnectionResetError("Cannot write to closing transport")
        transport.write(head.encode() + body)
        self._eof_sent = True
        self._body_length = len(body)
        # As aiohttp's write_eof: a client that reads slowly holds the handler until the transport's
        # buffer is back under its limit (flow control), not the server's memory.
        await request.writer.drain()
        return None
