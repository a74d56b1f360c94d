"""Knowledge API test helpers: a dataset and its documents made through the API, indexed by moving
the mock clock (a document is one indexing stage further per second of mock time)."""

from __future__ import annotations

from typing import Any

from dify_facts import auth

DATASETS = "/v1/datasets"
# A rule whose hierarchical documents have paragraph parents (one per blank-line block) and a child
# per line: parents keep their child chunks on the wire.
PARAGRAPHS = {
    "mode": "hierarchical",
    "rules": {
        "pre_processing_rules": [],
        "segmentation": {"separator": "\\n\\n", "max_tokens": 500},
        "parent_mode": "paragraph",
        "subchunk_segmentation": {"separator": "\\n", "max_tokens": 50},
    },
}


def kh(session: str) -> dict[str, str]:
    """The knowledge key's headers in the test's own tenant."""
    return auth("dataset-demo", **{"X-Mock-Session": session})


async def advance(client: Any, session: str, seconds: int) -> None:
    resp = await client.post("/_mock/clock", json={"tenant": f"s:{session}", "advance": seconds})
    assert resp.status == 200, await resp.text()


async def new_dataset(client: Any, session: str, name: str = "Docs", **fields: Any) -> dict[str, Any]:
    resp = await client.post(
        DATASETS, json={"name": name, "indexing_technique": "economy", **fields}, headers=kh(session)
    )
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def new_document(
    client: Any, session: str, dataset_id: str, text: str = "Indexed text.", indexed: bool = True, **fields: Any
) -> dict[str, Any]:
    """A document made by create-by-text, and (unless `indexed` is false) indexed to completion."""
    if "indexing_technique" not in fields:  # KnowledgeConfig requires it: the dataset's own
        dataset = await (await client.get(f"{DATASETS}/{dataset_id}", headers=kh(session))).json()
        fields["indexing_technique"] = dataset["indexing_technique"]
    body = {"name": fields.pop("name", f"doc-{len(text)}-{text[:8]}"), "text": text, **fields}
    resp = await client.post(f"{DATASETS}/{dataset_id}/document/create-by-text", json=body, headers=kh(session))
    assert resp.status == 200, await resp.text()
    document = dict((await resp.json())["document"])
    if indexed:
        await advance(client, session, 10)
    return document
