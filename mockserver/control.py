"""The /_mock/ control plane: health and reset (journal, faults, scenarios and clock come next)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from aiohttp import web

from .errors import DifyError
from .keys import TENANTS
from .render import json_response


def mock_version() -> str:
    try:
        return version("dify-mockserver")
    except PackageNotFoundError:  # running from a checkout without an install
        return "0+unknown"


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise DifyError("bad_request", "Invalid JSON payload received or JSON payload is empty.") from None
    if not isinstance(data, dict):
        raise DifyError("bad_request", "The control API takes a JSON object.")
    return data


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "version": mock_version()})


async def reset(request: web.Request) -> web.Response:
    body = await _json_body(request)
    tenant, seed = body.get("tenant"), body.get("seed")
    if tenant is not None and not isinstance(tenant, str):
        raise DifyError("invalid_param", "tenant must be a string (an id such as s:t1, or a glob such as k:*)")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise DifyError("invalid_param", "seed must be an integer")
    count = request.app[TENANTS].reset(tenant, seed)
    return json_response({"result": "success", "tenants": count})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_mock/health", health, name="mock.health")
    app.router.add_post("/_mock/reset", reset, name="mock.reset")
