"""Baseline for bench/startup.py: a bare aiohttp app answering GET /v1/, started like the mock.

Prints `bare listening on http://HOST:PORT` when ready; SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

from _serving import main
from aiohttp import web


async def index(request: web.Request) -> web.Response:
    return web.json_response({"welcome": "Dify OpenAPI", "api_version": "v1", "server_version": "1.9.0"})


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/v1/", index)
    return app


if __name__ == "__main__":
    main(make_app, "bare", __doc__.splitlines()[0])
