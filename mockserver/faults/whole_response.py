"""WholeResponse: a response whose whole body is known up front, sent as one write.

aiohttp's Response sends a known body through a general path (its prepare and write_eof, the
on_response_prepare hook, the payload writer's header buffer): about 700 of a blocking chat's 6,600
Python bytecodes, and 6% of the server's CPU a request (bench/blocking.py's load, measured A/B). This
class adds the headers aiohttp adds, in its order, serializes them with aiohttp's own serializer (the
same bytes; the same ValueError for a control character in a name or value) and writes head and body in
one `transport.write`. HEAD and bodiless statuses, a header the head writes itself, no Content-Type,
cookies, compression and chunking go aiohttp's way. tests/http/test_whole_response.py holds the two
paths' bytes and keep-alive equal.

What it skips on purpose: the app's on_response_prepare signal, which the mock's apps never connect
(a connected one would be skipped for these responses), and the payload writer's header buffer. It
counts what it wrote in the writer's output_size and the response's body_length as aiohttp does, and
waits on the writer's drain, as aiohttp does after the last write.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.compression_utils import MAX_SYNC_CHUNK_SIZE
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion10, HttpVersion11
from aiohttp.http_writer import _serialize_headers  # aiohttp's own: the C serializer where it is built
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
        headers, status, body = self._headers, self._status, self._body
        if (
            self._eof_sent
            or self._payload_writer is not None
            or type(body) is not bytes
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
        keep_alive = self._keep_alive
        if keep_alive is None:
            keep_alive = self._keep_alive = request.keep_alive
        version = request.version
        # The headers aiohttp adds, in its order, and its own serializer: the same bytes, and the same
        # ValueError for a name or value with a control character (a line break among them).
        headers["Content-Length"] = str(len(body))
        headers["Date"] = rfc822_formatted_time()
        headers["Server"] = SERVER_SOFTWARE
        if keep_alive:
            if version == HttpVersion10:
                headers["Connection"] = "keep-alive"
        elif version == HttpVersion11:
            headers["Connection"] = "close"
        data = _serialize_headers(f"HTTP/{version[0]}.{version[1]} {status} {self._reason}", headers) + body
        transport = request.transport
        if transport is None or transport.is_closing():
            # As the payload writer says it: the protocol takes a ConnectionError for a client gone.
            raise ConnectionResetError("Cannot write to closing transport")
        transport.write(data)
        self._eof_sent = True
        writer = request.writer
        writer.output_size += len(data)  # what aiohttp counts: a response has begun (middleware._failed)
        self._body_length = len(data)  # aiohttp's count: head and body
        # As aiohttp's write_eof: a client that reads slowly holds the handler until the transport's
        # buffer is back under its limit (flow control), not the server's memory.
        await writer.drain()
        return None
