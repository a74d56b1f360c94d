"""create_app(settings): one aiohttp Application per call, no global state."""

from __future__ import annotations

import logging

from aiohttp import web

from mockserver import actions
from mockserver.catalogue import Catalogue, load_catalogue
from mockserver.control import api as control
from mockserver.control import inspector, openapi
from mockserver.determinism import FakerSource
from mockserver.dify import versions
from mockserver.keys import (
    ACTIONS,
    BOOK,
    CATALOGUE,
    FAKER,
    RELEASE,
    ROUTE_SPECS,
    RUNTIME,
    SETTINGS,
    STREAMS,
    TENANTS,
    BookRef,
    Runtime,
)
from mockserver.loadcache import LoadCache
from mockserver.middleware import add_unmatched, dify, guarded, staged
from mockserver.paths import fixtures_dir
from mockserver.pipeline import handle
from mockserver.routing import add_route
from mockserver.scenarios.loader import load_book
from mockserver.scenarios.model import Book
from mockserver.settings import Settings
from mockserver.state.journal import JournalClock
from mockserver.state.store import StoreLimits
from mockserver.tenancy import TenantRegistry

log = logging.getLogger("mockserver")


def load(settings: Settings) -> tuple[Catalogue, Book]:
    """The catalogue and the book for these settings; raises FixtureError on a broken fixture."""
    cache = LoadCache.open(settings.load_cache) if settings.load_cache is not None else None
    catalogue = load_catalogue(settings.schemas(), cache)
    current_dsl = versions.resolve(settings.dify_version)[0].dsl_version
    dirs = [fixtures_dir(), *settings.fixtures]
    book = load_book(catalogue, dirs, actions.registry(), settings.dsl, current_dsl, cache=cache)
    if cache is not None:
        cache.save()
    return catalogue, book


def create_app(
    settings: Settings | None = None, *, catalogue: Catalogue | None = None, book: Book | None = None
) -> web.Application:
    settings = settings or Settings()
    if catalogue is None or book is None:
        loaded_catalogue, loaded_book = load(settings)
        catalogue, book = catalogue or loaded_catalogue, book or loaded_book
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[RELEASE] = versions.resolve(settings.dify_version)[0]
    app[ACTIONS] = actions.registry()
    app[STREAMS] = {}
    app[CATALOGUE] = catalogue
    app[BOOK] = BookRef(book, app[RELEASE].dsl_version)
    limits = StoreLimits(file_bytes=settings.max_upload_store_bytes, message_bytes=settings.max_message_store_bytes)
    app[TENANTS] = TenantRegistry(
        settings.seed, settings.clock_start, settings.journal_size, settings.max_tenants, limits
    )
    app[FAKER] = FakerSource()
    routes = {}
    for spec in catalogue:
        for i, path in enumerate(spec.all_routes):
            name = spec.id if i == 0 else f"{spec.id}:alias{i}"
            add_route(app.router, spec.method, path, staged(handle, dify), name)
            routes[name] = spec
    app[ROUTE_SPECS] = routes
    app[RUNTIME] = Runtime(
        settings,
        app[RELEASE],
        app[BOOK],
        app[TENANTS],
        routes,
        app[ACTIONS],
        app[FAKER],
        JournalClock(),
        # Dify's after-request hook (extensions/ext_app_metrics.py) names the release on every response.
        {"X-Version": app[RELEASE].server_version, "X-Env": "PRODUCTION"},
    )
    control.add_routes(app, guarded)
    openapi.add_routes(app, guarded)
    inspector.add_routes(app, guarded)
    add_unmatched(app.router)  # last: the router tries it when no other route matched
    return app
