"""Helpers of the Knowledge API retrieval tests: a dataset, documents and segments placed straight into
the tenant's store (to set what the Service API cannot: a disabled segment, an archived document, child
chunks, metadata values), the retrieve call, and a batch polled until indexed."""

from __future__ import annotations

from typing import Any

from dify_facts import auth

from mockserver.keys import TENANTS
from mockserver.state.knowledge import ChildChunk, Document, Indexing, Segment

DATASETS = "/v1/datasets"
RM = {"search_method": "semantic_search", "reranking_enable": False, "top_k": 10, "score_threshold_enabled": False}


def h(session: str, key: str = "dataset-demo") -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session})


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


def filtered(logical: str | None, *conditions: tuple[str, str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = {
        "conditions": [{"name": n, "comparison_operator": o, "value": v} for n, o, v in conditions]
    }
    if logical != "default":
        block["logical_operator"] = logical
    return {**RM, "metadata_filtering_conditions": block}


async def indexed(client: Any, session: str, dataset: str, batch: str) -> None:
    """Polls the batch's indexing status until its documents are completed, as a client does."""
    for _ in range(10):
        resp = await client.get(f"{DATASETS}/{dataset}/documents/{batch}/indexing-status", headers=h(session))
        assert resp.status == 200, await resp.text()
        if all(item["indexing_status"] == "completed" for item in (await resp.json())["data"]):
            return
    raise AssertionError("the document never completed")
