"""Knowledge tags with a knowledge key: list, create, rename, delete, bind, unbind and a dataset's tags,
as Dify 1.12.0, 1.14.2 and 1.16.1 answer them (research/knowledge_datasets.md §0.5, §1, §8, §10)."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID, auth, is_uuid4

from mockserver.keys import TENANTS

TAGS = "/v1/datasets/tags"
BINDING = "/v1/datasets/tags/binding"
UNBINDING = "/v1/datasets/tags/unbinding"
TAG_KEYS = ["id", "name", "type", "binding_count"]
INTERNAL = b'{"message":"Internal Server Error","code":"unknown","status":500}\n'
HINT = (
    "You have requested this URI [/v1/datasets/tags] but did you mean /v1/datasets/tags or "
    "/v1/datasets/<uuid:dataset_id>/tags or /v1/datasets/<uuid:dataset_id>/documents/<uuid:document_id>/segments/"
    "<uuid:segment_id>/child_chunks/<uuid:child_chunk_id> ?"
)
TAG_NOT_FOUND = f"Tag not found. {HINT}"
BIND_NOT_FOUND = (
    "Dataset not found. You have requested this URI [/v1/datasets/tags/binding] but did you mean "
    "/v1/datasets/tags/binding or /v1/datasets/tags/unbinding or /v1/datasets/tags ?"
)
UNBIND_NOT_FOUND = (
    "Dataset not found. You have requested this URI [/v1/datasets/tags/unbinding] but did you mean "
    "/v1/datasets/tags/unbinding or /v1/datasets/tags/binding or /v1/datasets/tags ?"
)


def h(key: str = "dataset-demo", session: str = "ktags") -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session})


MESSAGES = {
    "missing": "Field required",
    "string_type": "Input should be a valid string",
    "list_type": "Input should be a valid list",
    "value_error": "Value error, Tag IDs is required.",
    "string_too_long": "String should have at most 50 characters",
}


def pydantic(model: str, *errors: tuple[Any, ...], version: str = "2.12") -> str:
    """str(ValidationError) of (location, type, input[, input as pydantic prints it]) per error."""
    lines = [f"{len(errors)} validation error{'s' if len(errors) != 1 else ''} for {model}"]
    for loc, kind, value, *shown in errors:
        if loc:
            lines.append(loc)
        printed = shown[0] if shown else repr(value)
        lines.append(f"  {MESSAGES[kind]} [type={kind}, input_value={printed}, input_type={type(value).__name__}]")
        lines.append(f"    For further information visit https://errors.pydantic.dev/{version}/v/{kind}")
    return "\n".join(lines)


def count_refused(*counts: int, many: bool = False, version: str = "2.12") -> str:
    """1.12/1.14's DataSetTag refusing an int binding_count."""
    errors = [(f"{i}.binding_count" if many else "binding_count", "string_type", n) for i, n in enumerate(counts)]
    return pydantic("list[DataSetTag]" if many else "DataSetTag", *errors, version=version)


def tenant_tags(client: Any, session: str = "ktags") -> dict[str, Any]:
    """The session's tag records (1.12/1.14 bodies never show a tag's id)."""
    return {t.id: t for t in client.app[TENANTS].get(f"s:{session}").state.tags}


async def dataset(client: Any, name: str, session: str = "ktags") -> str:
    resp = await client.post("/v1/datasets", json={"name": name}, headers=h(session=session))
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["id"])


async def new_tag(client: Any, name: str, session: str = "ktags") -> dict[str, Any]:
    resp = await client.post(TAGS, json={"name": name}, headers=h(session=session))
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def listed(client: Any, session: str = "ktags") -> list[dict[str, Any]]:
    resp = await client.get(TAGS, headers=h(session=session))
    assert resp.status == 200, await resp.text()
    body: list[dict[str, Any]] = await resp.json()
    assert all(list(t) == TAG_KEYS for t in body)
    return body


async def bind(client: Any, tag_ids: list[str], target: str, session: str = "ktags") -> None:
    resp = await client.post(BINDING, json={"tag_ids": tag_ids, "target_id": target}, headers=h(session=session))
    assert resp.status == 204, await resp.text()
    assert await resp.read() == b""


