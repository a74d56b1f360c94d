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


# --- documents' values (documents come from create-by-text) -----------------------------------------


async def document(client: Any, dataset_id: str, name: str) -> dict[str, Any]:
    body = {"name": name, "text": f"The text of {name}.", "indexing_technique": "economy"}
    body["process_rule"] = {"mode": "automatic"}
    resp = await client.post(f"/v1/datasets/{dataset_id}/document/create-by-text", json=body, headers=h())
    assert resp.status == 200, await resp.text()
    return dict((await resp.json())["document"])


async def indexed(client: Any) -> None:
    """Mock time on: the documents made so far finish indexing."""
    resp = await client.post("/_mock/clock", json={"tenant": f"s:{SESSION}", "advance": 60})
    assert resp.status == 200


async def detail(client: Any, dataset_id: str, document_id: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/datasets/{dataset_id}/documents/{document_id}", headers=h())
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def listed_row(client: Any, dataset_id: str, document_id: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/datasets/{dataset_id}/documents", headers=h())
    assert resp.status == 200, await resp.text()
    return next(dict(d) for d in (await resp.json())["data"] if d["id"] == document_id)


async def operate(client: Any, dataset_id: str, *ops: dict[str, Any]) -> Any:
    return await client.post(
        f"/v1/datasets/{dataset_id}/documents/metadata", json={"operation_data": list(ops)}, headers=h()
    )


def op(
    document_id: str, *details: tuple[dict[str, Any], Any], partial: bool = False, name: str | None = None
) -> dict[str, Any]:
    """One operation; each detail (field, value) sends the field's name unless `name` says otherwise."""
    listed = [{"id": f["id"], "name": name or f["name"], "value": v} for f, v in details]
    return {"document_id": document_id, "metadata_list": listed, "partial_update": partial}


def built_ins(doc: dict[str, Any], updated_at: int) -> list[dict[str, Any]]:
    """The five built-in rows a document renders, live (models/dataset.py get_built_in_fields)."""
    values = [doc["name"], "Admin", str(float(doc["created_at"])), str(float(updated_at)), "file_upload"]
    return [{**row, "value": value} for row, value in zip(BUILT_IN_ROWS, values, strict=True)]


def stored(client: Any, document_id: str) -> dict[str, Any]:
    """The document's stored values, as retrieval's metadata filter reads them."""
    from mockserver.keys import TENANTS

    record = client.app[TENANTS].get(f"s:{SESSION}").state.documents.get(document_id)
    return dict(record.doc_metadata)


async def test_values_bind_fields_and_render_with_the_built_ins(client: Any) -> None:
    ds = await dataset(client)
    author, year = await new_field(client, ds, "author"), await new_field(client, ds, "year", "number")
    doc, other = await document(client, ds, "a.txt"), await document(client, ds, "b.txt")
    assert (await detail(client, ds, doc["id"]))["doc_metadata"] is None  # nothing stored yet
    resp = await operate(client, ds, op(doc["id"], (author, "Ada"), (year, 1815), name="ignored at 1.16"))
    assert resp.status == 200 and await resp.read() == b'{"result":"success"}\n'
    shown = await detail(client, ds, doc["id"])
    assert shown["doc_metadata"] == [
        {"id": author["id"], "name": "author", "type": "string", "value": "Ada"},
        {"id": year["id"], "name": "year", "type": "number", "value": 1815},
        *built_ins(doc, shown["updated_at"]),
    ]
    assert (await listed_row(client, ds, doc["id"]))["doc_metadata"] == shown["doc_metadata"]  # typed at 1.16
    assert (await listed_row(client, ds, other["id"]))["doc_metadata"] == []  # 1.16's list shows None as []
    assert stored(client, doc["id"]) == {"author": "Ada", "year": 1815}
    counts = [f["count"] for f in (await listing(client, ds))["doc_metadata"]]
    assert counts == [1, 1]
    # partial_update keeps what is there; without it the values and bindings are replaced
    assert (await operate(client, ds, op(doc["id"], (year, 1816), partial=True))).status == 200
    assert stored(client, doc["id"]) == {"author": "Ada", "year": 1816}
    assert (
        await operate(client, ds, op(doc["id"], (year, True), (year, 2.5)), op(other["id"], (author, "B")))
    ).status == 200
    assert stored(client, doc["id"]) == {"year": 2.5}
    assert stored(client, other["id"]) == {"author": "B"}
    rows = (await detail(client, ds, doc["id"]))["doc_metadata"][:-5]
    assert rows == [{"id": year["id"], "name": "year", "type": "number", "value": 2.5}] * 2  # bound twice
    assert [f["count"] for f in (await listing(client, ds))["doc_metadata"]] == [1, 2]
    # an empty list without partial_update clears the document
    assert (await operate(client, ds, op(doc["id"]))).status == 200
    assert (await detail(client, ds, doc["id"]))["doc_metadata"] is None
    assert [f["count"] for f in (await listing(client, ds))["doc_metadata"]] == [1, 0]


async def test_rename_moves_values_and_delete_drops_them(client: Any) -> None:
    ds = await dataset(client)
    author, year = await new_field(client, ds, "author"), await new_field(client, ds, "year", "number")
    doc = await document(client, ds, "a.txt")
    await operate(client, ds, op(doc["id"], (author, "Ada"), (year, 1815)))
    resp = await client.patch(f"{fields_of(ds)}/{author['id']}", json={"name": "writer"}, headers=h())
    assert resp.status == 200
    assert stored(client, doc["id"]) == {"year": 1815, "writer": "Ada"}
    rows = (await detail(client, ds, doc["id"]))["doc_metadata"]
    assert rows[0] == {"id": author["id"], "name": "writer", "type": "string", "value": "Ada"}
    resp = await client.delete(f"{fields_of(ds)}/{author['id']}", headers=h())
    assert resp.status == 204
    assert stored(client, doc["id"]) == {"year": 1815}
    rows = (await detail(client, ds, doc["id"]))["doc_metadata"]
    assert [r["name"] for r in rows] == ["year", *[f["name"] for f in BUILT_IN]]
    await client.delete(f"{fields_of(ds)}/{year['id']}", headers=h())
    assert (await detail(client, ds, doc["id"]))["doc_metadata"] is None  # nothing left stored


async def test_built_ins_go_into_indexed_documents_only(client: Any) -> None:
    ds = await dataset(client)
    author = await new_field(client, ds, "author")
    done = await document(client, ds, "done.txt")
    await indexed(client)
    fresh = await document(client, ds, "fresh.txt")  # still waiting: not a working document
    resp = await client.post(f"{fields_of(ds)}/built-in/enable", headers=h())
    assert resp.status == 200
    values = stored(client, done["id"])
    assert values == {
        "document_name": "done.txt",
        "uploader": "Admin",
        "upload_date": float(done["created_at"]),
        "last_update_date": values["last_update_date"],
        "source": "file_upload",
    }
    assert isinstance(values["last_update_date"], float)
    shown = await detail(client, ds, done["id"])
    assert shown["doc_metadata"] == built_ins(done, shown["updated_at"])  # the live values, as strings
    assert (await detail(client, ds, fresh["id"]))["doc_metadata"] is None
    # while they are on, each operation rewrites them
    await operate(client, ds, op(fresh["id"], (author, "Ada")))
    assert set(stored(client, fresh["id"])) == {"author", *(f["name"] for f in BUILT_IN)}
    await client.post(f"{fields_of(ds)}/built-in/disable", headers=h())
    assert stored(client, done["id"]) == {}
    assert (await detail(client, ds, done["id"]))["doc_metadata"] is None


async def test_1_16_writes_nothing_when_a_document_is_unknown(client: Any, expect_error: Any) -> None:
    ds = await dataset(client)
    author = await new_field(client, ds, "author")
    doc = await document(client, ds, "a.txt")
    resp = await operate(client, ds, op(doc["id"], (author, "Ada")), op(DOC_ID, (author, "B")))
    path = f"/v1/datasets/{ds}/documents/metadata"
    rule = "/v1/datasets/<uuid:dataset_id>/documents/metadata"
    await expect_error(resp, 404, "not_found", "Document not found." + hint(path, rule))
    assert stored(client, doc["id"]) == {}
    other = await dataset(client, "Other")
    foreign = await new_field(client, other, "author")  # a field of another dataset is not found
    resp = await operate(client, ds, op(doc["id"], (foreign, "Ada")))
    await expect_error(resp, 404, "not_found", "Metadata not found." + hint(path, rule))


@pytest.mark.parametrize("release", ["1.12", "1.14"])
async def test_before_1_16_values_go_under_the_clients_name(make_client: Any, expect_error: Any, release: str) -> None:
    client = await make_client(dify_version=release)
    ds = await dataset(client)
    author, year = await new_field(client, ds, "author"), await new_field(client, ds, "year", "number")
    doc, second = await document(client, ds, "a.txt"), await document(client, ds, "b.txt")
    ops = [op(doc["id"], (author, "Ada"), name="writer"), op(DOC_ID, (author, "X")), op(second["id"], (year, 7))]
    resp = await operate(client, ds, *ops)
    if release == "1.14":  # the operations before the failing one stay committed
        await expect_error(resp, 400, "invalid_param", "Document not found.")
        assert stored(client, second["id"]) == {}
    else:  # 1.12 swallows the failure and goes on
        assert resp.status == 200
        assert stored(client, second["id"]) == {"year": 7}
    assert stored(client, doc["id"]) == {"writer": "Ada"}
    rows = (await detail(client, ds, doc["id"]))["doc_metadata"]
    assert rows[0] == {"id": author["id"], "name": "author", "type": "string", "value": None}  # bound, no value
    await operate(client, ds, op(doc["id"], (year, 1815), (year, 1815)))
    row = await listed_row(client, ds, doc["id"])
    bound = [r for r in row["doc_metadata"] if r["id"] != "built-in"]
    expected = {"id": year["id"], "name": "year", "type": "number", "value": "1815"}  # strings before 1.15
    assert bound == [expected] * (1 if release == "1.12" else 2)  # 1.12's legacy Query uniquifies the join
    counts = [f["count"] for f in (await listing(client, ds))["doc_metadata"]]
    assert counts == [0, 3 if release == "1.12" else 2]  # bindings count, repeated ones too


async def test_1_12_stops_at_an_id_postgres_refuses(make_client: Any) -> None:
    client = await make_client(dify_version="1.12")
    ds = await dataset(client)
    author = await new_field(client, ds, "author")
    doc, second = await document(client, ds, "a.txt"), await document(client, ds, "b.txt")
    bad = {"document_id": doc["id"], "metadata_list": [{"id": "not-a-uuid", "name": "author", "value": "Ada"}]}
    resp = await operate(client, ds, bad, op(second["id"], (author, "B")))
    assert resp.status == 200
    assert stored(client, doc["id"]) == {"author": "Ada"}  # committed before the bindings failed
    assert [f["count"] for f in (await listing(client, ds))["doc_metadata"]] == [0]
    assert stored(client, second["id"]) == {}  # the aborted transaction failed the rest


async def test_a_document_made_while_built_ins_are_on_starts_with_them(client: Any) -> None:
    ds = await dataset(client)
    await client.post(f"{fields_of(ds)}/built-in/enable", headers=h())
    doc = await document(client, ds, "new.txt")
    values = stored(client, doc["id"])
    stamp = values["upload_date"]
    assert values == {
        "document_name": "new.txt",
        "uploader": "Admin",
        "upload_date": stamp,
        "last_update_date": stamp,
        "source": "upload_file",  # build_document's raw data_source_type and UTC text dates
    }
    assert len(stamp) == 19 and stamp[4] == "-" and stamp[10] == " "
    shown = await detail(client, ds, doc["id"])
    assert shown["doc_metadata"] == built_ins(doc, shown["updated_at"])  # rendered live, as always


async def test_1_14_answers_500_for_a_field_id_postgres_refuses(make_client: Any, expect_error: Any) -> None:
    client = await make_client(dify_version="1.14")
    ds = await dataset(client)
    author = await new_field(client, ds, "author")
    doc, second = await document(client, ds, "a.txt"), await document(client, ds, "b.txt")
    bad = {"document_id": second["id"], "metadata_list": [{"id": "x", "name": "author", "value": "B"}]}
    resp = await operate(client, ds, op(doc["id"], (author, "Ada")), bad)
    await expect_error(resp, 500, "unknown", "Internal Server Error")
    assert stored(client, doc["id"]) == {"author": "Ada"}  # committed before
    assert stored(client, second["id"]) == {}  # rolled back
