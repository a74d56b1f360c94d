"""OpenAPI 3.1 documents: the emulated Dify APIs (built from the catalogue) and the /_mock/ control API."""

from __future__ import annotations

import re
from typing import Any, Final

from aiohttp import web

from .catalogue import Catalogue, EndpointSpec
from .control import mock_version
from .keys import CATALOGUE
from .render import json_response

_ERROR: Final = {"$ref": "#/components/schemas/Error"}
_ERROR_SCHEMA: Final = {
    "type": "object",
    "required": ["code", "message", "status"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "integer"}},
}


def _path_params(path: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in re.findall(r"{(\w+)", path)
    ]


def _operation(spec: EndpointSpec, ref_base: str) -> dict[str, Any]:
    request = spec.raw.get("$defs", {}).get("request", {}).get("properties", {})
    op: dict[str, Any] = {
        "operationId": spec.operation_id or spec.id,
        "summary": spec.raw.get("title", spec.id),
        "tags": [spec.api],
        "x-endpoint-id": spec.id,
        "parameters": _path_params(spec.path)
        + [{"name": n, "in": "query", "schema": s} for n, s in request.get("query", {}).get("properties", {}).items()],
    }
    if spec.modes:
        op["description"] = f"App modes: {', '.join(sorted(spec.modes))}; another mode answers 400 {spec.mode_error}."
    if "body" in request:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request["body"]}}}
    ok: dict[str, Any] = {"description": "Success"}
    if "response" in spec.raw.get("$defs", {}):
        ok["content"] = {
            "application/json": {
                "schema": {"$ref": f"{ref_base}{spec.schema_file.parent.name}/{spec.schema_file.name}#/$defs/response"}
            }
        }
    if spec.streams:
        ok.setdefault("content", {})["text/event-stream"] = {
            "schema": {"type": "string", "description": "`data: <event JSON>` frames (see _shared/events.json)"}
        }
    op["responses"] = {
        str(spec.status): ok,
        "400": {"description": "Validation error", "content": {"application/json": {"schema": _ERROR}}},
    }
    if spec.auth != "none":
        op["responses"]["401"] = {
            "description": "Bad or missing key",
            "content": {"application/json": {"schema": _ERROR}},
        }
        op["security"] = [{"bearer": []}]
    return op


def emulated(catalogue: Catalogue, schema_base_url: str = "/_mock/schemas/") -> dict[str, Any]:
    """The Dify APIs the mock serves; response schemas are referenced at `schema_base_url`."""
    paths: dict[str, dict[str, Any]] = {}
    for spec in sorted(catalogue, key=lambda s: s.path):
        for path in spec.all_paths:
            paths.setdefault(path, {})[spec.method.lower()] = _operation(spec, schema_base_url)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Dify APIs emulated by dify-mockserver", "version": mock_version()},
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _control_op(
    summary: str, query: list[str] | None = None, body: dict[str, Any] | None = None, status: str = "200"
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            status: {"description": "OK"},
            "400": {"description": "Bad input", "content": {"application/json": {"schema": _ERROR}}},
        },
    }
    if query:
        op["parameters"] = [{"name": q, "in": "query", "schema": {"type": "string"}} for q in query]
    if body:
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object", "properties": body}}}}
    return op


_TENANT: Final = {"type": "string", "description": "a tenant id (s:t1, default) or a glob (s:*); absent: all"}


def control() -> dict[str, Any]:
    """The /_mock/ control API."""
    paths = {
        "/_mock/health": {"get": _control_op("Liveness and version")},
        "/_mock/reset": {
            "post": _control_op(
                "Reset tenants: state, journal, cursors, faults, forced scenarios, clock",
                body={"tenant": _TENANT, "seed": {"type": "integer"}},
            )
        },
        "/_mock/journal": {
            "get": _control_op("Journal entries {data, dropped}", ["tenant", "path", "status", "since"]),
            "delete": _control_op("Clear the journal", ["tenant"]),
        },
        "/_mock/faults": {
            "post": _control_op(
                "Queue a fault (the X-Mock-Fault grammar)",
                body={"fault": {"type": "string"}, "tenant": _TENANT, "endpoint": {"type": "string"}},
                status="201",
            ),
            "get": _control_op("Queued faults with remaining counts", ["tenant"]),
            "delete": _control_op("Clear queued faults", ["tenant"]),
        },
        "/_mock/scenarios": {
            "get": _control_op("Scenario names per endpoint id, and forced scenarios", ["tenant"]),
            "post": _control_op(
                "Force a scenario per tenant (scenario null lifts it)",
                body={"endpoint": {"type": "string"}, "scenario": {"type": ["string", "null"]}, "tenant": _TENANT},
            ),
        },
        "/_mock/clock": {
            "post": _control_op(
                "Move tenants' mock clock forward",
                body={"tenant": _TENANT, "advance": {"type": "number", "minimum": 0}},
            )
        },
        "/_mock/openapi.json": {"get": _control_op("OpenAPI of the emulated Dify APIs")},
        "/_mock/control/openapi.json": {"get": _control_op("This document")},
        "/_mock/": {"get": _control_op("The HTML inspector")},
        "/_mock/events": {"get": _control_op("Live journal as server-sent events (used by the inspector)", ["tenant"])},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dify-mockserver control API",
            "version": mock_version(),
            "description": "Loopback only by default; with --admin-token every call needs X-Mock-Admin-Token.",
        },
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR_SCHEMA}},
    }


async def _emulated(request: web.Request) -> web.Response:
    return json_response(emulated(request.app[CATALOGUE]))


async def _control(request: web.Request) -> web.Response:
    return json_response(control())


async def _schema(request: web.Request) -> web.Response:
    """A schema file the documents reference (`/_mock/schemas/service/send_chat_message.json`)."""
    name = request.match_info["name"]
    registry = request.app[CATALOGUE].registry
    if name not in registry:
        raise web.HTTPNotFound()
    return json_response(registry.contents(name))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_mock/openapi.json", _emulated, name="mock.openapi")
    app.router.add_get("/_mock/control/openapi.json", _control, name="mock.control_openapi")
    app.router.add_get("/_mock/schemas/{name:.+}", _schema, name="mock.schemas")
