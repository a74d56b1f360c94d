"""Shared by the bench servers: serve an aiohttp app until SIGINT/SIGTERM, and their --host/--port/--loop
CLI. `--loop uvloop` runs them on uvloop, as `serve` runs on it where the `fast` extra is installed: the
benches compare servers on the same event loop."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable

from aiohttp import web

AppSource = web.Application | Callable[[], web.Application]


async def serve(app_or_factory: AppSource, host: str, port: int, label: str) -> None:
    """Start the app, print `<label> listening on http://HOST:PORT`, run until SIGINT/SIGTERM."""
    app = app_or_factory if isinstance(app_or_factory, web.Application) else app_or_factory()
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(f"{label} listening on http://{host}:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run(app_or_factory: AppSource, host: str, port: int, label: str, loop: str = "asyncio") -> None:
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(app_or_factory, host, port, label))


def main(app_or_factory: AppSource, label: str, description: str) -> None:
    """Parse --host/--port/--loop and run the app there (port 0: any free port)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the event loop")
    args = parser.parse_args()
    run(app_or_factory, args.host, args.port, label, args.loop)