async def of_dataset(client: Any, dataset_id: str, session: str = "ktags") -> dict[str, Any]:
    resp = await client.get(f"/v1/datasets/{dataset_id}/tags", headers=h(session=session))
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert list(body) == ["data", "total"]
    return body


# Create and list ---------------------------------------------------------------------------------


async def test_create_answers_the_tag_with_a_string_binding_count_and_the_list_is_newest_first(client):
    assert await listed(client) == []
    first = await new_tag(client, "finance")
    assert list(first) == TAG_KEYS and is_uuid4(first["id"])
    assert (first["name"], first["type"], first["binding_count"]) == ("finance", "knowledge", "0")
    second = await new_tag(client, "legal")
    assert await listed(client) == [second, first]


async def test_a_name_is_unique_exactly_and_between_1_and_50_characters(client, expect_error):
    await new_tag(client, "Finance")
    resp = await client.post(TAGS, json={"name": "Finance"}, headers=h())
    await expect_error(resp, 400, "invalid_param", "Tag name already exists")
    await new_tag(client, "finance")  # case-sensitive
    await new_tag(client, "x" * 50)
    resp = await client.post(TAGS, json={"name": "x" * 51}, headers=h())
    long = "'xxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxx'"
    text = pydantic("TagCreatePayload", ("name", "string_too_long", "x" * 51, long))
    await expect_error(resp, 400, "invalid_param", text)
    resp = await client.post(TAGS, json={}, headers=h())
    await expect_error(resp, 400, "invalid_param", pydantic("TagCreatePayload", ("name", "missing", {})))
    assert len(await listed(client)) == 3


@pytest.mark.parametrize("version", ["1.12", "1.14"])
async def test_before_1_15_create_commits_then_datasettag_refuses_the_count(make_client, expect_error, version):
    client = await make_client(dify_version=version)
    pv = "2.11" if version == "1.12" else "2.12"
    resp = await client.get(TAGS, headers=h())
    assert resp.status == 200 and await resp.read() == b"[]\n"  # no tag: nothing to refuse
    resp = await client.post(TAGS, json={"name": "finance"}, headers=h())
    await expect_error(resp, 400, "invalid_param", count_refused(0, version=pv))
    resp = await client.post(TAGS, json={"name": "finance"}, headers=h())  # it was created all the same
    await expect_error(resp, 400, "invalid_param", "Tag name already exists")
    resp = await client.post(TAGS, json={"name": "legal"}, headers=h())
    assert resp.status == 400
    assert sorted(t.name for t in tenant_tags(client).values()) == ["finance", "legal"]
    resp = await client.get(TAGS, headers=h())
    await expect_error(resp, 400, "invalid_param", count_refused(0, 0, many=True, version=pv))


# Rename -----------------------------------------------------------------------------------------


async def test_rename_answers_the_tag_with_its_binding_count(client, expect_error):
    tag = await new_tag(client, "finance")
    ds = await dataset(client, "Docs")
    await bind(client, [tag["id"]], ds)
    resp = await client.patch(TAGS, json={"name": "money", "tag_id": tag["id"]}, headers=h())
    assert resp.status == 200
    assert await resp.json() == {"id": tag["id"], "name": "money", "type": "knowledge", "binding_count": "1"}
    assert [t["name"] for t in await listed(client)] == ["money"]
    # its own name again is fine; another tag's is not
    resp = await client.patch(TAGS, json={"name": "money", "tag_id": tag["id"]}, headers=h())
    assert resp.status == 200
    await new_tag(client, "legal")
    resp = await client.patch(TAGS, json={"name": "legal", "tag_id": tag["id"]}, headers=h())
    await expect_error(resp, 400, "invalid_param", "Tag name already exists")


async def test_rename_of_an_unknown_tag_is_404_with_flask_restx_hint(client, expect_error):
    resp = await client.patch(TAGS, json={"name": "a", "tag_id": UNKNOWN_UUID}, headers=h())
    await expect_error(resp, 404, "not_found", TAG_NOT_FOUND)
    resp = await client.patch(TAGS, json={}, headers=h())
    text = pydantic("TagUpdatePayload", ("name", "missing", {}), ("tag_id", "missing", {}))
    await expect_error(resp, 400, "invalid_param", text)


