"""Knowledge API retrieval: POST /v1/datasets/{id}/retrieve and /hit-testing as Dify 1.12.0, 1.14.2 and
1.16.1 answer them (research/knowledge_retrieval_pipeline.md §2, §4), over segments the mock stores,
ranked by its lexical score (mockserver/dify/lexical.py).

Most tests place documents and segments straight into the tenant's store (`seed`), to control what
the Service API cannot set (a disabled segment, an archived document, child chunks, metadata values);
the acceptance tests at the end make them through the API."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID, auth

from mockserver.keys import TENANTS
from mockserver.state.knowledge import ChildChunk, Document, Indexing, Segment

DATASETS = "/v1/datasets"
SEGMENT_KEYS = [
    "id", "position", "document_id", "content", "sign_content", "answer", "word_count", "tokens", "keywords",
    "index_node_id", "index_node_hash", "hit_count", "enabled", "disabled_at", "disabled_by", "status",
    "created_by", "created_at", "indexing_at", "completed_at", "error", "stopped_at", "document",
]  # fmt: skip
RECORD_KEYS = ["segment", "child_chunks", "score", "tsne_position", "files", "summary"]
RM = {"search_method": "semantic_search", "reranking_enable": False, "top_k": 10, "score_threshold_enabled": False}
PYDANTIC_URL = "    For further information visit https://errors.pydantic.dev/{}/v/{}"


def h(session: str, key: str = "dataset-demo") -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session})


def pyd(model: str, version: str, *errors: tuple[str, str, str]) -> str:
    """pydantic's text: (location, message and bracket, type) per error."""
    count = len(errors)
    lines = [f"{count} validation error{'s' if count != 1 else ''} for {model}"]
    for loc, text, kind in errors:
        lines += [loc] if loc else []  # the model's own error has no location line
        lines += [f"  {text}", PYDANTIC_URL.format(version, kind)]
    return "\n".join(lines)


async def make_dataset(client: Any, session: str, **fields: Any) -> str:
    resp = await client.post(DATASETS, json={"name": f"set {session}", **fields}, headers=h(session))
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["id"])


def seed(
    client: Any,
    session: str,
    dataset_id: str,
    position: int,
    chunks: list[str],
    *,
    metadata: dict[str, Any] | None = None,
    doc_form: str = "text_model",
    **document: Any,
) -> Document:
    """A document already indexed, with one segment per chunk (a chunk "parent|child|child" of a
    hierarchical_model document gets child chunks)."""
    state = client.app[TENANTS].get(f"s:{session}").state
    doc_id = f"d0c00000-0000-4000-8000-{dataset_id[-6:]}{position:06d}"
    made = Document(
        id=doc_id,
        dataset_id=dataset_id,
        position=position,
        name=f"doc{position}.txt",
        batch="b",
        created_by="owner",
        created_at=document.pop("created_at", 0),
        text="\n".join(chunks),
        doc_form=doc_form,
        indexing=document.pop("indexing", Indexing(polls=9)),
        doc_metadata=metadata or {},
        **document,
    )
    state.documents.add(made)
    for i, chunk in enumerate(chunks, start=1):
        parent, *children = chunk.split("|")
        seg_id = f"5e600000-{position:04d}-4000-8000-{dataset_id[-6:]}{i:06d}"
        segment = Segment(
            id=seg_id,
            dataset_id=dataset_id,
            document_id=doc_id,
            position=i,
            content=parent,
            word_count=len(parent),
            tokens=0,
            index_node_id=f"node-{position}-{i}",
            index_node_hash=f"hash-{position}-{i}",
            created_by="owner",
            created_at=100,
            indexing_at=100,
            completed_at=100,
        )
        segment.child_chunks = [
            ChildChunk(
                f"c4110000-{position:04d}-4{i:03d}-8000-{j:012d}", dataset_id, doc_id, seg_id, j, c, len(c), 1, 1
            )
            for j, c in enumerate(children, start=1)
        ]
        state.add_segment(segment)
    return made


def segments_of(client: Any, session: str, document: Document) -> list[Segment]:
    return list(client.app[TENANTS].get(f"s:{session}").state.segments_of(document.id))


