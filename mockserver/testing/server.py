"""MockServer (in the running event loop) and ThreadedMockServer (its own loop in a thread), both on a
free loopback port by default: what the pytest plugin and embedding code start."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Final

from aiohttp import web

from mockserver.keys import STREAMS
from mockserver.runner import DifyAppRunner
from mockserver.settings import Settings

LISTEN_BACKLOG: Final = 2048


class MockServer:
    """`async with MockServer(settings) as base_url:` serves the mock in the current loop."""

    def __init__(
        self,
        settings: Settings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        app: web.Application | None = None,
    ) -> None:
        self.settings = settings or Settings(pace_scale=0.0)
        self.host, self.port = host, port
        self.app: web.Application | None = app
        self._runner: DifyAppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        """Listen (OSError when the port is taken) and return the base URL actually bound."""
        from mockserver.app import create_app

        if self.app is None:
            self.app = create_app(self.settings)
        # stop() waits for Dify streams itself; what remains (inspector tabs) is cancelled at once.
        self._runner = DifyAppRunner(
            self.app,
            header_timeout=self.settings.header_timeout,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=0.1,
        )
        await self._runner.setup()
        try:
            # A burst of clients (a load test opening thousands of streams) must not overflow the
            # listen queue: dropped SYNs wait for the kernel's 1 s, 3 s, 7 s ... retries. 2048 is
            # gunicorn's default backlog, which Dify's API container runs under (capped by somaxconn).
            await web.TCPSite(self._runner, self.host, self.port, backlog=LISTEN_BACKLOG).start()
        except OSError:
            await self._runner.cleanup()
            raise
        host, port = self._runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{port}"
        return self.base_url

    def open_streams(self) -> int:
        return len(self.app[STREAMS]) if self.app is not None else 0

    def cut_streams(self) -> None:
        """Close every open Dify stream's connection (no terminal event, as a dropped server would)."""
        if self.app is None:
            return
        streams: dict[int, asyncio.Task[Any]] = self.app[STREAMS]
        for task in list(streams.values()):
            task.cancel()  # the handler stops writing; aiohttp closes the unfinished response's connection

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop listening, give open streams up to `grace_s` to end, then cut what is left."""
        if self._runner is None:
            return
        for site in list(self._runner.sites):
            await site.stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while self.open_streams() and loop.time() < deadline:
            await asyncio.sleep(0.02)
        self.cut_streams()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ThreadedMockServer:
    """The mock on its own event loop in a daemon thread, for synchronous clients (requests, the SDKs)."""

    def __init__(
        self,
        settings: Settings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        app: web.Application | None = None,
    ) -> None:
        self._server = MockServer(settings, host, port, app)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def settings(self) -> Settings:
        return self._server.settings

    @property
    def app(self) -> web.Application:
        if self._server.app is None:
            raise RuntimeError("the server is not started")
        return self._server.app

    def start(self, timeout: float = 30.0) -> str:
        self._thread = threading.Thread(target=self._run, name="dify-mockserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"dify-mockserver did not start within {timeout}s")
        if self._error is not None:
            raise self._error
        return self.base_url

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._server.start())
        except BaseException as exc:  # reported to start(): a fixture error, a busy port
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._server.stop())
            loop.close()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run `fn(app, *args)` on the server's loop and return its result (thread-safe)."""
        assert self._loop is not None and self._server.app is not None
        app = self._server.app

        async def run() -> Any:
            return fn(app, *args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def __enter__(self) -> ThreadedMockServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
