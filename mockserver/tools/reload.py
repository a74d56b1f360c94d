"""`serve --reload`: watch the fixture directories and swap the book; a broken edit keeps the last good one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

from aiohttp import web

from mockserver.catalogue import Catalogue
from mockserver.errors import FixtureError
from mockserver.keys import ACTIONS, BOOK, CATALOGUE, SETTINGS, BookRef
from mockserver.paths import fixtures_dir
from mockserver.scenarios.loader import load_book

log = logging.getLogger("mockserver.tools.reload")
STOP_TIMEOUT_S: Final = 5.0


def watch_fixtures(app: web.Application) -> web.Application:
    """Give the app a fixture watcher when its settings ask for one (`serve --reload`); returns the app."""
    if app[SETTINGS].reload and fixture_reloader not in app.cleanup_ctx:
        app.cleanup_ctx.append(fixture_reloader)
    return app


@asynccontextmanager
async def fixture_reloader(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: a watcher task for the app's lifetime, stopped (and awaited) on shutdown."""
    settings = app[SETTINGS]
    dirs = [fixtures_dir(), *settings.fixtures]
    stop = asyncio.Event()
    actions = frozenset(app[ACTIONS].keys())
    task = asyncio.create_task(watch_and_swap(dirs, app[CATALOGUE], app[BOOK], stop, actions, settings.dsl))
    yield
    stop.set()  # the watcher thread sees it within one step and the loop ends
    try:
        await asyncio.wait_for(task, STOP_TIMEOUT_S)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def watch_and_swap(
    dirs: Sequence[Path],
    catalogue: Catalogue,
    ref: BookRef,
    stop: asyncio.Event,
    actions: frozenset[str],
    dsl: Sequence[str] = (),
) -> None:
    """Reload on every batch of changes to a fixture file until `stop` is set. The DSL files the apps were
    made from are watched too, by their directories (an editor's save often replaces the file); a reload
    that names a DSL file in another directory restarts the watch with it."""
    from watchfiles import awatch  # only `--reload` pays for the import

    quiet = logging.getLogger("watchfiles")
    if quiet.level == logging.NOTSET:
        quiet.setLevel(logging.WARNING)  # its "N changes detected" at INFO would echo every save
    watched = [*dirs, *_dsl_dirs(ref, dirs)]
    try:
        while not stop.is_set():
            log.info("watching %s for fixture changes", ", ".join(map(str, watched)))
            async for changes in awatch(*watched, watch_filter=_is_fixture, stop_event=stop, step=50):
                await reload_once(dirs, catalogue, ref, actions, sorted({path for _, path in changes}), dsl)
                now = [*dirs, *_dsl_dirs(ref, dirs)]
                if now != watched:
                    watched = now
                    break
            else:
                return  # stopped
    except Exception:  # e.g. a watched directory removed: say so rather than stop reloading silently
        log.exception("the fixture watcher stopped; fixtures will not reload until a restart")


async def reload_once(
    dirs: Sequence[Path],
    catalogue: Catalogue,
    ref: BookRef,
    actions: frozenset[str],
    changed: Sequence[str] = (),
    dsl: Sequence[str] = (),
) -> bool:
    """Load the book off the event loop and swap it in; on a problem, log it and keep the current one.
    `changed` names the files whose edit prompted it, for the log."""
    loop = asyncio.get_running_loop()
    try:
        book = await loop.run_in_executor(None, load_book, catalogue, list(dirs), actions, dsl, ref.current_dsl)
    except FixtureError as exc:
        count = len(exc.problems)
        log.error("fixtures not reloaded (%d problem%s); the last good fixtures stay", count, "s" if count != 1 else "")
        for problem in exc.problems:
            log.error("%s", problem)
        return False
    except Exception:  # a watcher that dies would silently stop reloading
        log.exception("fixtures not reloaded; the last good fixtures stay")
        return False
    ref.current = ref.with_posted(book)  # one assignment: the swap is atomic
    log.info("fixtures reloaded%s", f" after a change to {', '.join(changed)}" if changed else "")
    return True


def _dsl_dirs(ref: BookRef, dirs: Sequence[Path]) -> list[Path]:
    """The directories of the DSL files the current apps come from, outside the fixture directories."""
    inside = [d.resolve() for d in dirs]
    found: dict[Path, None] = {}
    for app in ref.current.apps.apps.values():
        if app.dsl and Path(app.dsl).is_file():
            parent = Path(app.dsl).resolve().parent
            if not any(parent == d or d in parent.parents for d in inside):
                found[parent] = None
    return list(found)


def _is_fixture(_change: object, path: str) -> bool:
    return path.endswith((".yaml", ".yml"))
