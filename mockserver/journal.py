"""Journal entries: one per Dify request, recorded per tenant by the outermost middleware."""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiohttp import web

_REDACT = frozenset({"authorization"})


def redact(name: str, value: str) -> str:
    # Enough of the credential to tell keys apart, never the whole secret.
    return "…" + value[-4:] if name.lower() in _REDACT else value


class JournalClock:
    """Entry ids and wall times; journal timing is real time (it measures the client), never a body."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def open(self, request: web.Request) -> dict[str, Any]:
        return {
            "id": next(self._ids),
            "tenant": None,
            "time": time.time(),  # noqa: TID251 - wall time of the request, never in a response
            "method": request.method,
            "path": request.path,
            "query": {k: request.query.getone(k) for k in request.query},
            "headers": {k: redact(k, v) for k, v in request.headers.items()},
            "body": None,
            "endpoint": None,
            "scenario": None,
            "fault": None,
            "status": None,
            "events": [],
            "duration_ms": None,
            "unmatched": False,
            "_t0": time.perf_counter(),
        }

    @staticmethod
    def close(entry: dict[str, Any], status: int) -> dict[str, Any]:
        entry["status"] = status
        entry["duration_ms"] = round((time.perf_counter() - entry.pop("_t0")) * 1000.0, 3)
        return entry
