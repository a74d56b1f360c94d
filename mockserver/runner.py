"""The HTTP server around the app: aiohttp's runner with three changes for Dify clients.

- A request aiohttp's own parser refuses (a bad request line, an over-long header line, a broken
  chunked body, a wrong Content-Length) never reaches a route's stage: aiohttp answers it from
  RequestHandler.handle_error as text/plain and logs a traceback. Here it is answered in Dify's
  envelope, `{"code": "bad_request", "message": <werkzeug's BadRequest text>, "status": 400}` with
  JSON's content type, and logged as one line (no traceback).
- `header_timeout`: a connection that has not sent a whole request head within that many seconds of
  connecting, or of its last response, is closed. That is aiohttp's keep-alive timer, which aiohttp
  arms at connect time too: it covers a client that sends its headers a byte a second as well as an
  idle keep-alive connection (gunicorn, Dify's server, closes those after its own `keepalive`).
- A Dify stream whose client hangs up is cancelled at once (the pipeline ends it as `client_left`),
  where aiohttp would let it run to its next write.

aiohttp has no public hook for the first and the last (aio-libs/aiohttp#3287), so the runner builds
its protocol factory itself: a web.Server whose connections are DifyRequestHandler, made in
AppRunner._make_server. That and RequestHandler._current_request are the non-public names used (both
in aiohttp 3.x for years); tests/http/test_malformed.py and test_slow_clients.py pin the behaviour, so
an aiohttp that changes them fails there first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import BaseRequest

from mockserver.errors import CODES
from mockserver.keys import CLIENT_LEFT, STREAMS
from mockserver.render.wire import RESTX

log = logging.getLogger("mockserver")


def error_body(status: int) -> bytes:
    """The envelope aiohttp's own errors go out in: what its parser refuses (always 400) is Werkzeug's
    BadRequest as far as a Dify client can tell; anything else is Dify's generic 500 (a handler that
    raised past its route's stage; the mock's stages leave none)."""
    if status < 500:
        body: dict[str, Any] = {"code": "bad_request", "message": CODES["bad_request"].message, "status": status}
    else:
        body = {"message": CODES["unknown"].message, "code": "unknown", "status": status}
    return RESTX.encode(body)


def _one_line(text: str) -> str:
    """aiohttp's parser messages span lines (the offending bytes, a caret under them): one log line."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip(" ^"))


class DifyRequestHandler(web.RequestHandler):
    """aiohttp's connection protocol, answering its own errors in Dify's envelope without a traceback."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: a response is half sent, the connection is cut
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        if isinstance(exc, HttpProcessingError):
            log.warning("refused a malformed request from %s: %s", request.remote, _one_line(exc.message or str(exc)))
        elif status >= 500:
            log.error("internal error of the mock on %s %s", request.method, request.path, exc_info=exc)
        resp = web.Response(body=error_body(status), status=status, content_type="application/json")
        resp.force_close()
        return resp

    def connection_lost(self, exc: BaseException | None) -> None:
        """A Dify stream whose client hung up stops at once instead of at its next write (a stalled
        stream pings only every few seconds; a slow first token sleeps before the head). Other
        handlers run on, as a gunicorn worker would: a blocking call whose client left still commits."""
        request = getattr(self, "_current_request", None)  # the request being handled, if any
        if isinstance(request, web.Request):
            task = request.app[STREAMS].get(id(request))
            if task is not None and not task.done():
                request[CLIENT_LEFT] = True
                task.cancel()
        super().connection_lost(exc)


class DifyServer(web.Server):
    """aiohttp's low-level server (the protocol factory) making DifyRequestHandler connections."""

    def __init__(self, plain: web.Server, loop: asyncio.AbstractEventLoop, handler_kwargs: dict[str, Any]) -> None:
        super().__init__(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=loop,
            **handler_kwargs,
        )
        self._dify_loop, self._dify_kwargs = loop, handler_kwargs

    def __call__(self) -> web.RequestHandler:
        return DifyRequestHandler(self, loop=self._dify_loop, **self._dify_kwargs)


class DifyAppRunner(web.AppRunner):
    """web.AppRunner whose connections answer parser errors in Dify's envelope and close a connection
    without a request head after `header_timeout`."""

    def __init__(
        self,
        app: web.Application,
        *,
        header_timeout: float,
        handle_signals: bool = False,
        shutdown_timeout: float = 60.0,
        **handler_kwargs: Any,
    ) -> None:
        # keepalive_timeout is RequestHandler's own, documented: armed at connect and after each response.
        self._handler_kwargs: dict[str, Any] = {**handler_kwargs, "keepalive_timeout": header_timeout}
        super().__init__(app, handle_signals=handle_signals, shutdown_timeout=shutdown_timeout, **self._handler_kwargs)

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return DifyServer(plain, asyncio.get_running_loop(), self._handler_kwargs)