async def test_a_tag_id_postgres_cannot_read_is_a_500_and_one_it_can_finds_the_tag(client):
    tag = await new_tag(client, "finance")
    resp = await client.patch(TAGS, json={"name": "a", "tag_id": "not-a-uuid"}, headers=h())
    assert resp.status == 500 and await resp.read() == INTERNAL
    upper = "{" + tag["id"].upper().replace("-", "") + "}"  # Postgres's uuid_in reads this too
    resp = await client.patch(TAGS, json={"name": "b", "tag_id": upper}, headers=h())
    assert resp.status == 200 and (await resp.json())["id"] == tag["id"]


async def test_1_12_checks_the_name_first_and_counts_the_tag_itself(make_client, expect_error):
    client = await make_client(dify_version="1.12")
    await client.post(TAGS, json={"name": "finance"}, headers=h())
    resp = await client.patch(TAGS, json={"name": "finance", "tag_id": UNKNOWN_UUID}, headers=h())
    await expect_error(resp, 400, "invalid_param", "Tag name already exists")  # before the 404
    resp = await client.patch(TAGS, json={"name": "other", "tag_id": UNKNOWN_UUID}, headers=h())
    await expect_error(resp, 404, "not_found", TAG_NOT_FOUND)


async def test_1_14_renames_then_datasettag_refuses_the_count(make_client, expect_error):
    client = await make_client(dify_version="1.14")
    await client.post(TAGS, json={"name": "finance"}, headers=h())
    tag_id = next(iter(tenant_tags(client)))
    resp = await client.patch(TAGS, json={"name": "finance", "tag_id": tag_id}, headers=h())
    await expect_error(resp, 400, "invalid_param", count_refused(0))  # its own name: no duplicate at 1.14
    resp = await client.patch(TAGS, json={"name": "money", "tag_id": tag_id}, headers=h())
    await expect_error(resp, 400, "invalid_param", count_refused(0))
    assert [t.name for t in tenant_tags(client).values()] == ["money"]  # committed before the 400


# Delete -----------------------------------------------------------------------------------------


async def test_delete_removes_the_tag_and_its_bindings(client, expect_error):
    tag, other = await new_tag(client, "finance"), await new_tag(client, "legal")
    ds = await dataset(client, "Docs")
    await bind(client, [tag["id"], other["id"]], ds)
    resp = await client.delete(TAGS, json={"tag_id": tag["id"]}, headers=h())
    assert resp.status == 204 and await resp.read() == b""
    assert resp.headers["Content-Type"] == "application/json"
    assert [t["name"] for t in await listed(client)] == ["legal"]
    assert (await of_dataset(client, ds))["data"] == [{"id": other["id"], "name": "legal"}]
    resp = await client.delete(TAGS, json={"tag_id": tag["id"]}, headers=h())
    await expect_error(resp, 404, "not_found", TAG_NOT_FOUND)
    resp = await client.delete(TAGS, json={}, headers=h())
    await expect_error(resp, 400, "invalid_param", pydantic("TagDeletePayload", ("tag_id", "missing", {})))


async def test_1_12_delete_and_binding_answer_200_with_the_body_204(make_client):
    client = await make_client(dify_version="1.12")
    ds = await dataset(client, "Docs")
    await client.post(TAGS, json={"name": "finance"}, headers=h())
    tag_id = next(iter(tenant_tags(client)))
    for path, body in [
        (BINDING, {"tag_ids": [tag_id], "target_id": ds}),
        (UNBINDING, {"tag_id": tag_id, "target_id": ds}),
    ]:
        resp = await client.post(path, json=body, headers=h())
        assert resp.status == 200 and await resp.read() == b"204\n"
    resp = await client.delete(TAGS, json={"tag_id": tag_id}, headers=h())
    assert resp.status == 200 and await resp.read() == b"204\n"
    assert tenant_tags(client) == {}


# Binding and unbinding --------------------------------------------------------------------------


async def test_binding_shows_on_the_dataset_in_binding_order_and_counts(client):
    a, c = await new_tag(client, "a"), await new_tag(client, "c")
    await new_tag(client, "b")
    ds, other = await dataset(client, "Docs"), await dataset(client, "More")
    await bind(client, [c["id"]], ds)
    await bind(client, [a["id"], c["id"]], ds)  # a pair already bound stays as it is
    await bind(client, [a["id"]], other)
    assert await of_dataset(client, ds) == {
        "data": [{"id": c["id"], "name": "c"}, {"id": a["id"], "name": "a"}],
        "total": 2,
    }
    counts = {t["name"]: t["binding_count"] for t in await listed(client)}
    assert counts == {"a": "2", "b": "0", "c": "1"}
    detail = await (await client.get(f"/v1/datasets/{ds}", headers=h())).json()
    assert {t["id"] for t in detail["tags"]} == {a["id"], c["id"]}
    assert await of_dataset(client, other) == {"data": [{"id": a["id"], "name": "a"}], "total": 1}


