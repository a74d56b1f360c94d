"""Knowledge API metadata with a knowledge key: custom fields (create, list, rename, delete), the built-in
fields (list, enable, disable) and documents' values, as Dify 1.12.0, 1.14.2 and 1.16.1 answer them
(research/knowledge_segments_metadata.md §4-§6, knowledge_documents.md §2.3)."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID, auth, is_uuid4

SESSION = "kmd"
BUILT_IN = [
    {"name": "document_name", "type": "string"},
    {"name": "uploader", "type": "string"},
    {"name": "upload_date", "type": "time"},
    {"name": "last_update_date", "type": "time"},
    {"name": "source", "type": "string"},
]
BUILT_IN_ROWS = [{"id": "built-in", **field} for field in BUILT_IN]


def h(key: str = "dataset-demo") -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": SESSION})


STR, MISSING = "Input should be a valid string", "Field required"


def pydantic(model: str, *errors: tuple[str, str, str, Any], version: str = "2.12") -> str:
    """str(ValidationError): each error as (location, message, type, the input)."""
    count = len(errors)
    lines = [f"{count} validation error{'s' if count != 1 else ''} for {model}"]
    for loc, message, kind, value in errors:
        lines += [loc] if loc else []  # a model's own error has no location
        lines += [
            f"  {message} [type={kind}, input_value={value!r}, input_type={type(value).__name__}]",
            f"    For further information visit https://errors.pydantic.dev/{version}/v/{kind}",
        ]
    return "\n".join(lines)


def hint(path: str, rule: str) -> str:
    """flask-restx's 404 route hint (_help_on_404) for these routes: the one close rule."""
    return f" You have requested this URI [{path}] but did you mean {rule} ?"


async def dataset(client: Any, name: str = "Notes") -> str:
    resp = await client.post("/v1/datasets", json={"name": name, "indexing_technique": "economy"}, headers=h())
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["id"])


def fields_of(dataset_id: str) -> str:
    return f"/v1/datasets/{dataset_id}/metadata"


async def new_field(client: Any, dataset_id: str, name: str, kind: str = "string") -> dict[str, Any]:
    resp = await client.post(fields_of(dataset_id), json={"type": kind, "name": name}, headers=h())
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def listing(client: Any, dataset_id: str) -> dict[str, Any]:
    resp = await client.get(fields_of(dataset_id), headers=h())
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


# --- create and list ----------------------------------------------------------------------------


async def test_create_answers_201_with_the_field_and_the_list_counts_it(client: Any) -> None:
    ds = await dataset(client)
    made = await new_field(client, ds, "author")
    assert list(made) == ["id", "type", "name"]
    assert is_uuid4(made["id"]) and (made["type"], made["name"]) == ("string", "author")
    second = await new_field(client, ds, "year", "number")
    listed = await listing(client, ds)
    assert list(listed) == ["doc_metadata", "built_in_field_enabled"]
    assert listed == {
        "doc_metadata": [
            {"id": made["id"], "name": "author", "type": "string", "count": 0},
            {"id": second["id"], "name": "year", "type": "number", "count": 0},
        ],
        "built_in_field_enabled": False,
    }
    detail = await (await client.get(f"/v1/datasets/{ds}", headers=h())).json()
    assert detail["doc_metadata"] == [
        {"id": made["id"], "name": "author", "type": "string"},
        {"id": second["id"], "name": "year", "type": "number"},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {},
            pydantic(
                "MetadataArgs",
                ("type", MISSING, "missing", {}),
                ("name", MISSING, "missing", {}),
            ),
        ),
        (
            {"type": "bool", "name": "x"},
            pydantic(
                "MetadataArgs",
                ("type", "Input should be 'string', 'number' or 'time'", "literal_error", "bool"),
            ),
        ),
        (
            {"type": "time", "name": 5},
            pydantic("MetadataArgs", ("name", STR, "string_type", 5)),
        ),
    ],
)  # fmt: skip
async def test_create_checks_the_body_as_metadata_args(client: Any, expect_error: Any, body: Any, message: str) -> None:
    ds = await dataset(client)
    resp = await client.post(fields_of(ds), json=body, headers=h())
    await expect_error(resp, 400, "invalid_param", message)


