"""WholeResponse sends the bytes aiohttp's own Response sends, head and body, byte for byte (but the Date),
and leaves the connection as aiohttp leaves it: for every HTTP version and keep-alive choice, for bodiless
statuses and HEAD, for given headers, and for the headers its one-write path leaves to aiohttp."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp import web

from mockserver.faults.whole_response import WholeResponse

JSON = b'{"answer": "caf\xc3\xa9"}'
# name: (body, status, given headers, content type with its charset, as send_body hands them over)
CASES: dict[str, tuple[bytes, int, dict[str, str] | None, str | None]] = {
    "json": (JSON, 200, None, "application/json; charset=utf-8"),
    "created": (JSON, 201, None, "application/json"),
    "error": (b'{"code": "not_found"}', 404, None, "application/json"),
    "retry": (b"{}", 429, {"Retry-After": "7"}, "application/json"),
    "blob": (b"\x00\x01binary", 200, {"Content-Type": "audio/mpeg", "Content-Disposition": "inline; x.mp3"}, None),
    "unicode_header": (b"x", 200, {"X-Name": "café"}, "text/plain"),
    "empty": (b"", 200, None, "application/json"),
    "no_content": (b"", 204, None, None),
    "not_modified": (b"", 304, None, "application/json"),
    "no_type": (b"raw", 200, None, None),
    "given_length": (b"12345", 200, {"Content-Length": "5"}, "text/plain"),
    "given_connection": (b"x", 200, {"Connection": "close"}, "text/plain"),
    "given_server": (b"x", 200, {"Server": "dify"}, "text/plain"),
    "line_break": (b"x", 200, {"X-Bad": "a\r\nX-Injected: 1"}, "text/plain"),
    "bare_newline": (b"x", 200, {"X-Bad": "a\nb"}, "text/plain"),
    "control_char": (b"x", 200, {"X-Bad": "a\x01b"}, "text/plain"),
    "delete_char": (b"x", 200, {"X-Bad": "a\x7fb"}, "text/plain"),
    "control_in_name": (b"x", 200, {"X\x1bBad": "v"}, "text/plain"),
    "tab": (b"x", 200, {"X-Tab": "a\tb"}, "text/plain"),
    "surrogate": (b"x", 200, {"X-Raw": "a\udc80b"}, "text/plain"),  # a header read with surrogateescape
    "not_text": (b"x", 200, {"X-Count": 5}, "text/plain"),  # type: ignore[dict-item]  # a fixture's number
}
DIFY = {"X-Version": "1.16.1", "X-Env": "PRODUCTION"}  # what the Dify stage adds after the handler


def _aiohttp_response(body: bytes, status: int, headers: dict[str, str] | None, kind: str | None) -> web.Response:
    if kind is None:
        return web.Response(body=body, status=status, headers=headers)
    content_type, _, charset = kind.partition("; charset=")
    return web.Response(body=body, status=status, headers=headers, content_type=content_type, charset=charset or None)


SENT: list[web.StreamResponse] = []  # the responses the test server made, for their keep-alive


async def _case(request: web.Request) -> web.StreamResponse:
    body, status, headers, kind = CASES[request.match_info["case"]]
    if request.match_info["how"] == "whole":
        response: web.Response = WholeResponse(body, status, headers, kind)
    else:
        response = _aiohttp_response(body, status, headers, kind)
    response.headers.update(DIFY)
    SENT.append(response)
    return response


@pytest.fixture
async def server(aiohttp_server: Any) -> Any:
    app = web.Application()
    app.router.add_get("/{how}/{case}", _case)
    app.router.add_post("/{how}/{case}", _case)
    SENT.clear()
    return await aiohttp_server(app)


async def _exchange(port: int, request: bytes) -> tuple[bytes, tuple[bool, int] | None]:
    """The bytes of the server's answer (head and the body its length announces), and whether the
    server keeps the connection after it and what it counts as sent (None: no response was made)."""
    SENT.clear()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except asyncio.IncompleteReadError as gone:  # the server closed without an answer
            return gone.partial, None
        found = re.search(rb"\r\nContent-Length: (\d+)\r\n", head)
        bodiless = request.startswith(b"HEAD") or head.split(b" ")[1] in (b"204", b"304")
        body = await reader.readexactly(int(found.group(1))) if found and not bodiless else b""
        return head + body, (bool(SENT[-1].keep_alive), SENT[-1].body_length) if SENT else None
    finally:
        writer.close()


def _dateless(raw: bytes) -> bytes:
    return re.sub(rb"Date: [^\r]*\r\n", b"Date: -\r\n", raw)


REQUESTS = {
    "1.1": "{method} /{how}/{case} HTTP/1.1\r\nHost: x\r\n\r\n",
    "1.1 close": "{method} /{how}/{case} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "1.0": "{method} /{how}/{case} HTTP/1.0\r\nHost: x\r\n\r\n",
    "1.0 keep-alive": "{method} /{how}/{case} HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("request_line", sorted(REQUESTS))
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
async def test_a_whole_response_is_the_bytes_aiohttp_sends(server, case, request_line, method):
    template = REQUESTS[request_line]
    if method == "POST":
        template = template.replace("\r\n\r\n", "\r\nContent-Length: 2\r\n\r\n{{}}")
    whole, whole_after = await _exchange(server.port, template.format(method=method, how="whole", case=case).encode())
    theirs, their_after = await _exchange(
        server.port, template.format(method=method, how="aiohttp", case=case).encode()
    )
    assert _dateless(whole) == _dateless(theirs)
    assert whole_after == their_after
    if case in ("json", "retry", "blob") and method == "GET":
        assert whole.startswith(b"HTTP/1."), whole  # an answer, not two empty reads compared
        assert CASES[case][0] in whole


@pytest.mark.parametrize(
    ("case", "request_line", "short"),
    [
        ("json", "1.1", True),
        ("blob", "1.0 keep-alive", True),
        ("no_type", "1.1", False),
        ("given_length", "1.1", False),
    ],
)
async def test_the_one_write_answers_a_plain_body_and_aiohttp_the_rest(server, monkeypatch, case, request_line, short):
    """The one-write path is what answers a plain body, not aiohttp's path under another name."""
    started: list[int] = []
    real_start = web.Response._start

    async def counted(self: web.Response, request: web.BaseRequest) -> Any:
        started.append(self.status)
        return await real_start(self, request)

    monkeypatch.setattr(web.Response, "_start", counted)
    raw, _ = await _exchange(server.port, REQUESTS[request_line].format(method="GET", how="whole", case=case).encode())
    assert (started == []) is short
    if short:
        head, _, body = raw.partition(b"\r\n\r\n")
        names = [line.split(b":")[0] for line in head.split(b"\r\n")[1:]]
        last = names[-4:-1] if names[-1] == b"Connection" else names[-3:]  # HTTP/1.0 keep-alive says so last
        assert last == [b"Content-Length", b"Date", b"Server"]
        assert body == CASES[case][0]


@pytest.mark.parametrize("how", ["whole", "aiohttp"])
async def test_a_client_that_does_not_read_holds_the_handler_not_the_server(aiohttp_server, how):
    """Flow control as aiohttp's own write_eof has it: the request's task waits on the writer's drain
    until the client reads, for the one write as for aiohttp's path."""
    big = b"x" * (32 * 1024 * 1024)  # past what loopback's socket buffers take in
    tasks: list[asyncio.Task[Any]] = []

    async def large(request: web.Request) -> web.StreamResponse:
        tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        if how == "whole":
            return WholeResponse(big, 200, None, "application/octet-stream")
        return web.Response(body=big, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/large", large)
    server = await aiohttp_server(app)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /large HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.3)
        assert tasks and not tasks[0].done()  # waiting for the client to read
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(len(big))
        assert b"Content-Length: %d" % len(big) in head
        await asyncio.wait_for(asyncio.shield(tasks[0]), 5)  # read: the handler's task ends
    finally:
        writer.close()