async def test_an_unknown_tag_id_binds_nothing(client):
    ds = await dataset(client, "Docs")
    await bind(client, [UNKNOWN_UUID], ds)
    assert await of_dataset(client, ds) == {"data": [], "total": 0}


async def test_binding_to_an_unknown_dataset_is_404_without_a_period_and_with_the_hint(client, expect_error):
    tag = await new_tag(client, "a")
    resp = await client.post(BINDING, json={"tag_ids": [tag["id"]], "target_id": UNKNOWN_UUID}, headers=h())
    await expect_error(resp, 404, "not_found", BIND_NOT_FOUND)
    body = {"tag_ids": [tag["id"]], "target_id": UNKNOWN_UUID}
    resp = await client.post(UNBINDING, json=body, headers=h())
    await expect_error(resp, 404, "not_found", UNBIND_NOT_FOUND)


async def test_ids_postgres_cannot_read_are_500s_and_nothing_is_bound(client):
    tag = await new_tag(client, "a")
    ds = await dataset(client, "Docs")
    for body in [{"tag_ids": [tag["id"]], "target_id": "nope"}, {"tag_ids": [tag["id"], "nope"], "target_id": ds}]:
        resp = await client.post(BINDING, json=body, headers=h())
        assert resp.status == 500 and await resp.read() == INTERNAL
    assert await of_dataset(client, ds) == {"data": [], "total": 0}


async def test_binding_payload_errors(client, expect_error):
    resp = await client.post(BINDING, json={}, headers=h())
    text = pydantic("TagBindingPayload", ("tag_ids", "missing", {}), ("target_id", "missing", {}))
    await expect_error(resp, 400, "invalid_param", text)
    resp = await client.post(BINDING, json={"tag_ids": [], "target_id": "x"}, headers=h())
    text = pydantic("TagBindingPayload", ("tag_ids", "value_error", []))
    await expect_error(resp, 400, "invalid_param", text)
    resp = await client.post(BINDING, json={"tag_ids": "abc", "target_id": "x"}, headers=h())
    text = pydantic("TagBindingPayload", ("tag_ids", "list_type", "abc"))
    await expect_error(resp, 400, "invalid_param", text)


async def test_unbinding_takes_tag_ids_or_the_legacy_tag_id(client):
    a, b = await new_tag(client, "a"), await new_tag(client, "b")
    ds = await dataset(client, "Docs")
    await bind(client, [a["id"], b["id"]], ds)
    resp = await client.post(UNBINDING, json={"tag_id": a["id"], "target_id": ds}, headers=h())
    assert resp.status == 204 and await resp.read() == b""
    assert (await of_dataset(client, ds))["total"] == 1
    resp = await client.post(UNBINDING, json={"tag_ids": [b["id"], UNKNOWN_UUID], "target_id": ds}, headers=h())
    assert resp.status == 204  # nothing left to unbind is no error
    assert await of_dataset(client, ds) == {"data": [], "total": 0}
    assert {t["binding_count"] for t in await listed(client)} == {"0"}


async def test_unbinding_payload_errors_from_1_13(client, expect_error):
    resp = await client.post(UNBINDING, json={}, headers=h())
    await expect_error(resp, 400, "invalid_param", pydantic("TagUnbindingPayload", ("target_id", "missing", {})))
    resp = await client.post(UNBINDING, json={"target_id": "x"}, headers=h())
    text = pydantic("TagUnbindingPayload", ("", "value_error", {"target_id": "x"}))
    await expect_error(resp, 400, "invalid_param", text)
    resp = await client.post(UNBINDING, json={"tag_id": "a"}, headers=h())
    value = {"tag_id": "a", "tag_ids": ["a"]}  # the legacy id already read into tag_ids
    await expect_error(resp, 400, "invalid_param", pydantic("TagUnbindingPayload", ("target_id", "missing", value)))


