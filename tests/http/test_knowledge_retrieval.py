"""Knowledge API retrieval: POST /v1/datasets/{id}/retrieve and /hit-testing as Dify 1.12.0, 1.14.2 and
1.16.1 answer them (research/knowledge_retrieval_pipeline.md §2, §4): the route and its checks, each
release's body, and the acceptance path (documents made by text and by file, polled until indexed,
then found). What a search finds is in test_knowledge_retrieval_search.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import FormData
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID
from knowledge_search import (
    DATASETS,
    RM,
    contents,
    filtered,
    h,
    indexed,
    make_dataset,
    retrieve,
    seed,
    segments_of,
)

from mockserver.keys import TENANTS

SEGMENT_KEYS = [
    "id", "position", "document_id", "content", "sign_content", "answer", "word_count", "tokens", "keywords",
    "index_node_id", "index_node_hash", "hit_count", "enabled", "disabled_at", "disabled_by", "status",
    "created_by", "created_at", "indexing_at", "completed_at", "error", "stopped_at", "document",
]  # fmt: skip
RECORD_KEYS = ["segment", "child_chunks", "score", "tsne_position", "files", "summary"]
PYDANTIC_URL = "    For further information visit https://errors.pydantic.dev/{}/v/{}"


def pyd(model: str, version: str, *errors: tuple[str, str, str]) -> str:
    """pydantic's text: (location, message and bracket, type) per error."""
    count = len(errors)
    lines = [f"{count} validation error{'s' if count != 1 else ''} for {model}"]
    for loc, text, kind in errors:
        lines += [loc] if loc else []  # the model's own error has no location line
        lines += [f"  {text}", PYDANTIC_URL.format(version, kind)]
    return "\n".join(lines)


# --- the route and its checks --------------------------------------------------------------------------


async def test_keys_ids_and_methods(client: Any, expect_error: Any) -> None:
    dataset = await make_dataset(client, "route")
    url = f"{DATASETS}/{dataset}/retrieve"
    resp = await client.post(url, json={"query": "q"}, headers=h("route", "app-chat"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")
    for alias, body in (("retrieve", {"query": "q"}), ("hit-testing", {"query": "q"}), ("retrieve", {})):
        # the dataset is looked up before the body is read (validate_dataset_token wraps the handler)
        resp = await client.post(f"{DATASETS}/{UNKNOWN_UUID}/{alias}", json=body, headers=h("route"))
        await expect_error(resp, 404, "not_found", "Dataset not found.")  # no flask-restx hint on these paths
    for path in (f"{DATASETS}/not-a-uuid/retrieve", f"{DATASETS}/{dataset}/hit_testing"):
        resp = await client.post(path, json={"query": "q"}, headers=h("route"))
        assert resp.status == 404 and await resp.text() == NOT_FOUND_HTML
    resp = await client.get(url, headers=h("route"))
    await expect_error(resp, 405, "method_not_allowed")


async def test_a_dataset_with_api_access_off_is_403(client: Any, expect_error: Any) -> None:
    dataset = await make_dataset(client, "off")
    client.app[TENANTS].get("s:off").state.datasets.require(dataset).enable_api = False
    resp = await client.post(f"{DATASETS}/{dataset}/retrieve", json={"query": "q"}, headers=h("off"))
    await expect_error(resp, 403, "forbidden", "Dataset api access is not enabled.")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [("query", "Field required [type=missing, input_value={}, input_type=dict]", "missing")]),
        (
            {"query": None},
            [("query", "Input should be a valid string [type=string_type, input_value=None, input_type=NoneType]",
              "string_type")],
        ),
        (
            {"query": "x" * 251},
            [("query", "String should have at most 250 characters [type=string_too_long, input_value='"
              + "x" * 24 + "..." + "x" * 23 + "', input_type=str]", "string_too_long")],
        ),
        (
            {"query": "q", "attachment_ids": [1]},
            [("attachment_ids.0", "Input should be a valid string [type=string_type, input_value=1, input_type=int]",
              "string_type")],
        ),
        (
            {"query": "q", "retrieval_model": {}},
            [(f"retrieval_model.{k}", "Field required [type=missing, input_value={}, input_type=dict]", "missing")
             for k in ("search_method", "reranking_enable", "top_k", "score_threshold_enabled")],
        ),
        (
            {"query": "q", "retrieval_model": {**RM, "search_method": "foo"}},
            [("retrieval_model.search_method", "Input should be 'semantic_search', 'full_text_search', "
              "'hybrid_search' or 'keyword_search' [type=enum, input_value='foo', input_type=str]", "enum")],
        ),
        (
            {"query": "q", "retrieval_model": {**RM, "metadata_filtering_conditions": {
                "logical_operator": "xor", "conditions": [{"name": "a", "comparison_operator": "like"}]}}},
            [
                ("retrieval_model.metadata_filtering_conditions.logical_operator",
                 "Input should be 'and' or 'or' [type=literal_error, input_value='xor', input_type=str]",
                 "literal_error"),
                ("retrieval_model.metadata_filtering_conditions.conditions.0.comparison_operator",
                 "Input should be 'contains', 'not contains', 'start with', 'end with', 'is', 'is not', 'empty', "
                 "'not empty', 'in', 'not in', '=', '≠', '>', '<', '≥', '≤', 'before' or 'after' "
                 "[type=literal_error, input_value='like', input_type=str]", "literal_error"),
            ],
        ),
    ],
)  # fmt: skip
async def test_the_body_is_checked_as_hittestingpayload(
    client: Any, expect_error: Any, body: Any, errors: list[tuple[str, str, str]]
) -> None:
    dataset = await make_dataset(client, "body")
    resp = await client.post(f"{DATASETS}/{dataset}/retrieve", json=body, headers=h("body"))
    await expect_error(resp, 400, "invalid_param", pyd("HitTestingPayload", "2.12", *errors))


