"""The /_mock/ control plane: health, reset, faults, scenarios, clock. JSON in, JSON out; a `tenant`
selector (an id such as s:t1, a glob such as k:*, absent = every tenant) in the body of POST and in
the query of GET and DELETE."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from aiohttp import web

from .errors import MSG_BAD_JSON, DifyError
from .keys import BOOK, TENANTS
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
        raise DifyError("bad_request", MSG_BAD_JSON) from None
    if not isinstance(data, dict):
        raise DifyError("bad_request", "The control API takes a JSON object.")
    return data


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise DifyError("invalid_param", f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, kind):  # no control field takes a boolean
        raise DifyError("invalid_param", f"{name} must be a {getattr(kind, '__name__', 'number')}")
    return value


def _tenant(data: dict[str, Any] | Any) -> str | None:
    value = data.get("tenant")
    if value is not None and (not isinstance(value, str) or not value):
        raise DifyError("invalid_param", "tenant must be a tenant id (s:t1, k:app-chat) or a glob (k:*)")
    return value or None


def _endpoint(request: web.Request, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in request.app[BOOK].current.fixtures:
        raise DifyError("invalid_param", f"unknown endpoint {value!r} (see `dify-mockserver lint --list`)")
    return value


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "version": mock_version()})


async def reset(request: web.Request) -> web.Response:
    body = await _json_body(request)
    seed = _field(body, "seed", int)
    count = request.app[TENANTS].reset(_tenant(body), seed)
    return json_response({"result": "success", "tenants": count})


async def get_journal(request: web.Request) -> web.Response:
    query = request.query
    status = query.get("status") or None
    if status is not None and not (
        len(status) == 3 and (status.isdigit() or (status[0].isdigit() and status[1:] == "xx"))
    ):
        raise DifyError("invalid_param", "status must be a status code (404) or a class (4xx)")
    try:
        since = float(query["since"]) if query.get("since") else None
    except ValueError:
        raise DifyError("invalid_param", "since must be an entry id or a Unix time") from None
    entries, dropped = request.app[TENANTS].journal(_tenant(query), query.get("path") or None, status, since)
    return json_response({"data": entries, "dropped": dropped})


async def clear_journal(request: web.Request) -> web.Response:
    request.app[TENANTS].clear_journal(_tenant(request.query))
    return json_response({"result": "success"})


async def add_fault(request: web.Request) -> web.Response:
    body = await _json_body(request)
    text = _field(body, "fault", str, required=True)
    registry, book = request.app[TENANTS], request.app[BOOK].current
    ids = registry.queue.add(text, _tenant(body), book.aliases, _endpoint(request, body.get("endpoint")), book.fixtures)
    return json_response({"id": ids[0], "ids": ids}, status=201)


async def list_faults(request: web.Request) -> web.Response:
    registry = request.app[TENANTS]
    selector = _tenant(request.query)
    tenants = [t.id for t in registry.select(selector)]
    entries = [
        e
        for e in registry.queue.entries
        if selector is None or e.selector is None or e.selects(selector) or e.selector == selector
    ]
    return json_response({"data": [e.describe(tenants) for e in entries]})


async def clear_faults(request: web.Request) -> web.Response:
    removed = request.app[TENANTS].queue.clear(_tenant(request.query))
    return json_response({"result": "success", "removed": removed})


async def list_scenarios(request: web.Request) -> web.Response:
    book = request.app[BOOK].current
    data = {endpoint: fixture.names for endpoint, fixture in sorted(book.fixtures.items())}
    forced = request.app[TENANTS].forced_list(_tenant(request.query))
    return json_response({"data": data, "forced": forced})


async def force_scenario(request: web.Request) -> web.Response:
    body = await _json_body(request)
    endpoint = _endpoint(request, _field(body, "endpoint", str, required=True))
    assert endpoint is not None
    scenario = _field(body, "scenario", str)
    if scenario is not None and request.app[BOOK].current.fixtures[endpoint].named(scenario) is None:
        names = ", ".join(request.app[BOOK].current.fixtures[endpoint].names)
        raise DifyError("invalid_param", f"endpoint {endpoint} has no scenario {scenario!r} (known: {names})")
    request.app[TENANTS].force(_tenant(body), endpoint, scenario)
    return json_response({"result": "success"})


async def advance_clock(request: web.Request) -> web.Response:
    body = await _json_body(request)
    seconds = _field(body, "advance", (int, float), required=True)
    if seconds < 0:
        raise DifyError("invalid_param", "advance must be >= 0 seconds: the mock clock only moves forward")
    moved = request.app[TENANTS].advance(_tenant(body), float(seconds))
    return json_response({"result": "success", "tenants": moved})


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/_mock/health", health, name="mock.health")
    router.add_post("/_mock/reset", reset, name="mock.reset")
    router.add_get("/_mock/journal", get_journal, name="mock.journal.get")
    router.add_delete("/_mock/journal", clear_journal, name="mock.journal.clear")
    router.add_post("/_mock/faults", add_fault, name="mock.faults.add")
    router.add_get("/_mock/faults", list_faults, name="mock.faults.list")
    router.add_delete("/_mock/faults", clear_faults, name="mock.faults.clear")
    router.add_get("/_mock/scenarios", list_scenarios, name="mock.scenarios.list")
    router.add_post("/_mock/scenarios", force_scenario, name="mock.scenarios.force")
    router.add_post("/_mock/clock", advance_clock, name="mock.clock")