async def test_1_12_unbinding_takes_one_tag_id_and_ignores_tag_ids(make_client, expect_error):
    client = await make_client(dify_version="1.12")
    resp = await client.post(UNBINDING, json={}, headers=h())
    text = pydantic(
        "TagUnbindingPayload",
        ("tag_id", "missing", {}),
        ("target_id", "missing", {}),
        version="2.11",
    )
    await expect_error(resp, 400, "invalid_param", text)
    body = {"tag_ids": ["t"], "target_id": "d"}
    resp = await client.post(UNBINDING, json=body, headers=h())
    text = pydantic("TagUnbindingPayload", ("tag_id", "missing", body), version="2.11")
    await expect_error(resp, 400, "invalid_param", text)
    resp = await client.post(UNBINDING, json={"tag_id": UNKNOWN_UUID, "target_id": UNKNOWN_UUID}, headers=h())
    await expect_error(resp, 404, "not_found", UNBIND_NOT_FOUND)


async def test_a_deleted_datasets_bindings_still_count(client):
    tag = await new_tag(client, "a")
    ds = await dataset(client, "Docs")
    await bind(client, [tag["id"]], ds)
    resp = await client.delete(f"/v1/datasets/{ds}", headers=h())
    assert resp.status == 204
    assert (await listed(client))[0]["binding_count"] == "1"
    resp = await client.patch(TAGS, json={"name": "b", "tag_id": tag["id"]}, headers=h())
    assert (await resp.json())["binding_count"] == "1"


async def test_binding_ignores_the_datasets_api_switch_but_its_tags_route_does_not(client, expect_error):
    tag = await new_tag(client, "a")
    ds = await dataset(client, "Docs")
    client.app[TENANTS].get("s:ktags").state.datasets.get(ds).enable_api = False
    await bind(client, [tag["id"]], ds)
    resp = await client.get(f"/v1/datasets/{ds}/tags", headers=h())
    await expect_error(resp, 403, "forbidden", "Dataset api access is not enabled.")


# A dataset's tags, and the datasets list's tag filter (1.15+) -------------------------------------


async def test_a_datasets_tags_route_checks_the_dataset(client, expect_error):
    resp = await client.get(f"/v1/datasets/{UNKNOWN_UUID}/tags", headers=h())
    await expect_error(resp, 404, "not_found", "Dataset not found.")  # no route hint here
    resp = await client.get("/v1/datasets/not-a-uuid/tags", headers=h())
    assert resp.status == 404 and await resp.text() == NOT_FOUND_HTML


async def test_the_datasets_list_filters_by_every_tag_given(client):
    a, b = await new_tag(client, "a"), await new_tag(client, "b")
    one, two = await dataset(client, "One"), await dataset(client, "Two")
    await bind(client, [a["id"], b["id"]], one)
    await bind(client, [a["id"]], two)

    async def names(*tag_ids: str) -> list[str]:
        params = [("tag_ids", t) for t in tag_ids]
        resp = await client.get("/v1/datasets", params=params, headers=h())
        assert resp.status == 200, await resp.text()
        return sorted(d["name"] for d in (await resp.json())["data"])

    assert await names(a["id"]) == ["One", "Two"]
    assert await names(a["id"], b["id"]) == ["One"]
    assert await names(a["id"], UNKNOWN_UUID) == []  # every tag must exist


# Auth, releases, reset -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", TAGS, None),
        ("POST", TAGS, {"name": "a"}),
        ("PATCH", TAGS, {"name": "a", "tag_id": UNKNOWN_UUID}),
        ("DELETE", TAGS, {"tag_id": UNKNOWN_UUID}),
        ("POST", BINDING, {"tag_ids": [UNKNOWN_UUID], "target_id": UNKNOWN_UUID}),
        ("POST", UNBINDING, {"tag_ids": [UNKNOWN_UUID], "target_id": UNKNOWN_UUID}),
    ],
)
async def test_an_app_key_is_refused(client, expect_error, method, path, body):
    resp = await client.request(method, path, json=body, headers=h("app-chat"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")


async def test_reset_forgets_the_tags(client):
    await new_tag(client, "a")
    resp = await client.post("/_mock/reset", json={"tenant": "s:ktags"})
    assert resp.status == 200
    assert await listed(client) == []
