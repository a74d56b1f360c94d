"""Journal entries: one per Dify request, recorded per tenant by the Dify stage (middleware.dify)."""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import time
from collections.abc import Iterator, Mapping
from typing import Any, Final

import orjson
from aiohttp import web

from mockserver import jsonsafe

_REDACT = frozenset({"authorization"})


def redact(name: str, value: str) -> str:
    # Enough of the credential to tell keys apart, never the whole secret.
    return "…" + value[-4:] if name.lower() in _REDACT else value


class Headers(Mapping[str, str]):
    """A request's headers as the journal shows them (credentials redacted): a read-only view of the
    request's own multidict, copied out only when an entry is written out (jsonsafe calls `__json__`).
    The multidict costs little to keep: aiohttp's parser shares the name of every common header."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Mapping[str, str]) -> None:
        self._raw = raw

    def __getitem__(self, name: str) -> str:
        return redact(name, self._raw[name])

    def __iter__(self) -> Iterator[str]:
        return (str(k) for k in self._raw)  # istr keys: orjson wants str

    def __len__(self) -> int:
        return len(self._raw)

    def __json__(self) -> dict[str, str]:
        return {str(k): redact(k, v) for k, v in self._raw.items()}


# An entry's keys in the order the journal shows them, and what they hold until the request sets them.
_BLANK: dict[str, Any] = {
    "id": None,
    "tenant": None,
    "time": None,
    "method": None,
    "path": None,
    "query": None,
    "headers": None,
    "body": None,
    "endpoint": None,
    "scenario": None,
    "fault": None,
    "status": None,
    "events": (),  # a stream's events, as a list, once it ends
    "duration_ms": None,
    "unmatched": False,
    "retry_after": None,  # the Retry-After the client was told, in seconds
    "outcome": None,  # streams: complete | stopped | cut | error | stalled | client_left
    "conversation_id": None,  # chats: the conversation the answer belongs to
    "error": None,  # an error response's {code, message}
    "_t0": None,
}


# The keys of an entry as the Dify stage records it (`_t0` gone, nothing added), in _BLANK's order.
_FIELDS: Final = tuple(k for k in _BLANK if k != "_t0")
Kept = dict[str, Any] | tuple[Any, ...]


# Why entries are kept as they are: a tenant keeps a thousand (the soak's 1,000 tenants a few hundred
# each), and a dict of twenty keys per entry was most of an entry's memory. An entry holds the request's
# raw forms while it is written (its headers' multidict, the JSON text, `()` for no query and no events)
# and is kept as the tuple of its values: half the bytes, and fewer objects for the garbage collector
# to walk. Reading makes them JSON.
def kept(entry: dict[str, Any]) -> Kept:
    """How a tenant keeps a closed entry: its values alone when its keys are the usual ones, else the
    dict itself (an error's details, a stream's outcome: keys beyond the usual)."""
    return tuple(entry.values()) if len(entry) == len(_FIELDS) else entry


def shown(item: Kept) -> dict[str, Any]:
    """A kept (or live) entry as the journal shows it: a new dict, every value JSON."""
    entry = dict(zip(_FIELDS, item, strict=True)) if isinstance(item, tuple) else dict(item)
    duration = entry.get("duration_ms")
    if duration is not None:
        entry["duration_ms"] = round(duration, 3)
    headers = entry.get("headers")
    if headers is not None and not isinstance(headers, Headers):
        entry["headers"] = Headers(headers)
    if entry.get("query") == ():
        entry["query"] = {}
    body = entry.get("body")
    if isinstance(body, bytes):  # the JSON text as sent; only one orjson read is kept so (readers.read_json)
        entry["body"] = orjson.loads(body)
    events = entry.get("events")
    if isinstance(events, tuple):
        entry["events"] = list(events)
    return entry


class JournalClock:
    """Entry ids and wall times; journal timing is real time (it measures the client), never a body."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def open(self, request: web.Request) -> dict[str, Any]:
        entry = _BLANK.copy()  # one C copy, then what this request fills in
        entry["id"] = next(self._ids)
        entry["time"] = time.time()  # noqa: TID251 - wall time of the request, never in a response
        entry["method"] = request.method
        entry["path"] = request.path
        entry["query"] = {k: request.query.getone(k) for k in request.query} if request.query_string else ()
        entry["headers"] = request.headers  # wrapped in Headers when read
        entry["_t0"] = time.perf_counter()
        return entry

    @staticmethod
    def close(entry: dict[str, Any], status: int, retry_after: str | None = None) -> dict[str, Any]:
        entry["status"] = None if entry.get("aborted") else status
        # Kept unrounded: shown() rounds it for whoever reads (round(x, 3) costs a request 0.2 µs).
        entry["duration_ms"] = (time.perf_counter() - entry.pop("_t0")) * 1000.0
        if retry_after is not None and retry_after.isdigit():
            entry["retry_after"] = int(retry_after)
        return entry


BODY_LIMIT = 64 * 1024  # larger bodies are journaled by size and digest, so the journal stays small


def journal_body(body: Any, raw: bytes | None, size: int | None) -> Any:
    """What an entry keeps of a JSON body: the text as sent (`raw`, read back when the entry is), the
    body itself where there is no such text (one only the stdlib parser reads), or for a larger one
    (`size`: the text's, else the request's Content-Length) its size and digest."""
    if raw is not None:
        size = len(raw)
    if size is not None and size > BODY_LIMIT:
        digest = hashlib.blake2b(jsonsafe.dumps(body), digest_size=16).hexdigest()
        return {"_omitted": f"a JSON body of {size} bytes", "digest": digest}
    return raw if raw is not None else body


def matches(entry: dict[str, Any], path: str | None, status: str | None, since: float | None) -> bool:
    """The filters of GET /_mock/journal: path glob, status (404, or a class such as 4xx), since."""
    if path is not None and not fnmatch.fnmatchcase(entry["path"], path):
        return False
    if status is not None:
        code = str(entry["status"])
        if not (code == status or (len(status) == 3 and status.endswith("xx") and code[:1] == status[:1])):
            return False
    if since is not None:
        # Unix times are large; anything smaller is an entry id, for polling "what came after".
        return bool(entry["time"] >= since if since >= 1e9 else entry["id"] > since)
    return True


def request_line(entry: dict[str, Any]) -> str:
    """One line of the request log: method, path, status, duration, tenant, scenario, fault, and why
    an error happened where the mock knows more than Dify's body says. Written as one string, not a list
    joined: `serve` writes a line for every request."""
    status = entry.get("status")
    shown = status if status is not None else f"({entry.get('aborted', 'dropped')})"
    line = f"{entry['method']} {entry['path']} {shown} {entry.get('duration_ms') or 0:.1f}ms {entry['tenant']}"
    scenario = entry.get("scenario")
    if scenario:
        line += f" scenario={scenario}"
    fault = entry.get("fault")
    if fault:
        line += f" fault={fault['name']}({fault['source']})"
    outcome = entry.get("outcome")
    if outcome is not None and outcome != "complete":
        line += f" stream={outcome}"
    error = entry.get("error")
    if error:
        line += f" {error['code']}: {error.get('note') or error['message']}"
    return line
