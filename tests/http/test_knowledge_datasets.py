"""Knowledge API datasets with a knowledge key: create, list, get, update, delete, as Dify 1.12.0,
1.14.2 and 1.16.1 answer them (research/knowledge_datasets.md §0-§7)."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID, auth, is_int, is_uuid4

DATASETS = "/v1/datasets"
KEYS = [
    "id", "name", "description", "provider", "permission", "data_source_type", "indexing_technique", "app_count",
    "document_count", "word_count", "created_by", "author_name", "created_at", "updated_by", "updated_at",
    "embedding_model", "embedding_model_provider", "embedding_available", "retrieval_model_dict",
    "summary_index_setting", "tags", "doc_form", "external_knowledge_info", "external_retrieval_model", "doc_metadata",
    "built_in_field_enabled", "pipeline_id", "runtime_mode", "chunk_structure", "icon_info", "is_published",
    "total_documents", "total_available_documents", "enable_api", "is_multimodal", "maintainer",
]  # fmt: skip
DEFAULT_RETRIEVAL = {
    "search_method": "semantic_search",
    "reranking_enable": False,
    "reranking_mode": None,
    "reranking_model": {"reranking_provider_name": "", "reranking_model_name": ""},
    "weights": None,
    "top_k": 2,
    "score_threshold_enabled": False,
    "score_threshold": None,
}
PAGE_KEYS = ["data", "has_more", "limit", "total", "page"]


def h(key: str = "dataset-demo", session: str = "kds") -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session})


def missing(model: str, body: Any, name: str, version: str = "2.12") -> str:
    return (
        f"1 validation error for {model}\n{name}\n"
        f"  Field required [type=missing, input_value={body!r}, input_type=dict]\n"
        f"    For further information visit https://errors.pydantic.dev/{version}/v/missing"
    )


async def create(client: Any, name: str, session: str = "kds", **fields: Any) -> dict[str, Any]:
    resp = await client.post(DATASETS, json={"name": name, **fields}, headers=h(session=session))
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_a_new_dataset_has_difys_fields_in_order_and_defaults(client: Any) -> None:
    made = await create(client, "Docs")
    assert list(made) == KEYS
    assert is_uuid4(made["id"]) and is_uuid4(made["created_by"]) and is_int(made["created_at"])
    assert made["name"] == "Docs" and made["description"] == ""
    assert (made["provider"], made["permission"], made["indexing_technique"]) == ("vendor", "only_me", None)
    assert (made["document_count"], made["word_count"], made["app_count"]) == (0, 0, 0)
    assert made["author_name"] == "Admin"  # the workspace owner of _apps.yaml a knowledge key acts as
    assert made["updated_by"] == made["created_by"] == made["maintainer"]
    assert made["updated_at"] == made["created_at"]
    assert made["embedding_available"] is None  # POST's body never computes it
    assert made["retrieval_model_dict"] == DEFAULT_RETRIEVAL
    assert made["summary_index_setting"] == dict.fromkeys(
        ["enable", "model_name", "model_provider_name", "summary_prompt"]
    )
    assert made["icon_info"] == dict.fromkeys(["icon_type", "icon", "icon_background", "icon_url"])
    assert made["external_retrieval_model"] == {"top_k": 2, "score_threshold": 0.0, "score_threshold_enabled": None}
    assert (made["tags"], made["doc_metadata"], made["built_in_field_enabled"]) == ([], [], False)
    assert (made["runtime_mode"], made["enable_api"], made["is_published"]) == ("general", True, False)


async def test_high_quality_takes_the_workspace_default_embedding_model(client: Any) -> None:
    made = await create(client, "HQ", indexing_technique="high_quality")
    assert (made["embedding_model_provider"], made["embedding_model"]) == (
        "langgenius/openai/openai",
        "text-embedding-3-small",
    )
    detail = await (await client.get(f"{DATASETS}/{made['id']}", headers=h())).json()
    assert detail["embedding_available"] is True
    assert detail["retrieval_model_dict"]["search_method"] == "semantic_search"


async def test_get_shows_keyword_search_for_a_dataset_that_is_not_high_quality(client: Any) -> None:
    made = await create(client, "Eco", indexing_technique="economy")
    resp = await client.get(f"{DATASETS}/{made['id']}", headers=h())
    assert resp.status == 200
    detail = await resp.json()
    assert list(detail) == KEYS
    assert detail["retrieval_model_dict"]["search_method"] == "keyword_search"
    assert detail["embedding_available"] is True


async def test_a_duplicate_name_is_409_and_the_model_checks_come_first(client: Any, expect_error: Any) -> None:
    await create(client, "Same")
    resp = await client.post(DATASETS, json={"name": "Same"}, headers=h())
    await expect_error(
        resp, 409, "dataset_name_duplicate", "The dataset name already exists. Please modify your dataset name."
    )
    bad = {"name": "Same", "embedding_model_provider": "cohere", "embedding_model": "embed"}
    resp = await client.post(DATASETS, json=bad, headers=h())
    await expect_error(resp, 400, "invalid_param", "Provider langgenius/cohere/cohere does not exist.")
    another = await create(client, "Other", embedding_model_provider="openai", embedding_model="text-embedding-3-large")
    assert another["embedding_model"] is None  # given names are checked, stored only for high_quality


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, missing("DatasetCreatePayload", {}, "name")),
        (
            {"name": ""},
            "1 validation error for DatasetCreatePayload\nname\n  String should have at least 1 character "
            "[type=string_too_short, input_value='', input_type=str]\n"
            "    For further information visit https://errors.pydantic.dev/2.12/v/string_too_short",
        ),
        (
            {"name": "n", "permission": "foo"},
            "1 validation error for DatasetCreatePayload\npermission\n  Input should be 'only_me', 'all_team_members' "
            "or 'partial_members' [type=enum, input_value='foo', input_type=str]\n"
            "    For further information visit https://errors.pydantic.dev/2.12/v/enum",
        ),
        (
            {"name": "n", "indexing_technique": "foo"},
            "1 validation error for DatasetCreatePayload\nindexing_technique\n  Input should be 'high_quality' or "
            "'economy' [type=literal_error, input_value='foo', input_type=str]\n"
            "    For further information visit https://errors.pydantic.dev/2.12/v/literal_error",
        ),
        (
            {"name": "n", "retrieval_model": {}},
            "4 validation errors for DatasetCreatePayload\n"
            + "\n".join(
                f"retrieval_model.{f}\n  Field required [type=missing, input_value={{}}, input_type=dict]\n"
                "    For further information visit https://errors.pydantic.dev/2.12/v/missing"
                for f in ("search_method", "reranking_enable", "top_k", "score_threshold_enabled")
            ),
        ),
    ],
)
async def test_create_validates_as_difys_model(client: Any, expect_error: Any, body: Any, message: str) -> None:
    resp = await client.post(DATASETS, json=body, headers=h())
    await expect_error(resp, 400, "invalid_param", message)


async def test_keys_of_the_other_scope_are_refused(client: Any, expect_error: Any) -> None:
    resp = await client.get(DATASETS, headers=h("app-chat"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")
    resp = await client.get("/v1/parameters", headers=h("dataset-demo"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")


async def test_unknown_and_malformed_ids(client: Any, expect_error: Any) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        resp = await client.request(method, f"{DATASETS}/{UNKNOWN_UUID}", json={}, headers=h())
        await expect_error(resp, 404, "not_found", "Dataset not found.")
    resp = await client.get(f"{DATASETS}/not-a-uuid", headers=h())
    assert resp.status == 404 and await resp.text() == NOT_FOUND_HTML


async def test_the_list_pages_newest_first_with_difys_has_more(client: Any) -> None:
    names = [f"set {i}" for i in range(5)]
    for name in names:
        await create(client, name, session="list")
    resp = await client.get(DATASETS, params={"limit": 2}, headers=h(session="list"))
    first = await resp.json()
    assert list(first) == PAGE_KEYS
    assert [d["name"] for d in first["data"]] == ["set 4", "set 3"]
    assert (first["has_more"], first["limit"], first["total"], first["page"]) == (True, 2, 5, 1)
    last = await (await client.get(DATASETS, params={"limit": 2, "page": 3}, headers=h(session="list"))).json()
    assert [d["name"] for d in last["data"]] == ["set 0"] and last["has_more"] is False
    found = await (await client.get(DATASETS, params={"keyword": "SET 3"}, headers=h(session="list"))).json()
    assert [d["name"] for d in found["data"]] == ["set 3"] and found["total"] == 1
    assert found["data"][0]["embedding_available"] is True


async def test_tag_ids_before_1_15_is_a_400(make_client: Any, expect_error: Any) -> None:
    client = await make_client(dify_version="1.14")
    resp = await client.get(DATASETS, params={"tag_ids": "x"}, headers=h())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for DatasetListQuery\ntag_ids\n  Input should be a valid list "
        "[type=list_type, input_value='x', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/list_type",
    )


async def test_update_is_partial_and_always_lists_the_members(client: Any, expect_error: Any) -> None:
    made = await create(client, "Before", description="old")
    other = await create(client, "Taken")
    url = f"{DATASETS}/{made['id']}"
    resp = await client.patch(url, json={"name": "After", "permission": None}, headers=h())
    assert resp.status == 200
    updated = await resp.json()
    assert list(updated) == [*KEYS, "partial_member_list"]
    assert (updated["name"], updated["description"], updated["permission"]) == ("After", "old", "only_me")
    assert updated["partial_member_list"] == [] and updated["embedding_available"] is None
    assert updated["updated_at"] >= made["updated_at"]
    cleared = await (await client.patch(url, json={"description": None}, headers=h())).json()
    assert cleared["description"] is None
    resp = await client.patch(url, json={"name": other["name"]}, headers=h())
    await expect_error(resp, 400, "invalid_param", "Dataset name already exists")
    detail = await (await client.get(url, headers=h())).json()
    assert detail["name"] == "After" and "partial_member_list" not in detail


async def test_update_to_high_quality_without_the_model_keys_is_difys_500(client: Any, expect_error: Any) -> None:
    made = await create(client, "Eco 2", indexing_technique="economy")
    url = f"{DATASETS}/{made['id']}"
    resp = await client.patch(url, json={"indexing_technique": "high_quality"}, headers=h())
    await expect_error(resp, 500, "unknown", "Internal Server Error")
    body = {
        "indexing_technique": "high_quality",
        "embedding_model_provider": "openai",
        "embedding_model": "text-embedding-3-large",
    }
    hq = await (await client.patch(url, json=body, headers=h())).json()
    assert (hq["indexing_technique"], hq["embedding_model_provider"], hq["embedding_model"]) == (
        "high_quality",
        "langgenius/openai/openai",
        "text-embedding-3-large",
    )
    eco = await (await client.patch(url, json={"indexing_technique": "economy"}, headers=h())).json()
    assert (eco["embedding_model"], eco["embedding_model_provider"]) == (None, None)


async def test_delete_is_204_then_gone_and_1_12_answers_200_204(make_client: Any, expect_error: Any) -> None:
    for version, status, raw in (("1.16", 204, b""), ("1.14", 204, b""), ("1.12", 200, b"204\n")):
        client = await make_client(dify_version=version)
        made = await create(client, "Doomed")
        resp = await client.delete(f"{DATASETS}/{made['id']}", headers=h())
        assert (resp.status, await resp.read()) == (status, raw), version
        assert resp.headers["Content-Type"].startswith("application/json")
        resp = await client.get(f"{DATASETS}/{made['id']}", headers=h())
        await expect_error(resp, 404, "not_found", "Dataset not found.")


async def test_maintainer_is_a_1_15_field(make_client: Any) -> None:
    client = await make_client(dify_version="1.14")
    made = await create(client, "Old")
    assert list(made) == KEYS[:-1]


async def test_reset_empties_the_datasets(client: Any) -> None:
    await create(client, "Gone", session="reset")
    resp = await client.post("/_mock/reset", headers={"X-Mock-Session": "reset"})
    assert resp.status in (200, 204)
    listing = await (await client.get(DATASETS, headers=h(session="reset"))).json()
    assert listing["total"] == 0 and listing["data"] == []


async def test_1_12_looks_the_dataset_up_before_the_key(make_client: Any, expect_error: Any) -> None:
    # research/knowledge_datasets.md §0.2: wraps.py:257-264@1.12.0 finds the dataset, then the token.
    old = await make_client(dify_version="1.12")
    resp = await old.get(f"{DATASETS}/{UNKNOWN_UUID}", headers={"X-Mock-Session": "kds"})
    await expect_error(resp, 404, "not_found", "Dataset not found.")
    made = await create(old, "Known")
    resp = await old.get(f"{DATASETS}/{made['id']}", headers={"X-Mock-Session": "kds"})
    await expect_error(resp, 401, "unauthorized", "Authorization header must be provided and start with 'Bearer'")
    new = await make_client(dify_version="1.14")
    resp = await new.get(f"{DATASETS}/{UNKNOWN_UUID}", headers={"X-Mock-Session": "kds"})
    await expect_error(resp, 401, "unauthorized", "Authorization header must be provided and start with 'Bearer'")


async def test_the_dataset_is_looked_up_before_the_body_is_read(client: Any, expect_error: Any) -> None:
    # validate_dataset_token wraps the handler: an unknown dataset is 404 whatever the body holds.
    resp = await client.patch(f"{DATASETS}/{UNKNOWN_UUID}", json={"name": ""}, headers=h())
    await expect_error(resp, 404, "not_found", "Dataset not found.")
    made = await create(client, "Body later")
    resp = await client.patch(f"{DATASETS}/{made['id']}", json={"name": ""}, headers=h())
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_param"


@pytest.mark.parametrize("version", ["1.12", "1.14", "1.16"])
async def test_a_given_retrieval_model_is_stored_as_its_model_dump(make_client: Any, version: str) -> None:
    # research/knowledge_datasets.md §2.3: RetrievalModel.model_dump(); an absent reranking_model is
    # marshalled as an object of nulls.
    client = await make_client(dify_version=version)
    model = {
        "search_method": "full_text_search",
        "reranking_enable": False,
        "top_k": 3,
        "score_threshold_enabled": True,
    }
    made = await create(client, "RM", retrieval_model=model)
    expected = {
        "search_method": "full_text_search",
        "reranking_enable": False,
        "reranking_mode": None,
        "reranking_model": {"reranking_provider_name": None, "reranking_model_name": None},
        "weights": None,
        "top_k": 3,
        "score_threshold_enabled": True,
        "score_threshold": None,
    }
    assert made["retrieval_model_dict"] == expected
    assert made["external_retrieval_model"] == {"top_k": 3, "score_threshold": None, "score_threshold_enabled": True}
    changed = {**model, "top_k": 5}
    resp = await client.patch(f"{DATASETS}/{made['id']}", json={"retrieval_model": changed}, headers=h())
    assert (await resp.json())["retrieval_model_dict"] == {**expected, "top_k": 5}
    kept = await (await client.patch(f"{DATASETS}/{made['id']}", json={"retrieval_model": None}, headers=h())).json()
    assert kept["retrieval_model_dict"]["top_k"] == 5
