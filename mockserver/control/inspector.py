"""GET /_mock/ (the HTML inspector) and GET /_mock/events (the journal, live, as server-sent events)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver import jsonsafe
from mockserver.keys import BOOK, TENANTS
from mockserver.state.journal import shown

BACKLOG: Final = 200  # entries a new inspector starts with
KEEPALIVE_S: Final = 15.0


class JournalHub:
    """Fans journal entries out to live subscribers; a slow subscriber loses entries, never blocks the mock."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, entry: dict[str, Any]) -> None:
        if not self._subscribers:
            return
        entry = shown(entry)  # the live entry holds the request's raw forms
        for queue in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(entry)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)


HUB: Final = web.AppKey("HUB", JournalHub)


async def page(request: web.Request) -> web.Response:
    book = request.app[BOOK].current
    apps = [{"key": a.key, "mode": a.mode, "name": a.name, "site_code": a.site_code} for a in book.apps.apps.values()]
    apps += [
        {"key": k, "mode": "knowledge", "name": "knowledge API key", "site_code": None} for k in book.apps.dataset_keys
    ]
    from importlib.resources import files  # the page's first load, not start-up (~0.9 ms)

    html = files("mockserver.control").joinpath("inspector.html").read_text(encoding="utf-8")
    # JSON inside a <script> block: `</` must not close it early.
    data = orjson.dumps({"apps": apps}).decode().replace("</", "<\\/")
    return web.Response(text=html.replace("/*BOOT*/null", data), content_type="text/html", charset="utf-8")


async def events(request: web.Request) -> web.StreamResponse:
    selector = request.query.get("tenant") or None
    hub = request.app[HUB]
    queue = hub.subscribe()
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    try:
        backlog, _ = request.app[TENANTS].journal(selector)
        for entry in backlog[-BACKLOG:]:
            await resp.write(b"data: " + jsonsafe.dumps(entry) + b"\n\n")
        while True:
            try:
                entry = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                await resp.write(b": keep-alive\n\n")
                continue
            if selector is None or _selected(entry, selector):
                await resp.write(b"data: " + jsonsafe.dumps(entry) + b"\n\n")
    except ConnectionResetError:
        pass  # the inspector tab was closed
    finally:
        hub.unsubscribe(queue)
    return resp


def _selected(entry: dict[str, Any], selector: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(str(entry.get("tenant")), selector)


def add_routes(app: web.Application, guarded: Callable[[Handler], Handler]) -> None:
    app[HUB] = JournalHub()
    app.router.add_get("/_mock/", guarded(page), name="mock.inspector")
    app.router.add_get("/_mock/events", guarded(events), name="mock.events")
