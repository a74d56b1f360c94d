"""Every typed application and request key of the server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web
from msgspec import Struct
from msgspec.structs import replace

from mockserver.actions import Registry
from mockserver.catalogue import Catalogue
from mockserver.determinism import FakerSource
from mockserver.dify.apps import App
from mockserver.dify.versions import Release
from mockserver.endpoint import EndpointSpec
from mockserver.faults.delivery import NORMAL, Delivery
from mockserver.scenarios.model import Book
from mockserver.settings import Settings
from mockserver.state.journal import JournalClock
from mockserver.tenancy import TenantRegistry
from mockserver.validation import ANONYMOUS, Principal


class BookRef:
    """The current Book; `--reload` swaps its contents, never the key. A reload also needs the emulated
    release's DSL version and the apps POST /_mock/apps added, which outlive it (`posted`)."""

    __slots__ = ("current", "current_dsl", "posted")

    def __init__(self, book: Book, current_dsl: str = "0.7.0") -> None:
        self.current = book
        self.current_dsl = current_dsl
        self.posted: dict[str, App] = {}

    def with_posted(self, book: Book) -> Book:
        """`book` with the posted apps over its own."""
        if not self.posted:
            return book
        return replace(book, apps=replace(book.apps, apps={**book.apps.apps, **self.posted}))


SETTINGS: Final = web.AppKey("SETTINGS", Settings)
RELEASE: Final = web.AppKey("RELEASE", Release)  # the Dify release emulated
CATALOGUE: Final = web.AppKey("CATALOGUE", Catalogue)
BOOK: Final = web.AppKey("BOOK", BookRef)
TENANTS: Final = web.AppKey("TENANTS", TenantRegistry)
FAKER: Final = web.AppKey("FAKER", FakerSource)
ROUTE_SPECS: Final = web.AppKey("ROUTE_SPECS", dict[str, EndpointSpec])
ACTIONS: Final = web.AppKey("ACTIONS", Registry)
STREAMS: Final = web.AppKey("STREAMS", dict[int, asyncio.Task[Any]])  # Dify streams being written (for a clean stop)


class Runtime(Struct, eq=False):
    """The app's values every Dify request reads, in one object: aiohttp's `app[KEY]` is a Python call,
    and a request read a dozen. Made once the app is built; the keys above stay for everything else."""

    settings: Final[Settings]
    release: Final[Release]
    book: Final[BookRef]
    tenants: Final[TenantRegistry]
    route_specs: Final[dict[str, EndpointSpec]]
    actions: Final[Registry]
    faker: Final[FakerSource]
    clock: Final[JournalClock]  # journal entry ids and times
    dify_headers: Final[dict[str, str]]  # on every response of a Dify route (faults/delivery.py DIFY_HEADERS)
    # Who hears of each closed journal entry (the inspector's hub, the request log): worked out by the
    # Dify stage at the first Dify request, once the app is frozen (app.get() is a Python call).
    listeners: tuple[Callable[[dict[str, Any]], None], ...] | None = None


RUNTIME: Final = web.AppKey("RUNTIME", Runtime)

# Set by the runner (mockserver/runner.py) when a stream's client hangs up, before it cancels the stream.
CLIENT_LEFT: Final = web.RequestKey("CLIENT_LEFT", bool)


class Exchange(Struct, eq=False):
    """A Dify request's own values, from its stage (middleware.dify) to the pipeline: one request key,
    set once and read once (aiohttp's `request[KEY]` and `request.get()` are Python calls, and a request made ten)."""

    runtime: Final[Runtime]
    entry: Final[dict[str, Any]]  # the journal entry being filled
    spec: EndpointSpec | None = None  # the route's, found by the auth stage
    principal: Principal = ANONYMOUS
    tenant_id: str = ""  # set by the auth stage, whether it admits the request or not
    delivery: Delivery = NORMAL  # how this response's bytes go out (faults)
    # A `{dataset_id}` route's dataset, found before the handler. Typed by a comment only: the Knowledge
    # API's records load with its first request, not at start-up.
    dataset: Any = None  # mockserver.state.knowledge.Dataset


EXCHANGE: Final = web.RequestKey("EXCHANGE", Exchange)