async def test_create_refuses_long_taken_and_built_in_names(client: Any, expect_error: Any) -> None:
    ds, other = await dataset(client), await dataset(client, "Other")
    await new_field(client, ds, "author")
    refusals = [
        ("x" * 256, "Metadata name cannot exceed 255 characters."),
        ("author", "Metadata name already exists."),
        *((name, "Metadata name already exists in Built-in fields.") for name in [f["name"] for f in BUILT_IN]),
    ]
    for name, message in refusals:
        resp = await client.post(fields_of(ds), json={"type": "string", "name": name}, headers=h())
        await expect_error(resp, 400, "invalid_param", message)
    # no minimum length, names are case-sensitive, and another dataset's names are its own
    for name in ("", "Author", "y" * 255):
        await new_field(client, ds, name)
    await new_field(client, other, "author")
    assert [f["name"] for f in (await listing(client, ds))["doc_metadata"]] == ["author", "", "Author", "y" * 255]


async def test_the_dataset_guard_and_the_key_scope(client: Any, expect_error: Any) -> None:
    ds = await dataset(client)
    made = await new_field(client, ds, "author")
    unknown = f"/v1/datasets/{UNKNOWN_UUID}"
    for method, path in [
        ("POST", f"{unknown}/metadata"),
        ("GET", f"{unknown}/metadata"),
        ("PATCH", f"{unknown}/metadata/{made['id']}"),
        ("DELETE", f"{unknown}/metadata/{made['id']}"),
        ("POST", f"{unknown}/metadata/built-in/enable"),
    ]:
        resp = await client.request(method, path, json={"type": "string", "name": "n"}, headers=h())
        await expect_error(resp, 404, "not_found", "Dataset not found.")
    # flask-restx's hint reaches the 0.6 cutoff on these paths only (a short action too)
    for method, path, rule in [
        ("GET", f"{unknown}/metadata/built-in", "/v1/datasets/<uuid:dataset_id>/metadata/built-in"),
        ("POST", f"{unknown}/metadata/built-in/x", "/v1/datasets/<uuid:dataset_id>/metadata/built-in"),
        ("POST", f"{unknown}/documents/metadata", "/v1/datasets/<uuid:dataset_id>/documents/metadata"),
    ]:
        resp = await client.request(method, path, json={"operation_data": []}, headers=h())
        await expect_error(resp, 404, "not_found", "Dataset not found." + hint(path, rule))
    resp = await client.get(fields_of(ds), headers=h("app-chat"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")
    for path in ("/v1/datasets/not-a-uuid/metadata", f"{fields_of(ds)}/not-a-uuid"):
        resp = await client.patch(path, json={"name": "n"}, headers=h())
        assert resp.status == 404 and await resp.text() == NOT_FOUND_HTML
    resp = await client.post(f"{fields_of(ds)}/built-in", headers=h())  # the route without an action: GET only
    assert resp.status == 405


# --- rename and delete --------------------------------------------------------------------------


async def test_rename_answers_the_field_and_checks_the_name_as_create_does(client: Any, expect_error: Any) -> None:
    ds = await dataset(client)
    made = await new_field(client, ds, "author")
    await new_field(client, ds, "year", "number")
    path = f"{fields_of(ds)}/{made['id']}"
    for name, message in [
        ("author", "Metadata name already exists."),  # its own name too
        ("year", "Metadata name already exists."),
        ("source", "Metadata name already exists in Built-in fields."),
        ("z" * 256, "Metadata name cannot exceed 255 characters."),
    ]:
        resp = await client.patch(path, json={"name": name}, headers=h())
        await expect_error(resp, 400, "invalid_param", message)
    resp = await client.patch(path, json={}, headers=h())
    await expect_error(
        resp,
        400,
        "invalid_param",
        pydantic("MetadataUpdatePayload", ("name", MISSING, "missing", {})),
    )
    resp = await client.patch(path, json={"name": "writer"}, headers=h())
    assert resp.status == 200
    assert list(body := await resp.json()) == ["id", "type", "name"]
    assert body == {"id": made["id"], "type": "string", "name": "writer"}
    assert [f["name"] for f in (await listing(client, ds))["doc_metadata"]] == ["writer", "year"]


@pytest.mark.parametrize("release", ["1.12", "1.14", "1.16"])
async def test_renaming_an_unknown_field_per_release(make_client: Any, expect_error: Any, release: str) -> None:
    client = await make_client(dify_version=release)
    ds = await dataset(client)
    path = f"{fields_of(ds)}/{UNKNOWN_UUID}"
    resp = await client.patch(path, json={"name": "uploader"}, headers=h())
    await expect_error(resp, 400, "invalid_param", "Metadata name already exists in Built-in fields.")
    resp = await client.patch(path, json={"name": "fresh"}, headers=h())
    if release == "1.16":
        message = pydantic(
            "DatasetMetadataResponse",
            ("", "Input should be a valid dictionary or object to extract fields from", "model_attributes_type", None),
        )  # fmt: skip
        await expect_error(resp, 400, "invalid_param", message)
    else:  # the swallowed lookup marshals None
        assert resp.status == 200
        assert await resp.read() == b'{"id":null,"type":null,"name":null}\n'


async def test_1_12_renames_a_field_of_another_dataset_by_its_id(make_client: Any) -> None:
    for release, renamed in (("1.12", True), ("1.14", False)):
        client = await make_client(dify_version=release)
        home, other = await dataset(client), await dataset(client, "Other")
        foreign = await new_field(client, other, "author")
        resp = await client.patch(f"{fields_of(home)}/{foreign['id']}", json={"name": "writer"}, headers=h())
        assert resp.status == 200
        names = [f["name"] for f in (await listing(client, other))["doc_metadata"]]
        assert names == (["writer"] if renamed else ["author"]), release


@pytest.mark.parametrize(
    ("release", "status", "raw"), [("1.12", 200, b"204\n"), ("1.14", 204, b""), ("1.16", 204, b"")]
)
async def test_delete_is_204_for_any_id(make_client: Any, release: str, status: int, raw: bytes) -> None:
    client = await make_client(dify_version=release)
    ds = await dataset(client)
    made = await new_field(client, ds, "author")
    kept = await new_field(client, ds, "year", "number")
    for field_id in (made["id"], made["id"], UNKNOWN_UUID):
        resp = await client.delete(f"{fields_of(ds)}/{field_id}", headers=h())
        assert (resp.status, await resp.read()) == (status, raw)
    assert [f["id"] for f in (await listing(client, ds))["doc_metadata"]] == [kept["id"]]
    await new_field(client, ds, "author")  # the name is free again


# --- built-in fields ----------------------------------------------------------------------------


async def test_built_in_fields_and_their_toggle(client: Any) -> None:
    ds = await dataset(client)
    made = await new_field(client, ds, "author")
    resp = await client.get(f"{fields_of(ds)}/built-in", headers=h())
    assert resp.status == 200 and await resp.json() == {"fields": BUILT_IN}

    async def toggle(action: str) -> None:
        resp = await client.post(f"{fields_of(ds)}/built-in/{action}", headers=h())
        assert resp.status == 200 and await resp.read() == b'{"result":"success"}\n'

    await toggle("enable")
    assert (await listing(client, ds))["built_in_field_enabled"] is True
    detail = await (await client.get(f"/v1/datasets/{ds}", headers=h())).json()
    assert detail["built_in_field_enabled"] is True
    assert detail["doc_metadata"] == [{"id": made["id"], "name": "author", "type": "string"}, *BUILT_IN_ROWS]
    assert (await listing(client, ds))["doc_metadata"] == [{**detail["doc_metadata"][0], "count": 0}]
    await toggle("enable")  # already on: a no-op
    await toggle("Enable")  # any other action: a no-op that still succeeds
    assert (await listing(client, ds))["built_in_field_enabled"] is True
    await toggle("disable")
    assert (await listing(client, ds))["built_in_field_enabled"] is False
    detail = await (await client.get(f"/v1/datasets/{ds}", headers=h())).json()
    assert detail["doc_metadata"] == [{"id": made["id"], "name": "author", "type": "string"}]


async def test_reset_empties_the_fields(client: Any, expect_error: Any) -> None:
    ds = await dataset(client)
    await new_field(client, ds, "author")
    resp = await client.post("/_mock/reset", json={"tenant": f"s:{SESSION}"})
    assert resp.status in (200, 204)
    resp = await client.get(fields_of(ds), headers=h())
    await expect_error(resp, 404, "not_found", "Dataset not found.")
    ds = await dataset(client)
    assert (await listing(client, ds))["doc_metadata"] == []


# --- documents/metadata: the body -----------------------------------------------------------------

DOC_ID = "abcdef01-2345-4789-abcd-ef0123456789"


async def test_the_operations_body_at_1_16(client: Any, expect_error: Any) -> None:
    ds = await dataset(client)
    path = f"/v1/datasets/{ds}/documents/metadata"
    body = {"operation_data": [{"document_id": "x", "metadata_list": [{"id": "", "name": 5, "value": [1]}]}]}
    resp = await client.post(path, json=body, headers=h())
    at = "operation_data.0.metadata_list.0"
    await expect_error(
        resp,
        400,
        "invalid_param",
        pydantic(
            "MetadataOperationData",
            ("operation_data.0.document_id", "Value error, must be a valid UUID", "value_error", "x"),
            (f"{at}.id", "Value error, must be a non-empty valid UUID", "value_error", ""),
            (f"{at}.name", STR, "string_type", 5),
            (f"{at}.value.str", STR, "string_type", [1]),
            (f"{at}.value.int", "Input should be a valid integer", "int_type", [1]),
            (f"{at}.value.float", "Input should be a valid number", "float_type", [1]),
        ),
    )  # fmt: skip
    resp = await client.post(path, json={"operation_data": [5]}, headers=h())
    message = pydantic(
        "MetadataOperationData",
        ("operation_data.0", "Input should be a valid dictionary or instance of DocumentMetadataOperation",
         "model_type", 5),
    )  # fmt: skip
    await expect_error(resp, 400, "invalid_param", message)
    resp = await client.post(path, json={"operation_data": []}, headers=h())  # nothing to do
    assert resp.status == 200 and await resp.json() == {"result": "success"}


@pytest.mark.parametrize("release", ["1.12", "1.14"])
async def test_before_1_16_ids_are_plain_text(make_client: Any, expect_error: Any, release: str) -> None:
    client = await make_client(dify_version=release)
    ds = await dataset(client)
    path = f"/v1/datasets/{ds}/documents/metadata"
    version = "2.11" if release == "1.12" else "2.12"
    resp = await client.post(path, json={"operation_data": [{"document_id": 5, "metadata_list": {}}]}, headers=h())
    message = pydantic(
        "MetadataOperationData",
        ("operation_data.0.document_id", STR, "string_type", 5),
        ("operation_data.0.metadata_list", "Input should be a valid list", "list_type", {}),
        version=version,
    )  # fmt: skip
    await expect_error(resp, 400, "invalid_param", message)
    resp = await client.post(path, json=[1], headers=h())
    message = pydantic(
        "MetadataOperationData",
        ("", "Input should be a valid dictionary or instance of MetadataOperationData", "model_type", [1]),
        version=version,
    )  # fmt: skip
    await expect_error(resp, 400, "invalid_param", message)
    # an id Postgres cannot read: 1.14's query fails (a 500), 1.12 swallows it
    body = {"operation_data": [{"document_id": "x", "metadata_list": []}]}
    resp = await client.post(path, json=body, headers=h())
    if release == "1.14":
        await expect_error(resp, 500, "unknown", "Internal Server Error")
    else:
        assert resp.status == 200 and await resp.json() == {"result": "success"}
    body = {"operation_data": [{"document_id": DOC_ID, "metadata_list": []}]}
    resp = await client.post(path, json=body, headers=h())
    if release == "1.14":
        await expect_error(resp, 400, "invalid_param", "Document not found.")
    else:
        assert resp.status == 200


async def test_1_16_checks_the_fields_then_the_documents(client: Any, expect_error: Any) -> None:
    ds = await dataset(client)
    made = await new_field(client, ds, "author")
    path = f"/v1/datasets/{ds}/documents/metadata"
    rule = "/v1/datasets/<uuid:dataset_id>/documents/metadata"
    body = {"operation_data": [{"document_id": DOC_ID, "metadata_list": [{"id": UNKNOWN_UUID, "name": "a"}]}]}
    resp = await client.post(path, json=body, headers=h())
    await expect_error(resp, 404, "not_found", "Metadata not found." + hint(path, rule))
    body = {"operation_data": [{"document_id": DOC_ID, "metadata_list": [{"id": made["id"], "name": "a"}]}]}
    resp = await client.post(path, json=body, headers=h())
    await expect_error(resp, 404, "not_found", "Document not found." + hint(path, rule))