async def test_an_empty_query_needs_attachment_ids(client: Any, expect_error: Any) -> None:
    dataset = await make_dataset(client, "empty")
    for body in ({"query": ""}, {"query": "", "attachment_ids": []}, {"query": "", "attachment_ids": None}):
        resp = await client.post(f"{DATASETS}/{dataset}/retrieve", json=body, headers=h("empty"))
        await expect_error(resp, 400, "invalid_param", "Query or attachment_ids is required")
    # attachments alone are searched in an image index the mock does not have
    found = await retrieve(client, "empty", dataset, query="", attachment_ids=["f"], external_retrieval_model={})
    assert found == {"query": {"content": ""}, "records": []}


async def test_1_12_takes_any_retrieval_model_dict_and_fails_later(make_client: Any, expect_error: Any) -> None:
    client = await make_client(dify_version="1.12")
    dataset = await make_dataset(client, "lenient")
    seed(client, "lenient", dataset, 1, ["alpha beta"])
    url = f"{DATASETS}/{dataset}/retrieve"
    assert contents(await retrieve(client, "lenient", dataset, query="alpha", retrieval_model={})) == ["alpha beta"]
    resp = await client.post(
        url, json={"query": "q", "retrieval_model": {"search_method": "foo"}}, headers=h("lenient")
    )
    await expect_error(resp, 400, "invalid_param", "'foo' is not a valid RetrievalMethod")
    for missing, given in (
        ("score_threshold_enabled", {"top_k": 1}),
        ("reranking_enable", {"score_threshold_enabled": 0}),
    ):
        resp = await client.post(url, json={"query": "q", "retrieval_model": given}, headers=h("lenient"))
        await expect_error(resp, 500, "internal_server_error", f"'{missing}'")
    bad = {**RM, "metadata_filtering_conditions": {"conditions": [{"name": "a", "comparison_operator": "nope"}]}}
    resp = await client.post(url, json={"query": "q", "retrieval_model": bad}, headers=h("lenient"))
    op_list = (
        "'contains', 'not contains', 'start with', 'end with', 'is', 'is not', 'empty', 'not empty', 'in', "
        "'not in', '=', '≠', '>', '<', '≥', '≤', 'before' or 'after'"
    )
    want = pyd(
        "MetadataFilteringCondition",
        "2.11",
        ("conditions.0.comparison_operator",
         f"Input should be {op_list} [type=literal_error, input_value='nope', input_type=str]", "literal_error"),
    )  # fmt: skip
    await expect_error(resp, 400, "invalid_param", want)
    resp = await client.post(url, json={"query": 5}, headers=h("lenient"))
    want = pyd(
        "HitTestingPayload",
        "2.11",
        ("query", "Input should be a valid string [type=string_type, input_value=5, input_type=int]", "string_type"),
    )
    await expect_error(resp, 400, "invalid_param", want)
    resp = await client.post(url, json=[1], headers=h("lenient"))
    want = pyd(
        "HitTestingPayload",
        "2.11",
        ("", "Input should be a valid dictionary or instance of HitTestingPayload [type=model_type, "
         "input_value=[1], input_type=list]", "model_type"),
    )  # fmt: skip
    await expect_error(resp, 400, "invalid_param", want)


