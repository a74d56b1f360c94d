"""Knowledge API child chunks with a knowledge key: add, list, update, delete, as Dify 1.12.0, 1.14.2 and
1.16.1 answer them (research/knowledge_segments_metadata.md §2.2, §3.4, §5)."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import UNKNOWN_UUID, auth, is_int, is_uuid4
from knowledge_chunks import DATASETS, PARAGRAPHS, advance, kh, new_dataset, new_document

CHILD_KEYS = ["id", "segment_id", "content", "position", "word_count", "type", "created_at", "updated_at"]
LIST_KEYS = ["data", "total", "total_pages", "page", "limit"]


def pydantic(model: str, loc: str, message: str, kind: str, given: str, version: str = "2.12") -> str:
    return (
        f"1 validation error for {model}\n{loc}\n  {message} [type={kind}, {given}]\n"
        f"    For further information visit https://errors.pydantic.dev/{version}/v/{kind}"
    )


async def setup(client: Any, session: str, text: str = "Parent one.\nSecond line.") -> tuple[dict[str, Any], str]:
    """A high_quality dataset, and the URL of the first segment of an indexed hierarchical document
    (paragraph parents, a child chunk per line)."""
    made = await new_dataset(client, session, name="HQ", indexing_technique="high_quality")
    document = await new_document(
        client, session, made["id"], text, doc_form="hierarchical_model", process_rule=PARAGRAPHS
    )
    segments = f"{DATASETS}/{made['id']}/documents/{document['id']}/segments"
    first = (await (await client.get(segments, headers=kh(session))).json())["data"][0]
    return made, f"{segments}/{first['id']}"


async def add(client: Any, url: str, session: str, content: str) -> dict[str, Any]:
    resp = await client.post(f"{url}/child_chunks", json={"content": content}, headers=kh(session))
    assert resp.status == 200, await resp.text()
    return dict((await resp.json())["data"])


async def test_add_a_child_chunk_after_the_indexed_ones(client: Any) -> None:
    made, url = await setup(client, "cadd")
    segment = (await (await client.get(url, headers=kh("cadd"))).json())["data"]
    assert [(c["position"], c["type"]) for c in segment["child_chunks"]] == [(1, "automatic"), (2, "automatic")]
    resp = await client.post(f"{url}/child_chunks", json={"content": "A third one."}, headers=kh("cadd"))
    assert resp.status == 200
    body = await resp.json()
    assert list(body) == ["data"] and list(body["data"]) == CHILD_KEYS
    child = body["data"]
    assert is_uuid4(child["id"]) and child["segment_id"] == segment["id"]
    assert (child["content"], child["position"], child["word_count"], child["type"]) == (
        "A third one.",
        3,
        12,
        "customized",
    )
    assert is_int(child["created_at"]) and child["created_at"] == child["updated_at"]
    after = (await (await client.get(url, headers=kh("cadd"))).json())["data"]
    assert after["child_chunks"][-1] == child
    assert after["word_count"] == segment["word_count"]  # no word count moves
    detail = await (await client.get(f"{DATASETS}/{made['id']}", headers=kh("cadd"))).json()
    assert detail["word_count"] == segment["word_count"]


async def test_the_body_is_checked_after_the_lookups(client: Any, expect_error: Any) -> None:
    _, url = await setup(client, "cbody")
    segments = url.rsplit("/", 1)[0]
    resp = await client.post(f"{segments}/{UNKNOWN_UUID}/child_chunks", json={}, headers=kh("cbody"))
    await expect_error(resp, 404, "not_found", "Segment not found.")
    resp = await client.post(f"{url}/child_chunks", json={}, headers=kh("cbody"))
    text = pydantic(
        "ChildChunkCreatePayload", "content", "Field required", "missing", "input_value={}, input_type=dict"
    )
    await expect_error(resp, 400, "invalid_param", text)
    resp = await client.post(f"{url}/child_chunks", json={"content": 1}, headers=kh("cbody"))
    text = pydantic(
        "ChildChunkCreatePayload",
        "content",
        "Input should be a valid string",
        "string_type",
        "input_value=1, input_type=int",
    )
    await expect_error(resp, 400, "invalid_param", text)
    empty = await add(client, url, "cbody", "")  # no minimum length
    assert (empty["content"], empty["word_count"]) == ("", 0)


async def test_the_list_pages_with_total_pages_and_a_capped_limit(client: Any) -> None:
    _, url = await setup(client, "clist")
    for n in range(3, 6):
        await add(client, url, "clist", f"Extra {n}")
    body = await (await client.get(f"{url}/child_chunks", params={"limit": 2, "page": 2}, headers=kh("clist"))).json()
    assert list(body) == LIST_KEYS
    assert [c["position"] for c in body["data"]] == [3, 4]
    assert (body["total"], body["total_pages"], body["page"], body["limit"]) == (5, 3, 2, 2)
    big = await (await client.get(f"{url}/child_chunks", params={"limit": 500}, headers=kh("clist"))).json()
    assert (len(big["data"]), big["limit"], big["total_pages"]) == (5, 100, 1)  # echoed capped
    found = await (await client.get(f"{url}/child_chunks", params={"keyword": "EXTRA"}, headers=kh("clist"))).json()
    assert [c["content"] for c in found["data"]] == ["Extra 3", "Extra 4", "Extra 5"] and found["total_pages"] == 1
    malformed = await (await client.get(f"{url}/child_chunks", params={"limit": "x"}, headers=kh("clist"))).json()
    assert (malformed["limit"], malformed["page"], malformed["total_pages"]) == (20, 1, 1)
    none = await (await client.get(f"{url}/child_chunks", params={"keyword": "zzz"}, headers=kh("clist"))).json()
    assert (none["data"], none["total"], none["total_pages"]) == ([], 0, 0)


@pytest.mark.parametrize(
    ("version", "given", "pydantic_version"),
    [
        ("1.12", "input_value=0, input_type=int", "2.11"),
        ("1.14", "input_value=0, input_type=int", "2.12"),
        ("1.16", "input_value='0', input_type=str", "2.12"),
    ],
)
async def test_a_limit_below_1_is_a_400_after_the_segment_lookup(
    make_client: Any, expect_error: Any, version: str, given: str, pydantic_version: str
) -> None:
    client = await make_client(dify_version=version)
    _, url = await setup(client, "czero")
    segments = url.rsplit("/", 1)[0]
    resp = await client.get(f"{segments}/{UNKNOWN_UUID}/child_chunks", params={"limit": 0}, headers=kh("czero"))
    await expect_error(resp, 404, "not_found", "Segment not found.")
    resp = await client.get(f"{url}/child_chunks", params={"limit": 0}, headers=kh("czero"))
    text = pydantic(
        "ChildChunkListQuery",
        "limit",
        "Input should be greater than or equal to 1",
        "greater_than_equal",
        given,
        pydantic_version,
    )
    await expect_error(resp, 400, "invalid_param", text)


async def test_update_makes_it_customized(client: Any, expect_error: Any) -> None:
    _, url = await setup(client, "cupd")
    first = (await (await client.get(f"{url}/child_chunks", headers=kh("cupd"))).json())["data"][0]
    await advance(client, "cupd", 5)
    resp = await client.patch(f"{url}/child_chunks/{first['id']}", json={"content": "Edited."}, headers=kh("cupd"))
    assert resp.status == 200
    body = await resp.json()
    assert list(body) == ["data"]
    edited = body["data"]
    assert (edited["content"], edited["word_count"], edited["type"], edited["position"]) == (
        "Edited.",
        7,
        "customized",
        1,
    )
    assert edited["updated_at"] > first["updated_at"] and edited["created_at"] == first["created_at"]
    listed = (await (await client.get(f"{url}/child_chunks", headers=kh("cupd"))).json())["data"][0]
    assert listed == edited
    resp = await client.patch(f"{url}/child_chunks/{first['id']}", json={}, headers=kh("cupd"))
    text = pydantic(
        "ChildChunkUpdatePayload", "content", "Field required", "missing", "input_value={}, input_type=dict"
    )
    await expect_error(resp, 400, "invalid_param", text)
    resp = await client.patch(f"{url}/child_chunks/{UNKNOWN_UUID}", json={}, headers=kh("cupd"))
    await expect_error(resp, 404, "not_found", "Child chunk not found.")
    resp = await client.patch(f"{url}/child_chunks/{first['id']}", json={"content": "x"}, headers=auth("app-chat"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")


async def test_a_chunk_of_another_segment_is_not_found(client: Any, expect_error: Any) -> None:
    _, url = await setup(client, "cother", "First parent.\n\nSecond parent.")
    segments = url.rsplit("/", 1)[0]
    first, second = (await (await client.get(segments, headers=kh("cother"))).json())["data"]
    chunk = first["child_chunks"][0]
    wrong = f"{segments}/{second['id']}/child_chunks/{chunk['id']}"
    await expect_error(
        await client.patch(wrong, json={"content": "x"}, headers=kh("cother")),
        404,
        "not_found",
        "Child chunk not found.",
    )
    await expect_error(await client.delete(wrong, headers=kh("cother")), 404, "not_found", "Child chunk not found.")


async def test_delete_then_gone(client: Any, expect_error: Any) -> None:
    _, url = await setup(client, "cdel")
    first = (await (await client.get(f"{url}/child_chunks", headers=kh("cdel"))).json())["data"][0]
    resp = await client.delete(f"{url}/child_chunks/{first['id']}", headers=kh("cdel"))
    assert (resp.status, await resp.read()) == (204, b"")
    listed = await (await client.get(f"{url}/child_chunks", headers=kh("cdel"))).json()
    assert [c["content"] for c in listed["data"]] == ["Second line."] and listed["total"] == 1
    resp = await client.delete(f"{url}/child_chunks/{first['id']}", headers=kh("cdel"))
    await expect_error(resp, 404, "not_found", "Child chunk not found.")


async def test_1_12_deletes_answer_200_with_the_body_204(make_client: Any) -> None:
    client = await make_client(dify_version="1.12")
    _, url = await setup(client, "cdel12")
    first = (await (await client.get(f"{url}/child_chunks", headers=kh("cdel12"))).json())["data"][0]
    resp = await client.delete(f"{url}/child_chunks/{first['id']}", headers=kh("cdel12"))
    assert (resp.status, await resp.read()) == (200, b"204\n")


async def test_deleting_a_segment_takes_its_child_chunks(client: Any, expect_error: Any) -> None:
    _, url = await setup(client, "cseg")
    first = (await (await client.get(f"{url}/child_chunks", headers=kh("cseg"))).json())["data"][0]
    assert (await client.delete(url, headers=kh("cseg"))).status == 204
    resp = await client.delete(f"{url}/child_chunks/{first['id']}", headers=kh("cseg"))
    await expect_error(resp, 404, "not_found", "Segment not found.")


@pytest.mark.parametrize("version", ["1.14", "1.16"])
async def test_another_documents_segment(make_client: Any, expect_error: Any, version: str) -> None:
    """Before 1.16 create and list find the segment in the whole workspace, PATCH refuses it as
    'Segment not found.' and DELETE as 'Document not found.'; 1.16 refuses all four alike."""
    client = await make_client(dify_version=version)
    made, url = await setup(client, "ccross")
    chunk = (await (await client.get(f"{url}/child_chunks", headers=kh("ccross"))).json())["data"][0]
    other = await new_document(
        client, "ccross", made["id"], "Other document.", doc_form="hierarchical_model", process_rule=PARAGRAPHS
    )
    elsewhere = f"{DATASETS}/{made['id']}/documents/{other['id']}/segments/{url.rsplit('/', 1)[1]}"
    create = await client.post(
        f"{elsewhere}/child_chunks", json={"content": "Through another URL"}, headers=kh("ccross")
    )
    listed = await client.get(f"{elsewhere}/child_chunks", headers=kh("ccross"))
    patch = await client.patch(f"{elsewhere}/child_chunks/{chunk['id']}", json={"content": "x"}, headers=kh("ccross"))
    delete = await client.delete(f"{elsewhere}/child_chunks/{chunk['id']}", headers=kh("ccross"))
    if version == "1.16":
        for resp in (create, listed, patch, delete):
            await expect_error(resp, 404, "not_found", "Segment not found.")
        return
    made_there = (await create.json())["data"]
    assert made_there["position"] == 1  # positions count the URL document's chunks of the segment
    # the list filters on the URL's document: the chunk made through it, not the segment's own
    assert [c["content"] for c in (await listed.json())["data"]] == ["Through another URL"]
    await expect_error(patch, 404, "not_found", "Segment not found.")
    await expect_error(delete, 404, "not_found", "Document not found.")


async def test_child_chunks_show_on_the_segment_only_for_paragraph_parents(client: Any) -> None:
    plain = await new_dataset(client, "cshow", name="Plain", indexing_technique="high_quality")
    text_doc = await new_document(client, "cshow", plain["id"], "Plain text.")
    made = await new_dataset(client, "cshow", name="HQ", indexing_technique="high_quality")
    full = {**PARAGRAPHS, "rules": {**PARAGRAPHS["rules"], "parent_mode": "full-doc"}}
    full_doc = await new_document(
        client, "cshow", made["id"], "Whole.\nDocument.", doc_form="hierarchical_model", process_rule=full
    )
    for dataset, document, shown in ((plain, text_doc, []), (made, full_doc, [])):
        segments = f"{DATASETS}/{dataset['id']}/documents/{document['id']}/segments"
        (segment,) = (await (await client.get(segments, headers=kh("cshow"))).json())["data"]
        url = f"{segments}/{segment['id']}"
        await add(client, url, "cshow", "Listed only.")
        assert (await (await client.get(url, headers=kh("cshow"))).json())["data"]["child_chunks"] == shown
        listed = await (await client.get(f"{url}/child_chunks", headers=kh("cshow"))).json()
        assert "Listed only." in [c["content"] for c in listed["data"]]
