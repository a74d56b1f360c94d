"""The bytes of Dify's JSON bodies. Dify writes two dialects (REFERENCE §11.1, verified against
Flask 3.1, flask-restx 1.3.2 and ujson, which every production image installs):

- resources and every error body go through flask-restx's output_json with ujson: compact, ASCII
  only, `/` escaped as `\\/`, a trailing newline, `Content-Type: application/json`;
- blocking generate bodies (chat, completion, workflow run) go through libs/helper.py
  compact_generate_response: stdlib json.dumps defaults (`", "`, `": "`, ASCII escapes), no newline,
  `Content-Type: application/json; charset=utf-8`.
SSE frames are orjson (render/sse.py)."""

from __future__ import annotations

from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Final

from aiohttp import web
from msgspec import Struct

from mockserver.faults.delivery import Delivery, send_body


# Frozen: RESTX is a shared default of the response plans (msgspec shares no mutable struct as a default).
class Wire(Struct, frozen=True, eq=False):
    """A JSON dialect of response bodies: its content type and encoder."""

    content_type: Final[str]
    charset: Final[str | None]

    def encode(self, body: Any) -> bytes:
        raise NotImplementedError


def _unserializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _stdlib_encoder(item_separator: str, key_separator: str) -> Any:
    """json.dumps's own C encoder (ASCII escapes, NaN allowed, keys in order), made once: json.dumps
    builds it anew on every call, a third of its cost on a blocking body. No circular check: a body
    is plain data (a cycle would end in RecursionError, which the route's stage answers 500)."""
    return c_make_encoder(
        None, _unserializable, encode_basestring_ascii, None, key_separator, item_separator, False, False, True
    )


_COMPACT: Final = _stdlib_encoder(",", ":")
_DEFAULTS: Final = _stdlib_encoder(", ", ": ")


class _Restx(Wire, frozen=True):
    def encode(self, body: Any) -> bytes:
        # JSON text has `/` only inside strings, so the replace is ujson's escape and nothing else.
        return ("".join(_COMPACT(body, 0)).replace("/", "\\/") + "\n").encode()


class _Generate(Wire, frozen=True):
    def encode(self, body: Any) -> bytes:
        return "".join(_DEFAULTS(body, 0)).encode()


def generate_text(value: Any) -> str:
    """One value as the generate dialect writes it (json.dumps), for a body put together from parts."""
    if type(value) is str:
        return str(encode_basestring_ascii(value))
    return "".join(_DEFAULTS(value, 0))


RESTX: Final[Wire] = _Restx("application/json", None)
GENERATE: Final[Wire] = _Generate("application/json", "utf-8")


async def send_json(
    request: web.Request,
    body: Any,
    status: int,
    headers: dict[str, str] | None,
    delivery: Delivery,
    wire: Wire = RESTX,
) -> web.StreamResponse:
    """`body` in Dify's bytes, delivered as the request's faults shape it."""
    return await send_body(request, wire.encode(body), status, headers, delivery, wire.content_type, wire.charset)