# --- the body per release -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.12", "1.14", "1.16"])
async def test_the_record_as_each_release_renders_it(make_client: Any, version: str) -> None:
    client = await make_client(dify_version=version)
    dataset = await make_dataset(client, "shape")
    doc = seed(client, "shape", dataset, 1, ["The quick brown fox."], metadata={"author": "Ann"})
    found = await retrieve(client, "shape", dataset, alias="hit-testing", query="quick fox")
    assert list(found) == ["query", "records"]
    assert found["query"] == ("quick fox" if version == "1.14" else {"content": "quick fox"})
    (record,) = found["records"]
    assert list(record) == RECORD_KEYS
    segment = record["segment"]
    assert list(segment) == SEGMENT_KEYS
    stored = segments_of(client, "shape", doc)[0]
    assert segment["id"] == stored.id and segment["document_id"] == doc.id and segment["position"] == 1
    assert segment["sign_content"] == ("The quick brown fox." if version == "1.12" else None)
    assert segment["created_at"] == (None if version == "1.14" else 100)
    assert (segment["index_node_id"], segment["index_node_hash"], segment["status"]) == (
        "node-1-1",
        "hash-1-1",
        "completed",
    )
    assert segment["document"] == {
        "id": doc.id,
        "data_source_type": "upload_file",
        "name": "doc1.txt",
        "doc_type": None,
        "doc_metadata": {"author": "Ann"},
    }
    empty = None if version == "1.12" else []
    assert (record["child_chunks"], record["files"], record["tsne_position"], record["summary"]) == (
        empty,
        empty,
        None,
        None,
    )
    assert 0.0 < record["score"] < 1.0


async def test_an_empty_dataset_and_a_document_without_metadata(make_client: Any) -> None:
    client = await make_client(dify_version="1.14")
    dataset = await make_dataset(client, "none")
    assert await retrieve(client, "none", dataset, query="anything") == {"query": "anything", "records": []}
    seed(client, "none", dataset, 1, ["anything at all"])
    (record,) = (await retrieve(client, "none", dataset, query="anything"))["records"]
    assert record["segment"]["document"]["doc_metadata"] is None and record["segment"]["keywords"] == []


async def test_retrieval_counts_no_hits_and_reset_empties_it(client: Any) -> None:
    dataset = await make_dataset(client, "hits")
    doc = seed(client, "hits", dataset, 1, ["counted"])
    for _ in range(2):
        (record,) = (await retrieve(client, "hits", dataset, query="counted"))["records"]
        assert record["segment"]["hit_count"] == 0  # Dify's hit testing leaves hit_count alone
    assert segments_of(client, "hits", doc)[0].hit_count == 0
    resp = await client.post("/_mock/reset", headers={"X-Mock-Session": "hits"})
    assert resp.status in (200, 204)
    resp = await client.post(f"{DATASETS}/{dataset}/retrieve", json={"query": "counted"}, headers=h("hits"))
    assert resp.status == 404


# --- acceptance: documents made through the API ---------------------------------------------------------

HANDBOOK = (
    "Dify is an open-source platform for building LLM applications.\n\n"
    "The office opens at nine every weekday and closes at six.\n\n"
    "Lunch is served in the canteen at noon; the office kitchen stays open."
)
PARAGRAPHS = {
    "mode": "custom",
    "rules": {"pre_processing_rules": [], "segmentation": {"separator": "\n\n", "max_tokens": 500}},
}


