"""WholeResponse: a response whose whole body is known up front, sent as one write.

aiohttp's Response sends the same bytes through a general path (its prepare and write_eof, the payload
writer's header buffer, the on_response_prepare hook): about 700 of a blocking chat's 6,600 Python
bytecodes, and 9% of the server's CPU a request (bench/blocking.py's load, measured A/B). This class
writes the head and the body it would write, in its order, in one `transport.write`. Anything the
short path does not cover goes aiohttp's way: HEAD and bodiless statuses, a header the head adds
itself, cookies, compression, chunking, a header value with a line break (aiohttp refuses it).
tests/http/test_whole_response.py holds the two paths' bytes equal.

What it skips on purpose: the app's on_response_prepare signal, which the mock's apps never connect
(a connected one would be skipped for these responses), and the payload writer, which the protocol
makes for each request and drops after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.compression_utils import MAX_SYNC_CHUNK_SIZE
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion10, HttpVersion11
from multidict import CIMultiDict

# Headers the head writes itself (or must not carry with a known length): given, the response goes
# aiohttp's way, which keeps or refuses them as it does.
_ITS_OWN: Final = ("Content-Length", "Transfer-Encoding", "Date", "Server", "Connection")


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
        if self._eof_sent or self._payload_writer is not None or not self._short(request):
            return await super().prepare(request)
        body = self._body
        assert isinstance(body, bytes)
        keep_alive = self._keep_alive
        if keep_alive is None:
            keep_alive = self._keep_alive = request.keep_alive
        version = request.version
        headers = self._headers
        # aiohttp's order: the response's headers as set, then Content-Length, Date, Server, Connection.
        lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
            return await super().prepare(request)  # a line break inside a name or value: aiohttp's error
        if keep_alive:
            connection = "Connection: keep-alive\r\n" if version == HttpVersion10 else ""
        else:
            connection = "Connection: close\r\n" if version == HttpVersion11 else ""
        head = (
            f"HTTP/{version[0]}.{version[1]} {self._status} {self._reason}\r\n{lines}"
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
        return None

    def _short(self, request: web.BaseRequest) -> bool:
        """Whether the one-write path gives this response the bytes aiohttp would."""
        if request.method == "HEAD" or self._status < 200 or self._status in (204, 304):
            return False  # a body that must be empty (and HEAD's Content-Length rules)
        if self._cookies or self._compression or self._chunked or self._compressed_body is not None:
            return False
        headers = self._headers
        # Without a Content-Type, aiohttp adds one after Content-Length: its own order, its own way.
        return "Content-Type" in headers and not any(name in headers for name in _ITS_OWN)
