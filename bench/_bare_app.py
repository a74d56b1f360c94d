"""Baseline servers for the bench: a bare aiohttp app, no auth and no validation, started like the mock.

GET /v1/ (bench/startup.py) and POST /v1/chat-messages (bench/blocking.py: parse the JSON body, answer
the blocking chat body the reference server gives). Prints `bare listening on http://HOST:PORT`
when ready; SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

from _chat import blocking_answer
from _serving import main
from aiohttp import web


async def index(request: web.Request) -> web.Response:
    return web.json_response({"welcome": "Dify OpenAPI", "api_version": "v1", "server_version": "1.9.0"})


async def chat_messages(request: web.Request) -> web.Response:
    return web.json_response(blocking_answer(await request.json(), "chat"))


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/v1/", index)
    app.router.add_post("/v1/chat-messages", chat_messages)
    return app


if __name__ == "__main__":
    main(make_app, "bare", __doc__.splitlines()[0])
