"""HTTP-level fixtures: the mock app behind pytest-aiohttp's test client, and SSE/error helpers.

Helpers are handed out as fixtures (not imported from this module) so the test files never
depend on which `conftest` module Python happens to have cached.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from mockserver.app import create_app, load
from mockserver.catalogue import Catalogue
from mockserver.keys import TENANTS
from mockserver.scenarios.model import Book
from mockserver.settings import Settings

# What every HTTP test runs with unless it says otherwise: nothing sleeps, every body and event
# the mock emits is validated against its schema, fixed seed.
BASE_SETTINGS: dict[str, Any] = {"pace_scale": 0.0, "strict": True, "seed": 0}

PING_FRAME = b"event: ping"
DATA_PREFIX = b"data: "
ERROR_KEYS = {"code", "message", "status"}


def check_frame(frame: bytes) -> dict[str, Any] | None:
    """One SSE frame without its trailing blank line: None for a ping, else the event (key order kept).

    Asserts Dify's framing exactly: `data: ` + one line of compact (orjson-style) JSON, or the
    literal `event: ping`; never an `event:`/`id:`/`retry:` line on a data frame, never `[DONE]`.
    """
    if frame == PING_FRAME:
        return None
    assert frame.startswith(DATA_PREFIX), f"frame is neither `data: ...` nor `event: ping`: {frame[:120]!r}"
    payload = frame[len(DATA_PREFIX) :]
    assert b"\n" not in payload and b"\r" not in payload, f"data frame spans several lines: {frame[:200]!r}"
    assert payload != b"[DONE]", "Dify sends no [DONE] sentinel"
    event = json.loads(payload)
    assert isinstance(event, dict), f"data frame is not a JSON object: {payload[:120]!r}"
    assert orjson.dumps(event) == payload, f"data frame is not compact orjson JSON: {payload[:200]!r}"
    assert isinstance(event.get("event"), str), f"data frame without an `event` name: {payload[:120]!r}"
    return event


def split_sse(raw: bytes) -> tuple[list[dict[str, Any]], int]:
    """All events of a raw SSE body (pings dropped) and the number of pings; asserts the framing."""
    assert raw, "empty stream"
    assert raw.endswith(b"\n\n"), f"stream does not end with a blank line: {raw[-80:]!r}"
    assert b"[DONE]" not in raw, "Dify sends no [DONE] sentinel"
    frames = raw.split(b"\n\n")
    assert frames[-1] == b"", f"trailing bytes after the last blank line: {frames[-1][:80]!r}"
    events: list[dict[str, Any]] = []
    pings = 0
    for frame in frames[:-1]:
        assert frame, "empty frame (three newlines in a row)"
        event = check_frame(frame)
        if event is None:
            pings += 1
        else:
            events.append(event)
    return events, pings


def parse_sse_bytes(raw: bytes) -> list[dict[str, Any]]:
    return split_sse(raw)[0]


async def read_sse_event(resp: ClientResponse) -> dict[str, Any] | None:
    """The next data event of a stream read incrementally (pings skipped); None at a clean end."""
    while True:
        chunk = await resp.content.readuntil(b"\n\n")  # returns what is left at EOF, b"" at a clean end
        if not chunk:
            return None
        assert chunk.endswith(b"\n\n"), f"stream ended inside a frame: {chunk[:200]!r}"
        event = check_frame(chunk[:-2])
        if event is not None:
            return event


async def assert_error_response(
    resp: ClientResponse, status: int, code: str, message: str | None = None
) -> dict[str, Any]:
    """Asserts Dify's error envelope: exactly {code, message, status}, status == HTTP status, JSON."""
    raw = await resp.read()
    assert resp.status == status, f"expected {status} {code}, got {resp.status}: {raw[:300]!r}"
    assert resp.content_type == "application/json", resp.headers.get("Content-Type")
    body = json.loads(raw)
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"] == message, body
    if status == 401:
        assert resp.headers.get("WWW-Authenticate") == 'Bearer realm="api"'
    return body


ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture(scope="session")
def builtin_book() -> tuple[Catalogue, Book]:
    """The built-in schemas and fixtures, loaded once: both are immutable, all state lives in the app."""
    return load(Settings())


@pytest.fixture
def make_client(
    aiohttp_client: Any, builtin_book: tuple[Catalogue, Book], request: pytest.FixtureRequest
) -> Iterator[ClientFactory]:
    """`await make_client(**settings_overrides)`: a test client on a fresh app (BASE_SETTINGS overridden).

    The self-check: every HTTP test runs `strict` (each body and event the mock emits is validated
    against its endpoint's schema), and after the test no app may have journaled a schema violation,
    whatever the test itself asserted. A test that provokes one on purpose says so with
    `@pytest.mark.schema_violations`."""
    apps: list[Any] = []

    async def factory(**overrides: Any) -> TestClient:
        settings = Settings(**{**BASE_SETTINGS, **overrides})
        if settings.fixtures or settings.dsl:
            client: TestClient = await aiohttp_client(create_app(settings))
        else:
            catalogue, book = builtin_book
            client = await aiohttp_client(create_app(settings, catalogue=catalogue, book=book))
        apps.append(client.app)
        return client

    yield factory
    if request.node.get_closest_marker("schema_violations") is not None:
        return
    for app in apps:
        entries, _ = app[TENANTS].journal(None)
        broken = [e for e in entries if (e.get("error") or {}).get("code") == "mock_schema_violation"]
        assert not broken, f"the mock emitted what its schema refuses: {broken[0]['error']['message']}"


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient:
    return await make_client()


@pytest.fixture
def parse_sse() -> Callable[[bytes], list[dict[str, Any]]]:
    """`parse_sse(raw_bytes)` -> the data events (framing asserted byte-exactly, pings dropped)."""
    return parse_sse_bytes


@pytest.fixture
def sse_with_pings() -> Callable[[bytes], tuple[list[dict[str, Any]], int]]:
    """`sse_with_pings(raw_bytes)` -> (events, ping count)."""
    return split_sse


@pytest.fixture
def read_event() -> Callable[[ClientResponse], Awaitable[dict[str, Any] | None]]:
    """`await read_event(resp)` -> the next data event of a live stream, None at its end."""
    return read_sse_event


@pytest.fixture
def expect_error() -> Callable[..., Awaitable[dict[str, Any]]]:
    """`await expect_error(resp, status, code, message=None)` -> the parsed error body."""
    return assert_error_response