async def retrieve(client: Any, session: str, dataset_id: str, alias: str = "retrieve", **body: Any) -> Any:
    resp = await client.post(f"{DATASETS}/{dataset_id}/{alias}", json=body, headers=h(session))
    assert resp.status == 200, await resp.text()
    return await resp.json()


def contents(found: Any) -> list[str]:
    return [r["segment"]["content"] for r in found["records"]]


# --- the route and its checks --------------------------------------------------------------------------


async def test_keys_ids_and_methods(client: Any, expect_error: Any) -> None:
    dataset = await make_dataset(client, "route")
    url = f"{DATASETS}/{dataset}/retrieve"
    resp = await client.post(url, json={"query": "q"}, headers=h("route", "app-chat"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")
    for alias in ("retrieve", "hit-testing"):
        resp = await client.post(f"{DATASETS}/{UNKNOWN_UUID}/{alias}", json={"query": "q"}, headers=h("route"))
        await expect_error(resp, 404, "not_found", "Dataset not found.")
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


# --- what it finds --------------------------------------------------------------------------------------


async def test_the_exact_phrase_ranks_first_then_word_overlap_ties_by_position(client: Any) -> None:
    dataset = await make_dataset(client, "rank")
    seed(client, "rank", dataset, 1, ["the database of vectors", "cooking pasta", "a vector database, twice"])
    seed(client, "rank", dataset, 2, ["Vector Database!", "database vector database"])
    found = await retrieve(client, "rank", dataset, query="vector database")
    assert contents(found) == [
        "a vector database, twice",  # 1.0: the phrase (document 1 before document 2)
        "Vector Database!",  # 1.0, case and punctuation aside
        "database vector database",  # 1.0: the phrase inside
        "the database of vectors",  # one of the two words
    ]
    scores = [r["score"] for r in found["records"]]
    assert scores[:3] == [1.0, 1.0, 1.0] and 0.0 < scores[3] < 0.9
    assert all(isinstance(s, float) for s in scores)


async def test_default_top_k_is_4_and_the_request_or_dataset_model_wins(client: Any) -> None:
    dataset = await make_dataset(client, "topk")
    seed(client, "topk", dataset, 1, [f"word {i}" for i in range(6)])
    assert len((await retrieve(client, "topk", dataset, query="word"))["records"]) == 4
    found = await retrieve(client, "topk", dataset, query="word", retrieval_model={**RM, "top_k": 2})
    assert contents(found) == ["word 0", "word 1"]
    stored = await make_dataset(client, "topk", name="stored", retrieval_model={**RM, "top_k": 1})
    seed(client, "topk", stored, 1, ["word a", "word b"])
    assert contents(await retrieve(client, "topk", stored, query="word")) == ["word a"]


async def test_score_threshold_applies_only_when_enabled(client: Any) -> None:
    dataset = await make_dataset(client, "threshold")
    seed(client, "threshold", dataset, 1, ["red green blue", "red", "yellow"])
    model = {**RM, "score_threshold": 0.5}
    assert contents(await retrieve(client, "threshold", dataset, query="red green blue", retrieval_model=model)) == [
        "red green blue",
        "red",
    ]
    model["score_threshold_enabled"] = True
    found = await retrieve(client, "threshold", dataset, query="red green blue", retrieval_model=model)
    assert contents(found) == ["red green blue"]


async def test_only_enabled_segments_of_usable_documents_are_searched(client: Any) -> None:
    dataset = await make_dataset(client, "usable")
    live = seed(client, "usable", dataset, 1, ["needle one", "needle off"])
    segments_of(client, "usable", live)[1].enabled = False
    seed(client, "usable", dataset, 2, ["needle disabled doc"], enabled=False)
    seed(client, "usable", dataset, 3, ["needle archived doc"], archived=True)
    seed(client, "usable", dataset, 4, ["needle still indexing"], created_at=10**12, indexing=Indexing())
    seed(client, "usable", dataset, 5, ["needle failed"], indexing=Indexing(outcome="error", at="splitting"))
    assert contents(await retrieve(client, "usable", dataset, query="needle")) == ["needle one"]


@pytest.mark.parametrize("method", ["semantic_search", "full_text_search", "hybrid_search"])
async def test_every_vector_method_ranks_by_the_lexical_score(client: Any, method: str) -> None:
    dataset = await make_dataset(client, f"m-{method}")
    seed(client, f"m-{method}", dataset, 1, ["other words", "exact phrase here"])
    found = await retrieve(
        client, f"m-{method}", dataset, query="exact phrase", retrieval_model={**RM, "search_method": method}
    )
    assert [(r["segment"]["content"], r["score"]) for r in found["records"]] == [("exact phrase here", 1.0)]


async def test_keyword_search_scores_zero_and_needs_a_keyword_table(client: Any) -> None:
    model = {**RM, "search_method": "keyword_search", "score_threshold_enabled": True, "score_threshold": 0.9}
    economy = await make_dataset(client, "kw", indexing_technique="economy")
    doc = seed(client, "kw", economy, 1, ["apple", "apple banana", "cherry"])
    segments_of(client, "kw", doc)[2].keywords = ["banana", "apple"]  # a chunk's own keywords win over its text
    found = await retrieve(client, "kw", economy, query="apple banana", retrieval_model=model)
    assert contents(found) == ["apple banana", "cherry", "apple"]  # by matched words, then position
    assert [r["score"] for r in found["records"]] == [0.0, 0.0, 0.0]  # and no threshold
    quality = await make_dataset(client, "kw", name="hq", indexing_technique="high_quality")
    seed(client, "kw", quality, 1, ["apple"])
    assert (await retrieve(client, "kw", quality, query="apple", retrieval_model=model))["records"] == []


async def test_a_parent_child_document_is_found_through_its_child_chunks(client: Any) -> None:
    dataset = await make_dataset(client, "pc")
    seed(
        client,
        "pc",
        dataset,
        1,
        ["Parent one.|alpha beta|gamma|beta gamma alpha", "Parent two.|delta|alpha beta"],
        doc_form="hierarchical_model",
    )
    found = await retrieve(client, "pc", dataset, query="alpha beta", retrieval_model={**RM, "top_k": 3})
    assert contents(found) == ["Parent one.", "Parent two."]
    first, second = found["records"]
    assert [(c["content"], c["position"], c["score"]) for c in first["child_chunks"]] == [
        ("alpha beta", 1, 1.0),
        ("beta gamma alpha", 3, 0.825),  # every word, not as the phrase
    ]
    assert list(first["child_chunks"][0]) == ["id", "content", "position", "score"]
    assert first["score"] == 1.0 and second["score"] == 1.0  # its best child's; top_k counted children
    assert [c["content"] for c in second["child_chunks"]] == ["alpha beta"]


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


# --- metadata filters -----------------------------------------------------------------------------------


async def metadata_set(client: Any, session: str) -> str:
    dataset = await make_dataset(client, session)
    seed(client, session, dataset, 1, ["guide for 2023"], metadata={"year": 2023, "lang": "en", "team": "core"})
    seed(client, session, dataset, 2, ["guide for 2021"], metadata={"year": "2021", "lang": "de"})
    seed(client, session, dataset, 3, ["guide without metadata"])
    return dataset


def filtered(logical: str | None, *conditions: tuple[str, str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = {
        "conditions": [{"name": n, "comparison_operator": o, "value": v} for n, o, v in conditions]
    }
    if logical != "default":
        block["logical_operator"] = logical
    return {**RM, "metadata_filtering_conditions": block}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (filtered("default", ("lang", "is", "en")), ["guide for 2023"]),
        (filtered("and", ("year", ">", 2022), ("lang", "is", "de")), []),
        (filtered("or", ("year", ">", 2022), ("lang", "is", "de")), ["guide for 2023", "guide for 2021"]),
        # 1.13+ drop the null, and the service's model fills in its default "and" (1.12: or, below)
        (filtered(None, ("team", "empty", None), ("lang", "in", "en")), []),
        (filtered("and", ("lang", "not in", ["en"])), ["guide for 2021"]),  # no key fails `not in`
        (filtered("and", ("year", "before", "2022")), ["guide for 2021"]),
        (filtered("and", ("lang", "contains", None)), ["guide for 2023", "guide for 2021", "guide without metadata"]),
        (filtered("and"), ["guide for 2023", "guide for 2021", "guide without metadata"]),
    ],
)  # fmt: skip
async def test_metadata_conditions_narrow_the_documents(client: Any, model: Any, expected: list[str]) -> None:
    dataset = await metadata_set(client, "meta")
    found = await retrieve(client, "meta", dataset, query="guide", retrieval_model=model)
    assert sorted(contents(found)) == sorted(expected)


async def test_metadata_failures_are_difys_500s(make_client: Any, expect_error: Any) -> None:
    client = await make_client()
    dataset = await metadata_set(client, "meta500")
    url = f"{DATASETS}/{dataset}/retrieve"
    for block in ({}, {"logical_operator": "or"}, {"conditions": None}):
        body = {"query": "guide", "retrieval_model": {**RM, "metadata_filtering_conditions": block}}
        resp = await client.post(url, json=body, headers=h("meta500"))
        await expect_error(resp, 500, "internal_server_error", "'NoneType' object is not iterable")
    # both fields null: nothing left once Dify drops the nulls, so no filter at all
    body = {"query": "guide", "retrieval_model": {**RM, "metadata_filtering_conditions": {"logical_operator": None}}}
    assert len(contents(await retrieve(client, "meta500", dataset, **body))) == 3
    # and none without a query (attachments only)
    body = {"query": "", "attachment_ids": ["x"], "retrieval_model": {**RM, "metadata_filtering_conditions": {}}}
    assert (await retrieve(client, "meta500", dataset, **body))["records"] == []
    resp = await client.post(
        url, json={"query": "guide", "retrieval_model": filtered("and", ("lang", "<", "soon"))}, headers=h("meta500")
    )
    await expect_error(
        resp,
        500,
        "internal_server_error",
        '(psycopg2.errors.InvalidTextRepresentation) invalid input syntax for type double precision: "soon"',
    )


async def test_1_12_skips_an_empty_metadata_block_and_reads_a_null_operator_as_or(make_client: Any) -> None:
    client = await make_client(dify_version="1.12")
    dataset = await metadata_set(client, "meta12")
    body = {"query": "guide", "retrieval_model": {**RM, "metadata_filtering_conditions": {}}}
    assert len(contents(await retrieve(client, "meta12", dataset, **body))) == 3
    model = filtered(None, ("team", "empty", None), ("lang", "in", "en"))
    assert len(contents(await retrieve(client, "meta12", dataset, query="guide", retrieval_model=model))) == 3


async def test_values_set_through_the_metadata_routes_filter_the_search(client: Any) -> None:
    """POST .../metadata makes the fields, POST .../documents/metadata sets a document's values (under
    the field's name), and the retrieval's conditions read them."""
    session = "meta-api"
    dataset = await make_dataset(client, session)
    docs = [seed(client, session, dataset, i, [f"release notes {i}"]) for i in (1, 2, 3)]
    fields = {}
    for name, kind in (("product", "string"), ("version", "number")):
        resp = await client.post(
            f"{DATASETS}/{dataset}/metadata", json={"name": name, "type": kind}, headers=h(session)
        )
        assert resp.status == 201, await resp.text()
        fields[name] = (await resp.json())["id"]
    values = [("dify", 1.14), ("dify", 1.16), ("other", 2)]
    operations = [
        {
            "document_id": doc.id,
            "metadata_list": [
                {"id": fields["product"], "name": "product", "value": product},
                {"id": fields["version"], "name": "version", "value": version},
            ],
        }
        for doc, (product, version) in zip(docs, values, strict=True)
    ]
    resp = await client.post(
        f"{DATASETS}/{dataset}/documents/metadata", json={"operation_data": operations}, headers=h(session)
    )
    assert resp.status == 200, await resp.text()
    model = filtered("and", ("product", "is", "dify"), ("version", "≥", 1.15))
    found = await retrieve(client, session, dataset, query="release notes", retrieval_model=model)
    assert contents(found) == ["release notes 2"]
    assert found["records"][0]["segment"]["document"]["doc_metadata"] == {"product": "dify", "version": 1.16}
    model = filtered("or", ("product", "start with", "oth"), ("version", "<", 1.15))
    found = await retrieve(client, session, dataset, query="release notes", retrieval_model=model)
    assert contents(found) == ["release notes 1", "release notes 3"]
