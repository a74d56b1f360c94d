"""record.get / record.list / record.delete: a plain route is a schema and no Python. These endpoints
exist only in this test's catalogue (the built-in schemas plus three), served over real HTTP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mockserver.paths import schemas_dir

RECORDS = "../_shared/records.json#/$defs/"
LIMIT = {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}


def schema(x: dict[str, Any], request: dict[str, Any], response: dict[str, Any] | None) -> str:
    defs: dict[str, Any] = {"request": {"type": "object", "properties": request}}
    if response is not None:
        defs["response"] = response
    return json.dumps({"x-endpoint": x, "$defs": defs})


EXTRA = {
    "get_conversation_record.json": schema(
        {
            "method": "GET",
            "path": "/conversations/{conversation_id:uuid}/record",
            "user": {"in": "query"},
            "action": "record.get",
            "collection": "conversations",
        },
        {},
        {"$ref": RECORDS + "conversation"},
    ),
    "list_uploads.json": schema(
        {
            "method": "GET",
            "path": "/uploads",
            "user": {"in": "query"},
            "response": "page",
            "pagination": "page",
            "action": "record.list",
            "collection": "files",
            "request_model": "UploadListQuery",
        },
        {
            "query": {
                "type": "object",
                "properties": {
                    "page": {"type": "integer", "minimum": 1, "default": 1},
                    "limit": LIMIT,
                    "tag_ids": {"type": "array", "items": {"type": "string"}},
                },
            }
        },
        {
            "type": "object",
            "properties": {
                "page": {"type": "integer"},
                "limit": {"type": "integer"},
                "total": {"type": "integer"},
                "has_more": {"type": "boolean"},
                "data": {"type": "array", "items": {"$ref": RECORDS + "uploaded_file"}},
            },
        },
    ),
    "delete_upload.json": schema(
        {
            "method": "DELETE",
            "path": "/uploads/{file_id:uuid}",
            "user": {"in": "body"},
            "response": "empty",
            "status": 204,
            "action": "record.delete",
            "collection": "files",
        },
        {"path": {"type": "object", "properties": {"file_id": {"type": "string", "format": "uuid"}}}},
        None,
    ),
}


@pytest.fixture
async def client(make_client, tmp_path: Path):
    root = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), root)
    for name, text in EXTRA.items():
        (root / "service" / name).write_text(text)
    fixtures = tmp_path / "fixtures" / "service"
    fixtures.mkdir(parents=True)
    # A scenario can still answer anything on such a route: here, the query as the request model read it.
    (fixtures / "list_uploads.yaml").write_text(
        "scenarios:\n  echo:\n    match: {query.echo: 'yes'}\n"
        "    respond: {blocking: {tags: '{{ request.query.tag_ids }}', limit: '{{ request.query.limit }}'}}\n"
    )
    return await make_client(schemas_dir=root, fixtures=(tmp_path / "fixtures",), strict=False)


def auth() -> dict[str, str]:
    return {"Authorization": "Bearer app-chat", "X-Mock-Session": "records"}


async def upload(client: Any, name: str) -> str:
    from aiohttp import FormData

    form = FormData()
    form.add_field("user", "u1")
    form.add_field("file", b"data", filename=name, content_type="text/plain")
    resp = await client.post("/v1/files/upload", data=form, headers=auth())
    assert resp.status == 201
    return str((await resp.json())["id"])


async def test_record_get_is_the_callers_own_record_or_difys_404(client, expect_error):
    body = {"inputs": {}, "query": "hello", "user": "u1", "response_mode": "blocking"}
    made = await (await client.post("/v1/chat-messages", json=body, headers=auth())).json()
    url = f"/v1/conversations/{made['conversation_id']}/record"
    resp = await client.get(url, params={"user": "u1"}, headers=auth())
    listed = await (await client.get("/v1/conversations", params={"user": "u1"}, headers=auth())).json()
    assert await resp.json() == listed["data"][0]  # the same record, serialised by the same schema
    resp = await client.get(url, params={"user": "u2"}, headers=auth())
    await expect_error(resp, 404, "not_found", "Conversation Not Exists.")


async def test_record_list_pages_and_record_delete_removes(client):
    ids = [await upload(client, f"f{i}.txt") for i in range(3)]
    page = await (await client.get("/v1/uploads", params={"user": "u1", "limit": "2"}, headers=auth())).json()
    assert (page["page"], page["limit"], page["total"], page["has_more"]) == (1, 2, 3, True)
    assert [f["id"] for f in page["data"]] == ids[:2]
    resp = await client.delete(f"/v1/uploads/{ids[0]}", json={"user": "u1"}, headers=auth())
    assert resp.status == 204
    page = await (await client.get("/v1/uploads", params={"user": "u1", "page": "1"}, headers=auth())).json()
    assert [f["id"] for f in page["data"]] == ids[1:]
    other = await (await client.get("/v1/uploads", params={"user": "u2"}, headers=auth())).json()
    assert other["data"] == []


async def test_query_values_are_coerced_and_repeated_keys_kept(client):
    resp = await client.get("/v1/uploads?echo=yes&tag_ids=a&tag_ids=b&limit=05", headers=auth())
    body = await resp.json()
    assert body["tags"] == ["a", "b"] and body["limit"] == "05"  # the raw query keeps the text
    page = await (await client.get("/v1/uploads?limit=05", params={"user": "u1"}, headers=auth())).json()
    assert page["limit"] == 5  # the model's coerced value


async def test_a_non_uuid_id_is_flasks_html_404(client):
    # The three routes above have no action module and no fixture file of their own; the UUID rule is data too.
    resp = await client.get("/v1/conversations/not-a-uuid/record", headers=auth())
    assert resp.status == 404 and resp.content_type == "text/html"
