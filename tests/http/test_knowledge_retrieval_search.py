"""What a Knowledge API retrieval finds (research/knowledge_retrieval_pipeline.md §2.3, §2.5): the lexical
ranking (mockserver/dify/lexical.py), top_k and thresholds, which segments count, keyword search, child
chunks, and metadata filters, over documents placed straight into the store (knowledge_search.seed)."""

from __future__ import annotations

from typing import Any

import pytest
from knowledge_search import (
    DATASETS,
    RM,
    contents,
    filtered,
    h,
    make_dataset,
    retrieve,
    seed,
    segments_of,
)

from mockserver.state.knowledge import Indexing

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


# --- metadata filters -----------------------------------------------------------------------------------


async def metadata_set(client: Any, session: str) -> str:
    dataset = await make_dataset(client, session)
    seed(client, session, dataset, 1, ["guide for 2023"], metadata={"year": 2023, "lang": "en", "team": "core"})
    seed(client, session, dataset, 2, ["guide for 2021"], metadata={"year": "2021", "lang": "de"})
    seed(client, session, dataset, 3, ["guide without metadata"])
    return dataset


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
