"""OpenAPI 3.1 documents: the emulated Dify APIs (built from the catalogue, self-contained) and the
/_mock/ control API."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver._version import __version__
from mockserver.catalogue import Catalogue
from mockserver.control.api import OPERATIONS
from mockserver.control.bundle import Bundle
from mockserver.endpoint import EndpointSpec
from mockserver.keys import CATALOGUE
from mockserver.render.respond import json_response

_ERROR: Final = {"$ref": "#/components/schemas/Error"}
_ERROR_SCHEMA: Final = {
    "type": "object",
    "required": ["code", "message", "status"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "integer"}},
}
_PARAM: Final = re.compile(r"\{(\w+)\}")
_TEXT: Final = {"type": "string"}
_PATH_TYPES: Final = {"uuid": {"type": "string", "format": "uuid"}}
_CONTENT: Final = {"json": "application/json", "multipart": "multipart/form-data"}
_SEED_ALIAS: Final = (
    "Seed alias of `{method} {path}`, kept on purpose: real Dify has no such route (REFERENCE §16); "
    "the seed's clients call it. Same behaviour as `{operation}`."
)
# The Knowledge API's aliases are Dify's own routes: the underscore spellings it keeps for old clients.
_DIFY_ALIAS: Final = (
    "Dify's legacy spelling of `{method} {path}` (deprecated in its docs). Same behaviour as `{operation}`."
)


def _camel(stem: str) -> str:
    head, *rest = stem.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def operation_ids(catalogue: Catalogue) -> dict[str, str]:
    """Endpoint id -> operationId: Dify's own where the schema keeps it (`x-endpoint.operation_id`),
    else the file stem in camelCase; the API's name goes in front only where two would collide."""
    wanted = {s.id: s.operation_id or _camel(s.id.partition(".")[2]) for s in catalogue}
    counts: dict[str, int] = {}
    for name in wanted.values():
        counts[name] = counts.get(name, 0) + 1
    out = {}
    for spec in catalogue:
        name = wanted[spec.id]
        out[spec.id] = spec.api + name[:1].upper() + name[1:] if counts[name] > 1 else name
    if len(set(out.values())) != len(out):
        raise ValueError(f"operationIds are not unique: {sorted(out.values())}")
    return out


