"""Malformed input beyond the schema (issue 13, robustness): each answered as Dify's stack would, in
Dify's error envelope, without a 500 of the mock or a traceback, and the server keeps answering.

Two layers: what aiohttp's own parser refuses (a bad request line, an over-long header line, broken
chunked framing, a wrong Content-Length) never reaches the app, so it is sent over a raw socket to the
real runner (mockserver.runner, what `serve` and the pytest plugin use); what the parser lets through
(invalid UTF-8, NaN, duplicate keys, deep nesting, 10 MB strings, broken multipart) goes through the
usual strict test client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

from mockserver.errors import CODES
from mockserver.keys import TENANTS
from mockserver.settings import Settings
from mockserver.testing.server import MockServer

BAD_REQUEST = {"code": "bad_request", "message": CODES["bad_request"].message, "status": 400}
CHAT = {"Authorization": "Bearer app-chat", "Content-Type": "application/json"}
HEAD = (
    b"POST /v1/chat-messages HTTP/1.1\r\nHost: x\r\n"
    b"Authorization: Bearer app-chat\r\nContent-Type: application/json\r\n"
)
BODY = b'{"query":"hi","user":"u","inputs":{},"response_mode":"blocking"}'


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, int]]:
    """The real runner on a free port, strict, nothing sleeping: (base URL, port)."""
    async with MockServer(Settings(pace_scale=0.0, strict=True)) as url:
        yield url, int(url.rsplit(":", 1)[1])


async def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


async def assert_healthy(url: str) -> None:
    async with ClientSession() as session, session.get(f"{url}/_mock/health") as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "ok"


PARSER_ERRORS = {
    "garbage request line": b"GARBAGE\r\n\r\n",
    "HTTP version": b"GET /_mock/health HTTP/9.9\r\nHost: x\r\n\r\n",
    "over-long header line": b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 10_000 + b"\r\n\r\n",
    "over-long request line": b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header without colon": b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "bad chunk size": HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "chunk longer than declared": HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n",
    "Content-Length not a number": HEAD + b"Content-Length: abc\r\n\r\n{}",
    "Content-Length negative": HEAD + b"Content-Length: -5\r\n\r\n{}",
    "Content-Length with chunked": HEAD + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
    # The declared length ends inside the body: the rest is read as the next request's line.
    "Content-Length shorter than the body": HEAD + b"Content-Length: 5\r\n\r\n" + BODY,
}


@pytest.mark.parametrize("data", PARSER_ERRORS.values(), ids=PARSER_ERRORS.keys())
async def test_parser_errors_come_in_difys_envelope(
    served: tuple[str, int], data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    url, port = served
    with caplog.at_level(logging.DEBUG):
        raw = await exchange(port, data)
    status, headers, body = parse_response(raw[raw.rfind(b"HTTP/1.") :])  # the last answer is the error's
    assert status == 400, raw[:300]
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == BAD_REQUEST
    assert headers["content-length"] == str(len(body))
    # One warning line naming why, never a traceback.
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert any(r.getMessage().startswith("refused a malformed request") for r in caplog.records)
    await assert_healthy(url)


async def test_content_length_longer_than_the_body_then_gone(served: tuple[str, int]) -> None:
    """The client promises more than it sends and leaves: the server drops the request, keeps no task."""
    url, port = served
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEAD + b"Content-Length: 1000\r\n\r\n" + BODY)
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    await asyncio.sleep(0.1)
    await assert_healthy(url)


async def test_invalid_utf8_is_werkzeugs_bad_request(client: Any, expect_error: Any) -> None:
    # Flask's get_json: UnicodeDecodeError is a ValueError, so BadRequest with the generic text.
    for body in (b'{"query":"\xff\xfe","user":"u","inputs":{}}', b"\xc3\x28", b'{"query":"\xed\xa0"}'):
        await expect_error(await client.post("/v1/chat-messages", data=body, headers=CHAT), 400, "bad_request")


async def test_utf16_body_is_read_as_flask_reads_it(client: Any) -> None:
    """The stdlib parser Flask uses detects UTF-16 and UTF-32 bodies; orjson alone would refuse them."""
    resp = await client.post("/v1/chat-messages", data=BODY.decode().encode("utf-16"), headers=CHAT)
    assert resp.status == 200, await resp.text()


async def test_nan_and_infinity_are_json_to_flask(client: Any, expect_error: Any) -> None:
    """Python's json takes NaN, Infinity and -Infinity as floats: where Dify ignores the field the
    request goes through; where it wants another type, the check refuses the float as it would 1.5."""
    body = b'{"query":"hi","user":"u","inputs":{},"response_mode":"blocking","x":NaN,"y":[Infinity,-Infinity]}'
    resp = await client.post("/v1/chat-messages", data=body, headers=CHAT)
    assert resp.status == 200, await resp.text()
    bad = b'{"query":"hi","user":"u","inputs":{},"response_mode":NaN}'
    error = await expect_error(await client.post("/v1/chat-messages", data=bad, headers=CHAT), 400, "invalid_param")
    assert "input_value=nan" in error["message"]
    # The journal still reads (NaN is written as null).
    entries = (await (await client.get("/_mock/journal")).json())["data"]
    assert entries[0]["body"]["x"] is None


async def test_duplicate_keys_the_last_wins(client: Any, expect_error: Any) -> None:
    first_bad = b'{"query":"hi","user":"u","inputs":{},"response_mode":"bogus","response_mode":"blocking"}'
    assert (await client.post("/v1/chat-messages", data=first_bad, headers=CHAT)).status == 200
    last_bad = b'{"query":"hi","user":"u","inputs":{},"response_mode":"blocking","response_mode":"bogus"}'
    await expect_error(await client.post("/v1/chat-messages", data=last_bad, headers=CHAT), 400, "invalid_param")


async def test_deep_nesting(client: Any) -> None:
    """100,000 `[`: Python's json raises RecursionError, which no Flask handler catches, so Dify's
    generic handler answers 500 `unknown` (Dify's own answer, not a crash of the mock). Nesting the
    parser takes (1,000 levels in `inputs`) goes through, and echoing or journaling it never fails."""
    resp = await client.post("/v1/chat-messages", data=b"[" * 100_000, headers=CHAT)
    assert resp.status == 500
    assert await resp.json() == {"message": "Internal Server Error", "code": "unknown", "status": 500}
    deep = "[" * 1000 + "]" * 1000
    for key, path in (("app-chat", "/v1/chat-messages"), ("app-workflow", "/v1/workflows/run")):
        for mode in ("blocking", "streaming"):
            body = f'{{"query":"hi","user":"u","inputs":{{"query":"q","deep":{deep}}},"response_mode":"{mode}"}}'
            headers = {**CHAT, "Authorization": f"Bearer {key}"}
            resp = await client.post(path, data=body.encode(), headers=headers)
            assert resp.status == 200, await resp.text()
            await resp.read()
    journal = await client.get("/_mock/journal")
    assert journal.status == 200
    entries = (await journal.json())["data"]
    assert not [e for e in entries if (e.get("error") or {}).get("crash")]


async def test_huge_integers(client: Any) -> None:
    """Integers beyond 64 bits are exact integers to Python's json (read so when orjson refuses the body,
    here for its NaN); echoing or journaling them never fails, the journal shows them as text."""
    big = 123456789012345678901234567890
    body = f'{{"query":"hi","user":"u","inputs":{{"n":{big}}},"response_mode":"streaming","z":{big},"w":NaN}}'
    resp = await client.post("/v1/chat-messages", data=body.encode(), headers=CHAT)
    assert resp.status == 200
    await resp.read()
    entries = (await (await client.get("/_mock/journal")).json())["data"]
    assert entries[0]["body"]["z"] == str(big)


async def test_a_large_body_only_pythons_json_reads_is_journaled_by_size_and_digest(client: Any) -> None:
    """A body orjson refuses (its NaN) is read by the stdlib parser and journaled as parsed, yet a large
    one still only by its size and digest, like any other large body."""
    body = json.dumps({"query": "q" * 100_000, "user": "u", "inputs": {}, "response_mode": "blocking"})
    body = body[:-1] + ', "w": NaN}'
    resp = await client.post("/v1/chat-messages", data=body.encode(), headers=CHAT)
    assert resp.status == 200
    entry = (await (await client.get("/_mock/journal")).json())["data"][0]
    assert entry["body"]["_omitted"] == f"a JSON body of {len(body)} bytes"


async def test_ten_megabyte_string_field(make_client: Any, expect_error: Any) -> None:
    client = await make_client()
    query = "q" * 10_000_000
    body = json.dumps({"query": query, "user": "u", "inputs": {}, "response_mode": "blocking"})
    resp = await client.post("/v1/chat-messages", data=body, headers=CHAT)
    assert resp.status == 200
    assert (await resp.json())["answer"].startswith("You asked: qqq")
    # The journal keeps a large body by size and digest, never the 10 MB.
    entry = (await (await client.get("/_mock/journal")).json())["data"][0]
    assert "_omitted" in entry["body"]
    over = json.dumps({"query": "q" * (Settings().max_body_bytes + 1), "user": "u"})
    await expect_error(await client.post("/v1/chat-messages", data=over, headers=CHAT), 413, "request_entity_too_large")


BROKEN_MULTIPART: dict[str, tuple[str, bytes]] = {
    "no boundary": ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\nabc\r\n--x--\r\n"),
    "other boundary": ("multipart/form-data; boundary=zzz", b"--x\r\nContent-Disposition: form-data\r\n\r\na\r\n--x--"),
    "garbage": ("multipart/form-data; boundary=x", b"\x00\xff garbage \r\n\r\n"),
    "empty": ("multipart/form-data; boundary=x", b""),
    "no closing line": (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello',
    ),
    "part without headers end": ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data"),
    "part without disposition": (
        "multipart/form-data; boundary=x",
        b"--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
    ),
    "over-long part header": (
        "multipart/form-data; boundary=x",
        b"--x\r\nContent-Disposition: form-data; name=" + b"n" * 100_000 + b"\r\n\r\nhi\r\n--x--\r\n",
    ),
    "nested multipart": (
        "multipart/form-data; boundary=x",
        b"--x\r\nContent-Disposition: form-data; name=file\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n"
        b"--y\r\n\r\nin\r\n--y--\r\n--x--\r\n",
    ),
}


@pytest.mark.parametrize("content_type, body", BROKEN_MULTIPART.values(), ids=BROKEN_MULTIPART.keys())
async def test_broken_multipart_on_upload_is_no_file(
    client: Any, expect_error: Any, content_type: str, body: bytes
) -> None:
    """Werkzeug reads a malformed multipart body as an empty form: the upload finds no file."""
    headers = {"Authorization": "Bearer app-chat", "Content-Type": content_type}
    await expect_error(await client.post("/v1/files/upload", data=body, headers=headers), 400, "no_file_uploaded")
    assert (await client.get("/_mock/health")).status == 200
    entries, _ = client.app[TENANTS].journal(None)
    assert not [e for e in entries if (e.get("error") or {}).get("crash")]


async def test_a_crash_after_a_streams_head_cuts_it_without_a_second_response(
    monkeypatch: pytest.MonkeyPatch, served: tuple[str, int]
) -> None:
    """The mock's own failure mid-stream (here forced) ends the stream early, as a dropped server
    would: no second HTTP response written into the open body, and the server answers on."""
    from mockserver.render import sse

    real = sse.encode_event
    sent = 0

    def failing(event: dict[str, Any]) -> bytes:
        nonlocal sent
        sent += 1
        if sent > 1:
            raise RuntimeError("forced")
        return real(event)

    monkeypatch.setattr(sse, "encode_event", failing)
    url, port = served
    body = BODY.replace(b"blocking", b"streaming")
    raw = await exchange(port, HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert raw.count(b"HTTP/1.") == 1, raw[-300:]
    assert b"data: " in raw and not raw.endswith(b"0\r\n\r\n")  # cut: no last chunk
    monkeypatch.undo()
    await assert_healthy(url)
