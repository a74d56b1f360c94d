"""Knowledge API documents: create by text and a batch's indexing status, as Dify 1.12.0, 1.14.2 and
1.16.1 answer them (research/knowledge_documents.md §2-§4, knowledge_indexing.md §1)."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import is_int, is_uuid4
from knowledge_docs import (
    AUTOMATIC_RULES,
    DATASETS,
    DOCUMENT_KEYS,
    STATUS_KEYS,
    STATUS_KEYS_16,
    by_text,
    h,
    made_by_text,
    new_dataset,
    status,
)

S = "kdocs"


async def test_create_by_text_answers_the_queued_document_and_its_batch(client: Any) -> None:
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="guide", text="Dify is an LLM app platform.")
    assert list(made) == ["document", "batch"]
    doc = made["document"]
    assert list(doc) == DOCUMENT_KEYS
    assert len(made["batch"]) == 20 and made["batch"].isdigit()
    assert made["batch"].startswith("20250101000")  # the mock clock's UTC time, then 6 random digits
    assert is_uuid4(doc["id"]) and doc["position"] == 1 and doc["name"] == "guide"
    assert doc["data_source_type"] == "upload_file"
    upload = doc["data_source_detail_dict"]["upload_file"]
    assert doc["data_source_info"] == {"upload_file_id": upload["id"]}
    assert list(upload) == ["id", "name", "size", "extension", "mime_type", "created_by", "created_at"]
    assert (upload["name"], upload["size"], upload["extension"], upload["mime_type"]) == (
        "guide",
        28,
        "txt",
        "text/plain",
    )
    assert isinstance(upload["created_at"], float) and upload["created_by"] == doc["created_by"]
    assert (doc["indexing_status"], doc["display_status"]) == ("waiting", "queuing")
    assert (doc["tokens"], doc["word_count"], doc["error"], doc["hit_count"]) == (None, None, None, 0)
    assert (doc["enabled"], doc["archived"], doc["disabled_at"], doc["disabled_by"]) == (True, False, None, None)
    assert (doc["created_from"], doc["doc_form"], doc["need_summary"]) == ("api", "text_model", False)
    assert doc["doc_metadata"] == [] and doc["summary_index_status"] is None  # 1.16: [] for none
    assert is_int(doc["created_at"]) and is_uuid4(doc["dataset_process_rule_id"])


async def test_both_spellings_and_the_first_document_sets_the_dataset_up(client: Any) -> None:
    dataset = await new_dataset(client, S)
    one = await made_by_text(client, S, dataset, name="a", text="one", indexing_technique="high_quality")
    resp = await client.post(
        f"{DATASETS}/{dataset}/document/create_by_text",
        json={"name": "b", "text": "two", "indexing_technique": "economy"},
        headers=h(S),
    )
    assert resp.status == 200, await resp.text()
    two = await resp.json()
    assert two["document"]["position"] == 2 and two["batch"] != one["batch"]
    # no process_rule: the dataset's latest rule (the automatic one the first document made) serves
    assert two["document"]["dataset_process_rule_id"] == one["document"]["dataset_process_rule_id"]
    got = await (await client.get(f"{DATASETS}/{dataset}", headers=h(S))).json()
    assert (got["indexing_technique"], got["data_source_type"], got["doc_form"]) == (
        "high_quality",
        "upload_file",
        "text_model",
    )
    assert (got["embedding_model_provider"], got["embedding_model"]) == (
        "langgenius/openai/openai",
        "text-embedding-3-small",
    )
    assert got["retrieval_model_dict"]["top_k"] == 4  # the first document's default retrieval model


async def test_polling_walks_every_stage_in_order_with_its_timestamps(make_client: Any) -> None:
    client = await make_client(clock_step=0)  # a frozen clock: only the polls move it on
    dataset = await new_dataset(client, S)
    rule = {
        "mode": "custom",
        "rules": {"pre_processing_rules": [], "segmentation": {"separator": "\n\n", "max_tokens": 50}},
    }
    made = await made_by_text(client, S, dataset, name="g", text="Para one.\n\nPara two.", process_rule=rule)
    seen = []
    for _ in range(6):
        resp = await status(client, S, dataset, made["batch"])
        assert resp.status == 200
        item = (await resp.json())["data"][0]
        assert list(item) == STATUS_KEYS_16
        seen.append(item)
    assert [i["indexing_status"] for i in seen] == [
        "waiting",
        "parsing",
        "splitting",
        "indexing",
        "completed",
        "completed",
    ]
    now = seen[0]["id"] and made["document"]["created_at"]
    stamps = ["processing_started_at", "parsing_completed_at", "cleaning_completed_at", "splitting_completed_at"]
    assert [seen[0][k] for k in [*stamps, "completed_at"]] == [None] * 5
    assert seen[1]["processing_started_at"] == now and seen[1]["parsing_completed_at"] is None
    assert seen[2]["parsing_completed_at"] == now and seen[2]["splitting_completed_at"] is None
    assert seen[3]["cleaning_completed_at"] == seen[3]["splitting_completed_at"] == now
    assert (seen[3]["total_segments"], seen[3]["completed_segments"]) == (2, 0)
    assert seen[4]["completed_at"] == now and (seen[4]["total_segments"], seen[4]["completed_segments"]) == (2, 2)
    assert all(i["error"] is None and i["paused_at"] is None and i["stopped_at"] is None for i in seen)
    assert all(i["error_code"] is None and i["vector_space_limit_mb"] is None for i in seen)


async def test_mock_time_moves_indexing_on_too(client: Any) -> None:
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="g", text="text")
    created = made["document"]["created_at"]
    await client.post("/_mock/clock", json={"tenant": f"s:{S}", "advance": 60})
    item = (await (await status(client, S, dataset, made["batch"])).json())["data"][0]
    assert item["indexing_status"] == "completed"
    assert [
        item[k] for k in ("processing_started_at", "parsing_completed_at", "splitting_completed_at", "completed_at")
    ] == [
        created + 1,
        created + 2,
        created + 3,
        created + 4,
    ]


async def test_indexing_status_of_an_unknown_batch_is_404(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    await expect_error(
        await status(client, S, dataset, "20250101000000123456"), 404, "not_found", "Documents not found."
    )


@pytest.mark.parametrize("version", ["1.12", "1.14"])
async def test_the_status_item_has_twelve_keys_before_1_16(make_client: Any, version: str) -> None:
    client = await make_client(dify_version=version)
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="g", text="text")
    assert made["document"]["doc_metadata"] is None  # null before 1.16
    item = (await (await status(client, S, dataset, made["batch"])).json())["data"][0]
    assert list(item) == STATUS_KEYS


async def test_the_same_name_reuses_the_enabled_document(client: Any) -> None:
    dataset = await new_dataset(client, S)
    one = await made_by_text(client, S, dataset, name="same", text="first")
    two = await made_by_text(client, S, dataset, name="same", text="second text")
    assert two["document"]["id"] == one["document"]["id"] and two["document"]["position"] == 1
    assert two["batch"] != one["batch"]
    assert two["document"]["indexing_status"] == "waiting"
    assert two["document"]["data_source_info"] != one["document"]["data_source_info"]
    listed = await (await client.get(f"{DATASETS}/{dataset}/documents", headers=h(S))).json()
    assert listed["total"] == 1
    await expect_no_batch(client, dataset, one["batch"])


async def expect_no_batch(client: Any, dataset: str, batch: str) -> None:
    assert (await status(client, S, dataset, batch)).status == 404


def missing(model: str, body: Any, name: str, version: str = "2.12") -> str:
    return (
        f"1 validation error for {model}\n{name}\n"
        f"  Field required [type=missing, input_value={body!r}, input_type=dict]\n"
        f"    For further information visit https://errors.pydantic.dev/{version}/v/missing"
    )


async def test_create_by_text_body_errors(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    resp = await by_text(client, S, dataset)
    two = (
        "2 validation errors for DocumentTextCreatePayload\nname\n  Field required [type=missing, input_value={}, "
        "input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.12/v/missing\ntext\n"
        "  Field required [type=missing, input_value={}, input_type=dict]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/missing"
    )
    await expect_error(resp, 400, "invalid_param", two)
    resp = await by_text(client, S, dataset, name="a")
    await expect_error(resp, 400, "invalid_param", missing("DocumentTextCreatePayload", {"name": "a"}, "text"))
    resp = await by_text(client, S, dataset, name="a", text="t", doc_form="x")
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for DocumentTextCreatePayload\ndoc_form\n  Value error, Invalid doc_form. "
        "[type=value_error, input_value='x', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/value_error",
    )
    resp = await by_text(client, S, dataset, name="a", text="t", process_rule={"mode": "x"})
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for DocumentTextCreatePayload\nprocess_rule.mode\n  Input should be 'automatic', 'custom' "
        "or 'hierarchical' [type=enum, input_value='x', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/enum",
    )
    resp = await by_text(client, S, dataset, name="a", text="t", process_rule={})
    await expect_error(resp, 400, "invalid_param", missing("DocumentTextCreatePayload", {}, "process_rule.mode"))
    resp = await by_text(client, S, dataset, name="a", text="t")
    await expect_error(resp, 400, "invalid_param", "indexing_technique is required.")


async def test_1_12_differences_of_create_by_text(make_client: Any, expect_error: Any) -> None:
    client = await make_client(dify_version="1.12")
    dataset = await new_dataset(client, S)
    resp = await by_text(client, S, dataset, name="a", text="t")
    await expect_error(resp, 500, "unknown", "Internal Server Error")  # args["indexing_technique"]: KeyError
    resp = await by_text(client, S, dataset, name="a", text="t", indexing_technique="")
    await expect_error(resp, 400, "invalid_param", "indexing_technique is required.")
    resp = await by_text(client, S, dataset, name="a", text="t", process_rule={"mode": "x"})
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for DocumentTextCreatePayload\nprocess_rule.mode\n  Input should be 'automatic', 'custom' "
        "or 'hierarchical' [type=literal_error, input_value='x', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.11/v/literal_error",
    )
    made = await made_by_text(client, S, dataset, name="x", text="t", doc_form="qa_x")  # no check at 1.12
    assert made["document"]["doc_form"] == "qa_x"
    items = (await (await status(client, S, dataset, made["batch"])).json())["data"]
    for _ in range(5):
        items = (await (await status(client, S, dataset, made["batch"])).json())["data"]
    assert items[0]["indexing_status"] == "error" and items[0]["error"] == "Index type qa_x is not supported."


async def test_indexing_technique_given_the_dataset_has_one_is_still_required(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S, indexing_technique="economy")
    resp = await by_text(client, S, dataset, name="doc1", text="t")
    body = await expect_error(resp, 400, "invalid_param")
    head, _, tail = body["message"].partition("input_value=")
    assert head == "1 validation error for KnowledgeConfig\nindexing_technique\n  Field required [type=missing, "
    assert tail.startswith("{'name': 'doc1', 'text': ...") and "']}}}}, input_type=dict]" in tail
    resp = await by_text(client, S, dataset, name="doc1", text="t", indexing_technique="foo")
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for KnowledgeConfig\nindexing_technique\n  Input should be 'high_quality' or 'economy' "
        "[type=literal_error, input_value='foo', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/literal_error",
    )


async def test_unknown_dataset_gets_restx_hint_on_create_routes(client: Any, expect_error: Any) -> None:
    unknown = "11111111-2222-4333-8444-555555555555"
    resp = await by_text(client, S, unknown, name="a", text="t")
    path = f"/v1/datasets/{unknown}/document/create-by-text"
    rule = "/v1/datasets/<uuid:dataset_id>/document/"
    await expect_error(
        resp,
        404,
        "not_found",
        f"Dataset not found. You have requested this URI [{path}] but did you mean {rule}create-by-text or "
        f"{rule}create_by_text or {rule}create-by-file ?",
    )


async def test_an_app_key_is_refused(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    resp = await client.post(
        f"{DATASETS}/{dataset}/document/create-by-text", json={"name": "a", "text": "t"}, headers=h(S, key="app-chat")
    )
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")


async def test_custom_rules_are_stored_as_dify_dumps_them(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    rule = {
        "mode": "custom",
        "rules": {
            "pre_processing_rules": [
                {"id": "remove_extra_spaces", "enabled": True},
                {"id": "remove_extra_spaces", "enabled": False},
            ],
            "segmentation": {"separator": "\\n", "max_tokens": 100},
        },
    }
    made = await made_by_text(client, S, dataset, name="g", text="line one\nline two", process_rule=rule)
    detail = await (await client.get(f"{DATASETS}/{dataset}/documents/{made['document']['id']}", headers=h(S))).json()
    assert detail["document_process_rule"]["mode"] == "custom"
    assert detail["document_process_rule"]["rules"] == {
        "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": False}],
        "segmentation": {"separator": "\\n", "max_tokens": 100, "chunk_overlap": 0},
        "parent_mode": None,
        "subchunk_segmentation": None,
    }
    assert detail["dataset_process_rule"] == {"mode": "custom", "rules": detail["document_process_rule"]["rules"]}
    for rules, text in [
        ({}, "Process rule pre_processing_rules is required"),
        ({"pre_processing_rules": []}, "Process rule segmentation is required"),
        ({"pre_processing_rules": [{"id": "", "enabled": True}]}, "Process rule pre_processing_rules id is required"),
        (
            {"pre_processing_rules": [], "segmentation": {"separator": "", "max_tokens": 9}},
            "Process rule segmentation separator is required",
        ),
        (
            {"pre_processing_rules": [], "segmentation": {"max_tokens": 0}},
            "Process rule segmentation max_tokens is required",
        ),
    ]:
        rule = {"mode": "custom", "rules": rules}
        resp = await by_text(client, S, dataset, name="e", text="t", process_rule=rule, indexing_technique="economy")
        await expect_error(resp, 400, "invalid_param", text)
    rule = {"mode": "custom"}
    resp = await by_text(client, S, dataset, name="e", text="t", process_rule=rule, indexing_technique="economy")
    await expect_error(resp, 400, "invalid_param", "Process rule rules is required")


async def test_automatic_rule_and_splitter_errors_end_the_document_in_error(make_client: Any) -> None:
    client = await make_client(clock_step=0)
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="g", text="t", process_rule={"mode": "automatic"})
    detail = await (await client.get(f"{DATASETS}/{dataset}/documents/{made['document']['id']}", headers=h(S))).json()
    assert detail["document_process_rule"]["rules"] == AUTOMATIC_RULES
    bad = {"mode": "custom", "rules": {"pre_processing_rules": [], "segmentation": {"max_tokens": 4001}}}
    made = await made_by_text(client, S, dataset, name="big", text="text", process_rule=bad)
    items = []
    for _ in range(4):
        items = (await (await status(client, S, dataset, made["batch"])).json())["data"]
    item = items[0]
    assert item["indexing_status"] == "error"
    assert item["error"] == "Custom segment length should be between 50 and 4000."
    assert item["parsing_completed_at"] is not None and item["splitting_completed_at"] is None
    assert item["stopped_at"] is not None and item["total_segments"] == 0