def _parameters(spec: EndpointSpec, path: str, bundle: Bundle, base: str) -> list[dict[str, Any]]:
    declared = (spec.part("path") or {}).get("properties") or {}
    out = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": bundle.schema(declared.get(name, _PATH_TYPES.get(spec.path_params.get(name, ""), _TEXT)), base),
        }
        for name in _PARAM.findall(path)
    ]
    query = spec.part("query") or {}
    required = set(query.get("required") or ())
    for name, schema in (query.get("properties") or {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "schema": bundle.schema(schema, base)}
        if name in required:
            param["required"] = True
        out.append(param)
    return out


def _operation(spec: EndpointSpec, path: str, operation_id: str, bundle: Bundle) -> dict[str, Any]:
    base = spec.base
    op: dict[str, Any] = {
        "operationId": operation_id,
        "summary": spec.title,
        "tags": [spec.api],
        "x-endpoint-id": spec.id,
        "parameters": _parameters(spec, path, bundle, base),
    }
    notes = []
    if path != spec.path:
        alias = _DIFY_ALIAS if spec.api == "knowledge" else _SEED_ALIAS
        notes.append(alias.format(method=spec.method, path=spec.path, operation=spec.operation_id or spec.id))
    if spec.modes:
        notes.append(f"App modes: {', '.join(sorted(spec.modes))}; another mode answers 400 {spec.mode_error}.")
    if notes:
        op["description"] = "\n\n".join(notes)
    body = spec.part("form" if spec.request == "multipart" else "body")
    if spec.request != "none" and isinstance(body, dict):
        schema = bundle.schema(body, base)
        if spec.files is not None:  # the file travels beside the form's fields
            props = {**schema.get("properties", {}), spec.files.part: {"type": "string", "format": "binary"}}
            schema = {**schema, "properties": props, "required": [*schema.get("required", []), spec.files.part]}
        kind = _CONTENT[spec.request]
        op["requestBody"] = {"required": True, "content": {kind: {"schema": schema}}}
    ok: dict[str, Any] = {"description": "Success"}
    response = spec.response_schema
    if spec.response == "bytes":  # the bytes' type, where the schema's response names one
        media = (response or {}).get("contentMediaType", "application/octet-stream")
        described = (response or {}).get("contentSchema")  # JSON written in a dialect of its own
        binary = {"type": "string", "format": "binary"}
        ok["content"] = {media: {"schema": bundle.schema(described, base) if isinstance(described, dict) else binary}}
    elif response is not None and spec.response != "empty":
        ok["content"] = {"application/json": {"schema": bundle.schema(response, base)}}
    if spec.streams:
        events = spec.events_schema
        where = bundle.schema(events, base)["$ref"] if isinstance(events, dict) and "$ref" in events else None
        ok.setdefault("content", {})["text/event-stream"] = {
            "schema": {
                "type": "string",
                "description": "`data: <event JSON>` frames" + (f"; each event is {where}" if where else ""),
            }
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


def emulated(catalogue: Catalogue) -> dict[str, Any]:
    """The Dify APIs the mock serves, self-contained: every schema it uses is in `components`."""
    bundle = Bundle(catalogue.registry.contents)
    ids = operation_ids(catalogue)
    paths: dict[str, dict[str, Any]] = {}
    for spec in sorted(catalogue, key=lambda s: s.path):
        for n, path in enumerate(spec.all_paths):
            # An alias is its own operation: operationIds must be unique in a document.
            kind = "Alias" if spec.api == "knowledge" else "SeedAlias"
            operation_id = ids[spec.id] + ("" if n == 0 else kind + ("" if n == 1 else str(n)))
            paths.setdefault(path, {})[spec.method.lower()] = _operation(spec, path, operation_id, bundle)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Dify APIs emulated by dify-mockserver", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR_SCHEMA, **dict(sorted(bundle.components.items()))},
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
# Routes served beside the control operations (openapi.py's own and the inspector's).
_OTHER_ROUTES: Final = {
    ("GET", "/_mock/openapi.json"): ("getEmulatedOpenapi", _control_op("OpenAPI of the emulated Dify APIs")),
    ("GET", "/_mock/control/openapi.json"): ("getControlOpenapi", _control_op("This document")),
    ("GET", "/_mock/"): ("getInspector", _control_op("The HTML inspector")),
    ("GET", "/_mock/events"): (
        "streamJournalEvents",
        _control_op("Live journal as server-sent events (used by the inspector)", ["tenant"]),
    ),
}


def _scenarios_post() -> dict[str, Any]:
    op = _control_op(
        "Force a scenario by name per tenant (scenario null lifts it): 200 {result}; or add an ad-hoc scenario "
        "(scenario: one scenario of the fixture language), tried before the fixture's own: 201 "
        "{result, endpoint, name, tenant}; a broken one is 400 mock_invalid_scenario naming each problem by "
        "its JSON path",
        body={
            "endpoint": {"type": "string", "description": "an endpoint id (dify-mockserver lint --list)"},
            "scenario": {
                "type": ["string", "object", "null"],
                "description": "a scenario name to force, null to lift the forcing, or one scenario of the "
                "fixture language: match, respond, sequence, then, fault, times, timing, action, clock",
            },
            "name": {
                "type": "string",
                "description": "the ad-hoc scenario's name (default stub-N); one of the same name, endpoint "
                "and tenant is replaced; X-Mock-Scenario and forcing can name it",
            },
            "tenant": _TENANT,
        },
    )
    op["responses"]["201"] = {"description": "Ad-hoc scenario added"}  # 200 when forcing a name
    return op


def _described() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        ("GET", "/_mock/health"): _control_op("Liveness and version"),
        ("POST", "/_mock/reset"): _control_op(
            "Reset tenants: state, journal, cursors, faults, forced scenarios, clock",
            body={"tenant": _TENANT, "seed": {"type": "integer"}},
        ),
        ("GET", "/_mock/journal"): _control_op(
            "Journal entries {data, dropped}; an unknown filter is a 400 naming the known ones",
            ["tenant", "path", "status", "since"],
        ),
        ("DELETE", "/_mock/journal"): _control_op("Clear the journal", ["tenant"]),
        ("POST", "/_mock/faults"): _control_op(
            "Queue a fault (the X-Mock-Fault grammar)",
            body={"fault": {"type": "string"}, "tenant": _TENANT, "endpoint": {"type": "string"}},
            status="201",
        ),
        ("GET", "/_mock/faults"): _control_op("Queued faults with remaining counts", ["tenant"]),
        ("DELETE", "/_mock/faults"): _control_op("Clear queued faults", ["tenant"]),
        ("GET", "/_mock/scenarios"): _control_op(
            "Scenario names per endpoint id {data}, forced scenarios {forced}, ad-hoc scenarios "
            "{adhoc: [{tenant, endpoint, scenario, times}]}",
            ["tenant"],
        ),
        ("POST", "/_mock/scenarios"): _scenarios_post(),
        ("DELETE", "/_mock/scenarios"): _control_op(
            "Drop the ad-hoc scenarios and lift the forcings of the selected tenants {result, adhoc, forced}",
            ["tenant"],
        ),
        ("GET", "/_mock/verdict"): _control_op(
            "How the selected tenants' clients behaved under failure {ok, findings: [{name, message, requests}]}; "
            "retry_budget: retries allowed per request (default 5)",
            ["tenant", "retry_budget"],
        ),
        ("GET", "/_mock/apps"): _control_op(
            "Every app {data: [{key, mode, name, source, dsl, warnings}]} (source: the _apps.yaml or DSL file it "
            "came from, or built-in; dsl: the DSL file; warnings: its DSL load warnings) and the knowledge API "
            "keys {dataset_keys}"
        ),
        ("POST", "/_mock/apps"): _control_op(
            "Add or replace an app from Dify DSL YAML text (400 with lint's FILE:LINE:COLUMN messages)",
            body={"key": {"type": "string", "minLength": 1}, "dsl": {"type": "string"}},
        ),
        ("POST", "/_mock/clock"): _control_op(
            "Move tenants' mock clock forward",
            body={"tenant": _TENANT, "advance": {"type": "number", "minimum": 0}},
        ),
        ("GET", "/_mock/clock"): _control_op("Each tenant's clock offset and next mock times", ["tenant"]),
    }


def control() -> dict[str, Any]:
    """The /_mock/ control API: every operation control.py serves (one not described here yet gets its
    docstring, so the document never misses a route), plus the documents and the inspector."""
    described = _described()
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), operation in OPERATIONS.items():
        doc = (operation.__doc__ or operation.__name__).strip().splitlines()[0]
        op = described.get((method, path)) or _control_op(doc, ["tenant"] if method != "POST" else None)
        paths.setdefault(path, {})[method.lower()] = {"operationId": _camel(operation.__name__), **op}
    for (method, path), (operation_id, op) in _OTHER_ROUTES.items():
        paths.setdefault(path, {})[method.lower()] = {"operationId": operation_id, **op}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dify-mockserver control API",
            "version": __version__,
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
    """One schema file as it is in schemas/ (`/_mock/schemas/service/send_chat_message.json`)."""
    name = request.match_info["name"]
    registry = request.app[CATALOGUE].registry
    if name not in registry:
        raise web.HTTPNotFound()
    return json_response(registry.contents(name))


def add_routes(app: web.Application, guarded: Callable[[Handler], Handler]) -> None:
    app.router.add_get("/_mock/openapi.json", guarded(_emulated), name="mock.openapi")
    app.router.add_get("/_mock/control/openapi.json", guarded(_control), name="mock.control_openapi")
    app.router.add_get("/_mock/schemas/{name:.+}", guarded(_schema), name="mock.schemas")
