"""`dify-mockserver openapi`: valid, self-contained OpenAPI 3.1 with unique operationIds (F10)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from mockserver.catalogue import Catalogue, load_catalogue
from mockserver.control import openapi
from mockserver.control.bundle import Bundle
from mockserver.paths import schemas_dir


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(schemas_dir())


@pytest.fixture(scope="module")
def document(catalogue: Catalogue) -> dict[str, Any]:
    # Through JSON, as the CLI prints it: nothing may depend on Python objects.
    return json.loads(json.dumps(openapi.emulated(catalogue)))


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, i))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_both_documents_validate_offline(document: dict[str, Any]) -> None:
    validate(document)  # no base URI: a reference outside the document cannot resolve
    validate(json.loads(json.dumps(openapi.control())))


def test_every_ref_points_inside_the_document(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = [value for path, value in walk(document) if path and path[-1] == "$ref"]
    assert refs and all(r.startswith("#/components/schemas/") for r in refs)
    assert {r.removeprefix("#/components/schemas/") for r in refs} <= set(schemas)
    assert "/_mock/" not in json.dumps(document)


def test_the_mocks_own_annotations_are_not_published(document: dict[str, Any]) -> None:
    keys = {path[-1] for path, _ in walk(document) if path and isinstance(path[-1], str)}
    assert not {k for k in keys if k.startswith("x-") and k != "x-endpoint-id"}
    assert not {"$id", "$schema", "$defs"} & keys


def test_operation_ids_are_unique_and_the_seed_alias_has_its_own(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    alias = document["paths"]["/v1/completions"]["post"]
    assert alias["operationId"] == "createCompletionMessageSeedAlias"
    assert alias["description"].startswith("Seed alias of `POST /v1/completion-messages`")
    assert document["paths"]["/v1/completion-messages"]["post"]["operationId"] == "createCompletionMessage"
    assert "Seed alias" not in document["paths"]["/v1/completion-messages"]["post"].get("description", "")


def test_operation_ids_are_difys_else_camel_case_of_the_endpoint_id(catalogue: Catalogue) -> None:
    ids = openapi.operation_ids(catalogue)
    assert ids["service.send_chat_message"] == "sendChatMessage"  # x-endpoint.operation_id
    assert ids["service.get_index"] == "getIndex"  # Dify publishes none for GET /v1/
    assert all(i[0].islower() and "." not in i and "_" not in i for i in ids.values())


def test_request_and_response_come_from_the_schema_defs(document: dict[str, Any]) -> None:
    chat = document["paths"]["/v1/chat-messages"]["post"]
    body = chat["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"inputs", "query"} and "conversation_id" in body["properties"]
    ok = chat["responses"]["200"]["content"]
    assert ok["application/json"]["schema"] == {"$ref": "#/components/schemas/responses.chat_blocking"}
    assert "#/components/schemas/events" in ok["text/event-stream"]["schema"]["description"]
    by_id = document["paths"]["/v1/workflows/{workflow_id}/run"]["post"]
    assert [p["name"] for p in by_id["parameters"] if p["in"] == "path"] == ["workflow_id"]
    blocking = document["components"]["schemas"]["responses.workflow_blocking"]
    assert blocking["properties"]["task_id"] == {"$ref": "#/components/schemas/responses.uuid"}


def test_query_and_path_parameters_come_from_the_request_schema(tmp_path: Path) -> None:
    # A schema's query fields are published one by one, `required` kept; `{id:uuid}` is a clean
    # OpenAPI path whose parameter is a UUID.
    shutil.copytree(schemas_dir() / "_meta", tmp_path / "_meta")
    schema = {
        "x-endpoint": {"method": "GET", "path": "/x/{id:uuid}"},
        "$defs": {
            "request": {
                "properties": {"query": {"required": ["user"], "properties": {"user": {"type": "string"}, "page": {}}}}
            }
        },
    }
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "get_x.json").write_text(json.dumps(schema))
    document = openapi.emulated(load_catalogue(tmp_path))
    assert list(document["paths"]) == ["/v1/x/{id}"]
    assert document["paths"]["/v1/x/{id}"]["get"]["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
        {"name": "user", "in": "query", "schema": {"type": "string"}, "required": True},
        {"name": "page", "in": "query", "schema": {}},
    ]


def test_bundle_names_resolve_relative_refs_and_self_references() -> None:
    files = {
        "_shared/a.json": {
            "$id": "_shared/a.json",
            "$defs": {"node": {"properties": {"next": {"$ref": "#/$defs/node"}}}},
        },
        "service/op.json": {"$defs": {"response": {"$ref": "../_shared/a.json#/$defs/node"}}},
    }
    bundle = Bundle(files.__getitem__)
    out = bundle.schema(files["service/op.json"]["$defs"]["response"], "service/op.json")
    assert out == {"$ref": "#/components/schemas/a.node"}
    assert bundle.components == {"a.node": {"properties": {"next": {"$ref": "#/components/schemas/a.node"}}}}
    with pytest.raises(ValueError, match="does not resolve"):
        bundle.ref("../_shared/a.json#/$defs/nope", "service/op.json")


def test_control_document_has_every_control_route() -> None:
    from mockserver.app import create_app
    from mockserver.settings import Settings

    app = create_app(Settings())
    served = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/_mock/")
        and r.method != "HEAD"
        and "{" not in r.resource.canonical
    }
    documented = {(m.upper(), p) for p, item in openapi.control()["paths"].items() for m in item}
    assert served <= documented


def test_the_cli_prints_the_validated_documents() -> None:
    from tests.support.cli_inprocess import invoke

    for args in (["openapi"], ["openapi", "--control"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        validate(json.loads(result.stdout))
