"""READERS[spec.request]: how an endpoint's body is read (json, multipart, none), as Flask reads it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Final

import orjson
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from msgspec import Struct

from mockserver.dify.files import MB, category, extension
from mockserver.endpoint import EndpointSpec
from mockserver.errors import DifyError
from mockserver.settings import Settings

CHUNK: Final = 64 * 1024
# x-endpoint `files.limits`: the most bytes a file may have. `upload` is Dify's per-category table
# (by extension, settable); `audio` is audio-to-text's flat 30 MiB, strictly more refused (audio_service.py).
LIMITS: Final[dict[str, Callable[[str, Settings], int]]] = {
    "upload": lambda filename, settings: settings.upload_limit_mb(category(extension(filename))) * MB,
    "audio": lambda filename, settings: 30 * MB,
}


# Made and read within one request: read-only by type (Final), which mypy enforces.
class Upload(Struct, eq=False):
    """One file part of a multipart body."""

    part: Final[str]  # the form field it came in
    filename: Final[str]
    mime: Final[str]  # the part's Content-Type without parameters, lower-cased; "" when it had none
    data: Final[bytes]
    size: Final[int]  # bytes received (data holds none of them when the file is over its limit)
    oversize: Final[bool] = False


class _NoForm(Mapping[str, str]):
    """The form of a request that sent none: shared, so a JSON request allocates no form (the default
    of Received.form and Call.form; hashable)."""

    def __getitem__(self, key: str) -> str:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0


NO_FORM: Final[Mapping[str, str]] = _NoForm()


class Received(Struct, eq=False):
    """What a request's body held: its JSON document, or its multipart fields and files."""

    body: Any = None  # the JSON document
    form: Mapping[str, str] = NO_FORM  # multipart fields, the first of each name
    files: tuple[Upload, ...] = ()  # the endpoint's file part, the first of its name
    file_fields: int = 0  # distinct field names that carried a file (Werkzeug's len(request.files))
    raw: bytes | None = None  # a JSON body's text as sent (what the journal keeps)

    def journal(self) -> dict[str, Any]:
        """What the journal shows of a multipart body: its fields, and each file's name, type and size."""
        files = [{"part": f.part, "filename": f.filename, "mime_type": f.mime, "size": f.size} for f in self.files]
        return {**self.form, "files": files}


def _is_json(content_type: str) -> bool:
    # Flask's is_json: application/json or application/*+json
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def body_bytes(request: web.Request) -> bytes:
    """The request's body. One that has wholly arrived (the usual small JSON body: the parser has seen
    its end) is taken from the buffer at once, without request.read()'s loop of awaited reads (about 120
    of a blocking chat's 7,000 Python bytecodes). Either way a body over the limit is aiohttp's 413."""
    content = request.content
    if content.is_eof() and content.exception() is None:
        raw = content.read_nowait()
        limit = request.client_max_size
        if limit and len(raw) > limit:
            raise web.HTTPRequestEntityTooLarge(limit, len(raw))
        return raw
    return await request.read()


async def read_json(request: web.Request, spec: EndpointSpec, settings: Settings) -> Received:
    # The usual header, as sent, needs no parsing (aiohttp parses it for content_type once a request).
    if request.headers.get("Content-Type") != "application/json" and not _is_json(request.content_type):
        raise DifyError("unsupported_media_type")
    raw = await body_bytes(request)
    try:
        return Received(body=orjson.loads(raw), raw=raw)
    except orjson.JSONDecodeError:
        # No `raw` for the journal: what only the stdlib parser reads (NaN, nesting past orjson's 1,024
        # levels) is journaled as parsed, so reading the journal never parses it again in a deeper stack.
        return Received(body=flask_json(raw))


def flask_json(raw: bytes) -> Any:
    """A body orjson refuses, read as Flask's get_json reads every body: the stdlib parser, which also
    takes NaN, Infinity, integers beyond 64 bits, duplicate keys (the last wins, as in orjson) and
    UTF-16/32 text. Flask (debug off) turns every ValueError of it (broken JSON, an empty body,
    invalid UTF-8) into a bare BadRequest: werkzeug's generic text (flask/wrappers.py
    on_json_loading_failed). Nesting deeper than the interpreter's recursion limit raises
    RecursionError, which no Flask handler catches: Dify's generic handler answers 500 `unknown`
    (libs/external_api.py handle_general_exception)."""
    try:
        return json.loads(raw)
    except ValueError:
        raise DifyError("bad_request") from None
    except RecursionError:
        raise DifyError("unknown") from None


async def read_multipart(request: web.Request, spec: EndpointSpec, settings: Settings) -> Received:
    """Werkzeug's form parsing: a part with a filename (even an empty one) is a file, any other a
    field; a body that is not multipart has neither. The endpoint's file part is kept up to its size
    limit (LIMITS) and only counted beyond it, so an oversize upload costs no memory; other file parts
    are only counted."""
    if request.content_type != "multipart/form-data":
        return Received()
    form: dict[str, str] = {}
    files: list[Upload] = []
    wanted = spec.files.part if spec.files is not None else None
    limit = LIMITS[spec.files.limits if spec.files is not None else "upload"]
    file_names: set[str] = set()
    form_bytes = 0
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue  # a nested multipart: Werkzeug ignores it too
            name = part.name or ""
            if part.filename is None:
                value = await part.read(decode=True)
                form_bytes += len(value)
                if form_bytes > settings.max_body_bytes:
                    raise DifyError("request_entity_too_large")
                form.setdefault(name, value.decode("utf-8", errors="replace"))
                continue
            file_names.add(name)
            if name == wanted and not files:
                files.append(await _read_file(part, name, limit(part.filename or "", settings)))
            else:
                await _drain(part)
    except (ValueError, HttpProcessingError):
        # Werkzeug reads a malformed multipart body (no boundary, garbage, no closing line, a part
        # header line beyond aiohttp's 8190 bytes) as an empty form without a word: the endpoint then
        # finds no file.
        return Received()
    return Received(form=form, files=tuple(files), file_fields=len(file_names))


async def _read_file(part: BodyPartReader, name: str, limit: int) -> Upload:
    filename = part.filename or ""
    mime = (part.headers.get("Content-Type") or "").partition(";")[0].strip().lower()
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif chunks:
            chunks.clear()  # over the limit: keep counting, keep nothing
    return Upload(name, filename, mime, b"".join(chunks), size, oversize=size > limit)


async def _drain(part: BodyPartReader) -> None:
    while await part.read_chunk(CHUNK):
        pass


async def read_nothing(request: web.Request, spec: EndpointSpec, settings: Settings) -> Received:
    return Received()


READERS: Final[dict[str, Callable[[web.Request, EndpointSpec, Settings], Awaitable[Received]]]] = {
    "json": read_json,
    "multipart": read_multipart,
    "none": read_nothing,
}