async def test_a_document_made_by_text_is_searchable_once_indexed(client: Any) -> None:
    session = "accept-text"
    dataset = await make_dataset(client, session)
    body = {"name": "handbook", "text": HANDBOOK, "indexing_technique": "high_quality", "process_rule": PARAGRAPHS}
    resp = await client.post(f"{DATASETS}/{dataset}/document/create-by-text", json=body, headers=h(session))
    assert resp.status == 200, await resp.text()
    made = await resp.json()
    # still queued or parsing: no segment is searchable yet
    assert (await retrieve(client, session, dataset, query="office opens at nine"))["records"] == []
    await indexed(client, session, dataset, made["batch"])
    found = await retrieve(client, session, dataset, query="office opens at nine")
    best, *rest = found["records"]
    assert best["segment"]["content"] == "The office opens at nine every weekday and closes at six."
    assert best["score"] == 1.0 and all(r["score"] < 1.0 for r in rest)
    assert [r["segment"]["content"][:5] for r in rest] == ["Lunch"]  # "office", not "Dify ..."
    document = best["segment"]["document"]
    assert (document["id"], document["name"], document["data_source_type"]) == (
        made["document"]["id"],
        "handbook",
        "upload_file",
    )
    segment = best["segment"]
    assert (segment["position"], segment["status"], segment["enabled"]) == (2, "completed", True)
    assert segment["completed_at"] >= segment["indexing_at"] >= segment["created_at"]
    # the dataset's retrieval model (its first document stored one): semantic search, so keyword search
    # finds nothing in a high_quality dataset
    keyword = {**RM, "search_method": "keyword_search"}
    assert (await retrieve(client, session, dataset, alias="hit-testing", query="office", retrieval_model=keyword))[
        "records"
    ] == []


async def test_a_document_made_by_file_is_searchable_and_keyword_search_scores_zero(client: Any) -> None:
    session = "accept-file"
    dataset = await make_dataset(client, session, indexing_technique="economy")
    form = FormData()
    form.add_field("data", json.dumps({"indexing_technique": "economy", "process_rule": PARAGRAPHS}))
    form.add_field("file", HANDBOOK.encode(), filename="handbook.txt", content_type="text/plain")
    resp = await client.post(f"{DATASETS}/{dataset}/document/create-by-file", data=form, headers=h(session))
    assert resp.status == 200, await resp.text()
    made = await resp.json()
    await indexed(client, session, dataset, made["batch"])
    found = await retrieve(client, session, dataset, query="canteen at noon")
    assert [(r["segment"]["content"][:5], r["score"]) for r in found["records"]] == [("Lunch", 1.0), ("The o", 0.2386)]
    assert found["records"][0]["segment"]["document"]["name"] == "handbook.txt"
    keyword = {**RM, "search_method": "keyword_search"}
    found = await retrieve(client, session, dataset, query="office at noon", retrieval_model=keyword)
    assert [(r["segment"]["content"][:5], r["score"]) for r in found["records"]] == [("Lunch", 0.0), ("The o", 0.0)]


async def test_a_parent_child_document_made_by_text_answers_with_its_child_chunks(client: Any) -> None:
    session = "accept-pc"
    dataset = await make_dataset(client, session)
    rule = {
        "mode": "hierarchical",
        "rules": {
            "pre_processing_rules": [],
            "segmentation": {"separator": "\n\n", "max_tokens": 500},
            "parent_mode": "paragraph",
            "subchunk_segmentation": {"separator": "; ", "max_tokens": 100},
        },
    }
    body = {
        "name": "hier",
        "text": HANDBOOK,
        "indexing_technique": "high_quality",
        "doc_form": "hierarchical_model",
        "process_rule": rule,
    }
    resp = await client.post(f"{DATASETS}/{dataset}/document/create-by-text", json=body, headers=h(session))
    assert resp.status == 200, await resp.text()
    await indexed(client, session, dataset, (await resp.json())["batch"])
    found = await retrieve(client, session, dataset, query="kitchen stays open")
    record, other = found["records"]  # "open-source" shares the word "open"
    assert record["segment"]["content"].startswith("Lunch") and record["score"] == 1.0
    assert [(c["content"], c["position"], c["score"]) for c in record["child_chunks"]] == [
        ("the office kitchen stays open.", 2, 1.0)
    ]
    assert other["segment"]["content"].startswith("Dify") and 0.0 < other["score"] < 1.0


async def test_metadata_set_on_api_documents_filters_the_search(client: Any) -> None:
    session = "accept-meta"
    dataset = await make_dataset(client, session)
    batches, ids = [], []
    for name, text in (("en", "Opening hours: nine to six."), ("de", "Opening hours: neun bis sechs.")):
        body = {"name": name, "text": text, "indexing_technique": "economy"}
        resp = await client.post(f"{DATASETS}/{dataset}/document/create-by-text", json=body, headers=h(session))
        made = await resp.json()
        batches.append(made["batch"])
        ids.append(made["document"]["id"])
    for batch in batches:
        await indexed(client, session, dataset, batch)
    resp = await client.post(
        f"{DATASETS}/{dataset}/metadata", json={"name": "lang", "type": "string"}, headers=h(session)
    )
    field = (await resp.json())["id"]
    operations = [
        {"document_id": doc, "metadata_list": [{"id": field, "name": "lang", "value": lang}]}
        for doc, lang in zip(ids, ("en", "de"), strict=True)
    ]
    resp = await client.post(
        f"{DATASETS}/{dataset}/documents/metadata", json={"operation_data": operations}, headers=h(session)
    )
    assert resp.status == 200, await resp.text()
    assert len((await retrieve(client, session, dataset, query="opening hours"))["records"]) == 2
    model = filtered("and", ("lang", "is", "de"))
    found = await retrieve(client, session, dataset, query="opening hours", retrieval_model=model)
    assert contents(found) == ["Opening hours: neun bis sechs."]
    assert found["records"][0]["segment"]["document"]["doc_metadata"] == {"lang": "de"}


async def test_a_segment_is_also_found_by_the_summary_an_update_gave_it(client: Any) -> None:
    """1.14+ index a summary given to a high_quality segment: its hit shows the summary and its score
    goes first (research/knowledge_retrieval_pipeline.md §2.3, format_retrieval_documents)."""
    session = "accept-summary"
    dataset = await make_dataset(client, session)
    body = {"name": "handbook", "text": HANDBOOK, "indexing_technique": "high_quality", "process_rule": PARAGRAPHS}
    resp = await client.post(f"{DATASETS}/{dataset}/document/create-by-text", json=body, headers=h(session))
    made = await resp.json()
    await indexed(client, session, dataset, made["batch"])
    doc = made["document"]["id"]
    segments = await (await client.get(f"{DATASETS}/{dataset}/documents/{doc}/segments", headers=h(session))).json()
    first = segments["data"][0]
    update = {"segment": {"content": first["content"], "summary": "What Dify is: an open-source LLM platform."}}
    resp = await client.post(
        f"{DATASETS}/{dataset}/documents/{doc}/segments/{first['id']}", json=update, headers=h(session)
    )
    assert resp.status == 200, await resp.text()
    found = await retrieve(client, session, dataset, query="what dify is")
    record, *others = found["records"]
    assert record["segment"]["id"] == first["id"]
    assert (record["summary"], record["score"]) == ("What Dify is: an open-source LLM platform.", 1.0)
    assert all(r["summary"] is None and r["score"] < 1.0 for r in others)  # "is" alone
    plain = await retrieve(client, session, dataset, query="canteen")
    assert [r["summary"] for r in plain["records"]] == [None]
    # a segment the segments API disables is no longer searched, by its content or its summary
    assert len((await retrieve(client, session, dataset, query="dify"))["records"]) == 1
    off = {"segment": {"content": first["content"], "enabled": False}}
    resp = await client.post(
        f"{DATASETS}/{dataset}/documents/{doc}/segments/{first['id']}", json=off, headers=h(session)
    )
    assert resp.status == 200, await resp.text()
    assert len((await retrieve(client, session, dataset, query="dify is"))["records"]) == 1  # Lunch "is" only
    assert (await retrieve(client, session, dataset, query="dify"))["records"] == []
