"""Knowledge API segments (chunks) with a knowledge key: add, list, get, update, delete, as Dify 1.12.0,
1.14.2 and 1.16.1 answer them (research/knowledge_segments_metadata.md §2, §3.1-§3.3, §5)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID, auth, is_int, is_uuid4
from knowledge_chunks import DATASETS, PARAGRAPHS, advance, kh, new_dataset, new_document

SEGMENT_KEYS = [
    "id", "position", "document_id", "content", "sign_content", "answer", "word_count", "tokens", "keywords",
    "index_node_id", "index_node_hash", "hit_count", "enabled", "disabled_at", "disabled_by", "status", "created_by",
    "created_at", "updated_at", "updated_by", "indexing_at", "completed_at", "error", "stopped_at", "child_chunks",
    "attachments", "summary",
]  # fmt: skip
LIST_KEYS = ["data", "doc_form", "total", "has_more", "limit", "page"]
S = "ksegs"


def pydantic(model: str, *errors: tuple[str, str, str, str], version: str = "2.12") -> str:
    """pydantic's text for `errors` of (location, message, type, input repr + type)."""
    count = len(errors)
    lines = [f"{count} validation error{'s' if count > 1 else ''} for {model}"]
    for loc, message, kind, given in errors:
        if loc:
            lines.append(loc)
        lines.append(f"  {message} [type={kind}, {given}]")
        lines.append(f"    For further information visit https://errors.pydantic.dev/{version}/v/{kind}")
    return "\n".join(lines)


def sha(text: str) -> str:
    return hashlib.sha256((text + "None").encode()).hexdigest()


async def setup(client: Any, session: str = S, **dataset: Any) -> tuple[dict[str, Any], str]:
    """A dataset and the segments URL of an indexed document of it (one segment: 'Indexed text.')."""
    made = await new_dataset(client, session, **dataset)
    document = await new_document(client, session, made["id"])
    return made, f"{DATASETS}/{made['id']}/documents/{document['id']}/segments"


async def add(client: Any, url: str, *contents: str, session: str = S, **item: Any) -> list[dict[str, Any]]:
    resp = await client.post(url, json={"segments": [{"content": c, **item} for c in contents]}, headers=kh(session))
    assert resp.status == 200, await resp.text()
    return list((await resp.json())["data"])


async def word_count(client: Any, dataset_id: str, session: str = S) -> int:
    return int((await (await client.get(f"{DATASETS}/{dataset_id}", headers=kh(session))).json())["word_count"])


async def test_add_segments_after_the_indexed_ones_with_difys_keys(client: Any) -> None:
    made, url = await setup(client)
    assert await word_count(client, made["id"]) == len("Indexed text.")
    resp = await client.post(
        url, json={"segments": [{"content": "Hello world", "keywords": ["k1"]}, {"content": "Two"}]}, headers=kh(S)
    )
    assert resp.status == 200
    body = await resp.json()
    assert list(body) == ["data", "doc_form"] and body["doc_form"] == "text_model"
    first, second = body["data"]
    assert list(first) == SEGMENT_KEYS
    assert (first["position"], second["position"]) == (2, 3)
    assert first["content"] == first["sign_content"] == "Hello world"
    assert (first["word_count"], first["tokens"], first["answer"]) == (11, 0, None)
    assert (first["keywords"], second["keywords"]) == (["k1"], [])
    assert (
        first["index_node_hash"]
        == sha("Hello world")
        == ("b9a0f92b21c7d87cb9ebf0710663a8f475cd03bfb68406afef143c2b4b4b6114")
    )
    assert is_uuid4(first["id"]) and is_uuid4(first["index_node_id"]) and first["id"] != first["index_node_id"]
    assert (first["status"], first["enabled"], first["hit_count"]) == ("completed", True, 0)
    assert first["created_by"] == made["created_by"] and first["updated_by"] is None
    assert is_int(first["created_at"])
    assert first["created_at"] == first["updated_at"] == first["indexing_at"] == first["completed_at"]
    assert (first["disabled_at"], first["disabled_by"], first["error"], first["stopped_at"]) == (None,) * 4
    assert (first["child_chunks"], first["attachments"], first["summary"]) == ([], [], None)
    assert first["document_id"] == url.split("/")[-2]
    assert await word_count(client, made["id"]) == len("Indexed text.") + 11 + 3


async def test_a_high_quality_dataset_counts_tokens(client: Any) -> None:
    _, url = await setup(client, "hq", name="HQ", indexing_technique="high_quality")
    (made,) = await add(client, url, "Tokens are counted for high quality datasets.", session="hq")
    assert made["tokens"] > 0


async def test_the_document_must_exist_be_indexed_and_enabled(client: Any, expect_error: Any) -> None:
    made, url = await setup(client, "kdoc")
    body = {"segments": [{"content": "x"}]}
    resp = await client.post(
        f"{DATASETS}/{made['id']}/documents/{UNKNOWN_UUID}/segments", json=body, headers=kh("kdoc")
    )
    await expect_error(resp, 404, "not_found", "Document not found.")
    waiting = await new_document(client, "kdoc", made["id"], "Not yet.", indexed=False)
    fresh = f"{DATASETS}/{made['id']}/documents/{waiting['id']}/segments"
    resp = await client.post(fresh, json=body, headers=kh("kdoc"))
    await expect_error(resp, 404, "not_found", "Document is not completed.")
    # before its indexing stage a document has no segment rows at all
    listing = await (await client.get(fresh, headers=kh("kdoc"))).json()
    assert (listing["data"], listing["total"]) == ([], 0)
    resp = await client.patch(
        f"{DATASETS}/{made['id']}/documents/status/disable",
        json={"document_ids": [url.split("/")[-2]]},
        headers=kh("kdoc"),
    )
    assert resp.status == 200, await resp.text()
    resp = await client.post(url, json=body, headers=kh("kdoc"))
    await expect_error(resp, 404, "not_found", "Document is disabled.")
    # an unknown document comes before the body
    resp = await client.post(f"{DATASETS}/{made['id']}/documents/{UNKNOWN_UUID}/segments", json={}, headers=kh("kdoc"))
    await expect_error(resp, 404, "not_found", "Document not found.")


async def test_segments_show_indexing_until_their_document_completes(client: Any) -> None:
    made = await new_dataset(client, "kidx")
    document = await new_document(client, "kidx", made["id"], "Being indexed.", indexed=False)
    url = f"{DATASETS}/{made['id']}/documents/{document['id']}/segments"
    await advance(client, "kidx", 2)  # the next request is in the indexing stage
    (row,) = (await (await client.get(url, headers=kh("kidx"))).json())["data"]
    assert (row["status"], row["enabled"], row["completed_at"]) == ("indexing", False, None)
    assert is_int(row["indexing_at"])
    await advance(client, "kidx", 5)
    (row,) = (await (await client.get(url, headers=kh("kidx"))).json())["data"]
    assert (row["status"], row["enabled"]) == ("completed", True) and row["completed_at"] >= row["indexing_at"]


NEW_MODEL = [
    (
        {},
        pydantic("SegmentCreatePayload", ("segments", "Field required", "missing", "input_value={}, input_type=dict")),
    ),
    (
        {"segments": []},
        pydantic(
            "SegmentCreatePayload",
            (
                "segments",
                "List should have at least 1 item after validation, not 0",
                "too_short",
                "input_value=[], input_type=list",
            ),
        ),
    ),
    (
        {"segments": [{}]},
        pydantic(
            "SegmentCreatePayload",
            ("segments.0.content", "Field required", "missing", "input_value={}, input_type=dict"),
        ),
    ),
    (
        {"segments": [{"content": ""}]},
        pydantic(
            "SegmentCreatePayload",
            (
                "segments.0.content",
                "String should have at least 1 character",
                "string_too_short",
                "input_value='', input_type=str",
            ),
        ),
    ),
    (
        {"segments": [{"content": "  "}]},
        pydantic(
            "SegmentCreatePayload",
            ("segments.0.content", "Value error, Content is empty", "value_error", "input_value='  ', input_type=str"),
        ),
    ),
    (
        {"segments": [{"content": "x", "keywords": "x"}]},
        pydantic(
            "SegmentCreatePayload",
            ("segments.0.keywords", "Input should be a valid list", "list_type", "input_value='x', input_type=str"),
        ),
    ),
    (
        [1],
        pydantic(
            "SegmentCreatePayload",
            (
                "",
                "Input should be a valid dictionary or instance of SegmentCreatePayload",
                "model_type",
                "input_value=[1], input_type=list",
            ),
        ),
    ),
]


@pytest.mark.parametrize(("body", "text"), NEW_MODEL)
async def test_from_1_15_every_body_error_is_the_handlers_own_error_body(client: Any, body: Any, text: str) -> None:
    _, url = await setup(client, "kbody")
    resp = await client.post(url, json=body, headers=kh("kbody"))
    assert resp.status == 400
    assert await resp.json() == {"error": text}


@pytest.mark.parametrize("version", ["1.12", "1.14"])
async def test_before_1_15_only_missing_segments_is_the_error_body(
    make_client: Any, expect_error: Any, version: str
) -> None:
    client = await make_client(dify_version=version)
    made, url = await setup(client, "kold")
    for body in (b"{}", b'{"segments": null}', b"null"):
        resp = await client.post(url, data=body, headers={**kh("kold"), "Content-Type": "application/json"})
        assert (resp.status, await resp.json()) == (400, {"error": "Segments is required"})
    accepted = await (await client.post(url, json={"segments": []}, headers=kh("kold"))).json()
    assert accepted == {"data": [], "doc_form": "text_model"}
    resp = await client.post(url, json={"segments": [1]}, headers=kh("kold"))
    pydantic_version = "2.11" if version == "1.12" else "2.12"
    text = pydantic(
        "SegmentCreatePayload",
        ("segments.0", "Input should be a valid dictionary", "dict_type", "input_value=1, input_type=int"),
        version=pydantic_version,
    )
    await expect_error(resp, 400, "invalid_param", text)
    for item in ({}, {"content": ""}, {"content": "  "}):
        resp = await client.post(url, json={"segments": [item]}, headers=kh("kold"))
        await expect_error(resp, 400, "invalid_param", "Content is empty")
    # an explicit null keywords stays null before 1.15 (1.15+ drops it: [])
    (made_null,) = await add(client, url, "kw", session="kold", keywords=None)
    assert made_null["keywords"] is None
    assert await word_count(client, made["id"], "kold") == len("Indexed text.") + 2


async def test_an_explicit_null_keywords_is_an_empty_list_from_1_15(client: Any) -> None:
    _, url = await setup(client, "knull")
    (made,) = await add(client, url, "kw", session="knull", keywords=None, answer=None)
    assert (made["keywords"], made["answer"]) == ([], None)


async def test_item_rules_and_qa_answers(client: Any, expect_error: Any) -> None:
    made = await new_dataset(client, "kqa")
    document = await new_document(client, "kqa", made["id"], "Q text.", doc_form="qa_model")
    url = f"{DATASETS}/{made['id']}/documents/{document['id']}/segments"
    for item, text in (
        ({"content": "q"}, "Answer is required"),
        ({"content": "q", "answer": ""}, "Answer is required"),
        ({"content": "q", "answer": "   "}, "Answer is empty"),
        ({"content": "q", "answer": "a", "attachment_ids": ["x"] * 11}, "Exceeded maximum attachment limit of 10"),
    ):
        resp = await client.post(url, json={"segments": [{"content": "fine", "answer": "ok"}, item]}, headers=kh("kqa"))
        await expect_error(resp, 400, "invalid_param", text)
    before = await word_count(client, made["id"], "kqa")  # a refused batch stored nothing
    (made_qa,) = await add(client, url, "Question?", session="kqa", answer="The answer.")
    assert (made_qa["answer"], made_qa["word_count"]) == ("The answer.", len("Question?") + len("The answer."))
    assert await word_count(client, made["id"], "kqa") == before + made_qa["word_count"]


async def test_an_answer_is_ignored_outside_qa_documents(client: Any) -> None:
    _, url = await setup(client, "knoqa")
    (made,) = await add(client, url, "Plain", session="knoqa", answer="ignored")
    assert (made["answer"], made["word_count"]) == (None, 5)


async def test_the_list_pages_by_position_and_echoes_the_request(client: Any) -> None:
    _, url = await setup(client, "klist")
    await add(client, url, *(f"Chunk {n}" for n in range(2, 6)), session="klist")
    resp = await client.get(url, params={"limit": 2, "page": 2}, headers=kh("klist"))
    body = await resp.json()
    assert list(body) == LIST_KEYS
    assert [s["position"] for s in body["data"]] == [3, 4]
    assert (body["total"], body["has_more"], body["limit"], body["page"], body["doc_form"]) == (
        5,
        True,
        2,
        2,
        "text_model",
    )
    last = await (await client.get(url, params={"limit": 2, "page": 3}, headers=kh("klist"))).json()
    assert [s["position"] for s in last["data"]] == [5] and last["has_more"] is False
    full = await (await client.get(url, params={"limit": 5}, headers=kh("klist"))).json()
    assert full["has_more"] is True  # an exactly full page: len(data) == limit
    big = await (await client.get(url, params={"limit": 500}, headers=kh("klist"))).json()
    assert (len(big["data"]), big["limit"], big["has_more"]) == (5, 500, False)
    found = await (await client.get(url, params={"keyword": "CHUNK 3"}, headers=kh("klist"))).json()
    assert [s["content"] for s in found["data"]] == ["Chunk 3"] and found["total"] == 1
    malformed = await (await client.get(url, params={"limit": "abc", "page": "1.5"}, headers=kh("klist"))).json()
    assert (malformed["limit"], malformed["page"], len(malformed["data"])) == (20, 1, 5)


async def test_the_status_filter_repeats(client: Any) -> None:
    _, url = await setup(client, "kstat")
    (made,) = await add(client, url, "To disable", session="kstat")
    resp = await client.post(f"{url}/{made['id']}", json={"segment": {"enabled": False}}, headers=kh("kstat"))
    assert resp.status == 200
    await add(client, url, "Still on", session="kstat")
    both = await (await client.get(f"{url}?status=completed&status=error&keyword=o", headers=kh("kstat"))).json()
    assert [s["content"] for s in both["data"]] == ["To disable", "Still on"]
    none = await (await client.get(url, params={"status": "indexing"}, headers=kh("kstat"))).json()
    assert none["total"] == 0


async def test_a_limit_or_page_below_1_is_refused_from_1_15(client: Any, expect_error: Any) -> None:
    _, url = await setup(client, "kzero")
    resp = await client.get(url, params={"limit": 0, "page": 0}, headers=kh("kzero"))
    text = pydantic(
        "SegmentListQuery",
        (
            "limit",
            "Input should be greater than or equal to 1",
            "greater_than_equal",
            "input_value='0', input_type=str",
        ),
        ("page", "Input should be greater than or equal to 1", "greater_than_equal", "input_value='0', input_type=str"),
    )
    await expect_error(resp, 400, "invalid_param", text)


async def test_before_1_15_a_limit_below_1_is_echoed_and_fetches_20(make_client: Any) -> None:
    client = await make_client(dify_version="1.14")
    _, url = await setup(client, "kzold")
    body = await (await client.get(url, params={"limit": 0, "page": -1}, headers=kh("kzold"))).json()
    assert (len(body["data"]), body["limit"], body["page"], body["has_more"]) == (1, 0, -1, False)


async def test_get_a_segment_and_its_404s(client: Any, expect_error: Any) -> None:
    made, url = await setup(client, "kget")
    (seg,) = await add(client, url, "Find me", session="kget")
    body = await (await client.get(f"{url}/{seg['id']}", headers=kh("kget"))).json()
    assert list(body) == ["data", "doc_form"] and body["data"] == seg
    resp = await client.get(f"{url}/{UNKNOWN_UUID}", headers=kh("kget"))
    await expect_error(resp, 404, "not_found", "Segment not found.")
    other = f"{DATASETS}/{made['id']}/documents/{UNKNOWN_UUID}/segments/{seg['id']}"
    await expect_error(await client.get(other, headers=kh("kget")), 404, "not_found", "Document not found.")
    resp = await client.get(f"{url}/not-a-uuid", headers=kh("kget"))
    assert (resp.status, await resp.text()) == (404, NOT_FOUND_HTML)
    resp = await client.get(f"{url}/{seg['id']}", headers=auth("app-chat"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")


@pytest.mark.parametrize(("version", "found"), [("1.12", True), ("1.14", True), ("1.16", False)])
async def test_another_documents_segment_is_found_before_1_16(
    make_client: Any, expect_error: Any, version: str, found: bool
) -> None:
    client = await make_client(dify_version=version)
    made, url = await setup(client, "kcross")
    (seg,) = await add(client, url, "Mine", session="kcross")
    other = await new_dataset(client, "kcross", name="QA")
    qa = await new_document(client, "kcross", other["id"], "QA document.", doc_form="qa_model")
    elsewhere = f"{DATASETS}/{other['id']}/documents/{qa['id']}/segments/{seg['id']}"
    resp = await client.get(elsewhere, headers=kh("kcross"))
    if not found:
        await expect_error(resp, 404, "not_found", "Segment not found.")
        return
    body = await resp.json()
    assert (body["data"]["id"], body["doc_form"]) == (seg["id"], "qa_model")  # the URL document's doc_form
    # and deleting it there takes its word_count off the URL's document, not its own
    mine, theirs = await word_count(client, made["id"], "kcross"), await word_count(client, other["id"], "kcross")
    resp = await client.delete(elsewhere, headers=kh("kcross"))
    # 1.12's `return 204` is flask-restx's 200 with the body 204; 1.14 answers an empty 204
    assert (resp.status, await resp.read()) == ((200, b"204\n") if version == "1.12" else (204, b""))
    assert await word_count(client, made["id"], "kcross") == mine
    assert await word_count(client, other["id"], "kcross") == theirs - len("Mine")


async def test_update_content_keywords_and_the_word_count(client: Any, expect_error: Any) -> None:
    made, url = await setup(client, "kupd")
    (seg,) = await add(client, url, "Old text", session="kupd", keywords=["a"])
    before = await word_count(client, made["id"], "kupd")
    same = await (
        await client.post(f"{url}/{seg['id']}", json={"segment": {"keywords": ["b", "c"]}}, headers=kh("kupd"))
    ).json()
    assert list(same) == ["data", "doc_form"]
    assert same["data"]["keywords"] == ["b", "c"] and same["data"]["updated_at"] == seg["updated_at"]
    assert same["data"]["updated_by"] is None
    await advance(client, "kupd", 5)
    resp = await client.post(f"{url}/{seg['id']}", json={"segment": {"content": "New longer text"}}, headers=kh("kupd"))
    changed = (await resp.json())["data"]
    assert (changed["content"], changed["word_count"], changed["index_node_hash"]) == (
        "New longer text",
        15,
        sha("New longer text"),
    )
    assert changed["updated_at"] > seg["updated_at"] and changed["updated_by"] == made["created_by"]
    assert changed["indexing_at"] == changed["completed_at"] == changed["updated_at"]
    assert changed["keywords"] == ["b", "c"]
    assert await word_count(client, made["id"], "kupd") == before - 8 + 15
    stored = await (await client.get(f"{url}/{seg['id']}", headers=kh("kupd"))).json()
    assert stored["data"] == changed


async def test_a_disabled_segment_takes_only_enabled_true(client: Any, expect_error: Any) -> None:
    made, url = await setup(client, "kdis")
    (seg,) = await add(client, url, "Toggle", session="kdis")
    off = await (
        await client.post(
            f"{url}/{seg['id']}", json={"segment": {"enabled": False, "content": "ignored"}}, headers=kh("kdis")
        )
    ).json()
    assert (off["data"]["enabled"], off["data"]["content"], off["data"]["disabled_by"]) == (
        False,
        "Toggle",
        made["created_by"],
    )
    assert is_int(off["data"]["disabled_at"])
    for segment in ({"content": "x"}, {"enabled": False}):
        resp = await client.post(f"{url}/{seg['id']}", json={"segment": segment}, headers=kh("kdis"))
        await expect_error(resp, 400, "invalid_param", "Can't update disabled segment")
    on = await (await client.post(f"{url}/{seg['id']}", json={"segment": {"enabled": True}}, headers=kh("kdis"))).json()
    assert (on["data"]["enabled"], on["data"]["disabled_at"], on["data"]["disabled_by"]) == (True, None, None)


async def test_update_validates_its_body_after_the_lookups(client: Any, expect_error: Any) -> None:
    _, url = await setup(client, "kupdv")
    resp = await client.post(f"{url}/{UNKNOWN_UUID}", json={}, headers=kh("kupdv"))
    await expect_error(resp, 404, "not_found", "Segment not found.")
    (seg,) = await add(client, url, "Body", session="kupdv")
    for body, text in (
        (
            {},
            pydantic(
                "SegmentUpdatePayload", ("segment", "Field required", "missing", "input_value={}, input_type=dict")
            ),
        ),
        (
            {"segment": None},
            pydantic(
                "SegmentUpdatePayload",
                (
                    "segment",
                    "Input should be a valid dictionary or instance of SegmentUpdateArgs",
                    "model_type",
                    "input_value=None, input_type=NoneType",
                ),
            ),
        ),
        (
            {"segment": {"enabled": "maybe"}},
            pydantic(
                "SegmentUpdatePayload",
                (
                    "segment.enabled",
                    "Input should be a valid boolean, unable to interpret input",
                    "bool_parsing",
                    "input_value='maybe', input_type=str",
                ),
            ),
        ),
    ):
        resp = await client.post(f"{url}/{seg['id']}", json=body, headers=kh("kupdv"))
        await expect_error(resp, 400, "invalid_param", text)
    resp = await client.post(f"{url}/{seg['id']}", json={"segment": {}}, headers=kh("kupdv"))
    assert resp.status == 200


async def test_a_qa_update_takes_the_requests_answer(client: Any) -> None:
    made = await new_dataset(client, "kqau")
    document = await new_document(client, "kqau", made["id"], "Q text.", doc_form="qa_model")
    url = f"{DATASETS}/{made['id']}/documents/{document['id']}/segments"
    (seg,) = await add(client, url, "Q?", session="kqau", answer="Long answer")
    before = await word_count(client, made["id"], "kqau")
    resp = await client.post(f"{url}/{seg['id']}", json={"segment": {"content": "Q?"}}, headers=kh("kqau"))
    updated = (await resp.json())["data"]
    assert (updated["answer"], updated["word_count"]) == (None, 2)  # an omitted answer is null
    assert await word_count(client, made["id"], "kqau") == before - len("Long answer")


async def test_delete_then_gone_and_the_word_count_drops(client: Any, expect_error: Any) -> None:
    made, url = await setup(client, "kdel")
    (seg,) = await add(client, url, "Doomed", session="kdel")
    before = await word_count(client, made["id"], "kdel")
    resp = await client.delete(f"{url}/{seg['id']}", headers=kh("kdel"))
    assert (resp.status, await resp.read()) == (204, b"")
    assert await word_count(client, made["id"], "kdel") == before - len("Doomed")
    await expect_error(
        await client.get(f"{url}/{seg['id']}", headers=kh("kdel")), 404, "not_found", "Segment not found."
    )
    await expect_error(
        await client.delete(f"{url}/{seg['id']}", headers=kh("kdel")), 404, "not_found", "Segment not found."
    )
    # positions are never renumbered: the next one follows the highest left
    (after,) = await add(client, url, "Next", session="kdel")
    assert after["position"] == 2


async def test_1_12_deletes_answer_200_with_the_body_204(make_client: Any) -> None:
    client = await make_client(dify_version="1.12")
    _, url = await setup(client, "kdel12")
    (seg,) = await add(client, url, "Doomed", session="kdel12")
    resp = await client.delete(f"{url}/{seg['id']}", headers=kh("kdel12"))
    assert (resp.status, await resp.read()) == (200, b"204\n")


async def test_hierarchical_segments_get_child_chunks_in_a_high_quality_dataset(client: Any) -> None:
    made = await new_dataset(client, "khier", name="HQ", indexing_technique="high_quality")
    document = await new_document(
        client, "khier", made["id"], "Parent one.\nSecond line.", doc_form="hierarchical_model", process_rule=PARAGRAPHS
    )
    url = f"{DATASETS}/{made['id']}/documents/{document['id']}/segments"
    (indexed,) = (await (await client.get(url, headers=kh("khier"))).json())["data"]
    assert [c["content"] for c in indexed["child_chunks"]] == ["Parent one.", "Second line."]
    (seg,) = await add(client, url, "Alpha line.\nBeta line.", session="khier")
    assert [(c["content"], c["position"], c["type"]) for c in seg["child_chunks"]] == [
        ("Alpha line.", 1, "automatic"),
        ("Beta line.", 2, "automatic"),
    ]
    resp = await client.post(
        f"{url}/{seg['id']}",
        json={"segment": {"content": "Gamma line.\nDelta line.\nEpsilon.", "regenerate_child_chunks": True}},
        headers=kh("khier"),
    )
    assert [c["content"] for c in (await resp.json())["data"]["child_chunks"]] == [
        "Gamma line.",
        "Delta line.",
        "Epsilon.",
    ]


async def test_hierarchical_segments_of_an_economy_dataset_are_stored_in_error(client: Any) -> None:
    made = await new_dataset(client, "kheco")
    document = await new_document(
        client, "kheco", made["id"], "Parent.\nLine.", doc_form="hierarchical_model", process_rule=PARAGRAPHS
    )
    url = f"{DATASETS}/{made['id']}/documents/{document['id']}/segments"
    (seg,) = await add(client, url, "Alpha.\nBeta.", session="kheco")
    assert (seg["status"], seg["enabled"], seg["error"]) == (
        "error",
        False,
        "The knowledge base index technique is not high quality!",
    )
    assert is_int(seg["disabled_at"]) and seg["child_chunks"] == []


async def test_reset_empties_the_segments(client: Any, expect_error: Any) -> None:
    _, url = await setup(client, "kreset")
    (seg,) = await add(client, url, "Gone", session="kreset")
    resp = await client.post("/_mock/reset", json={"tenant": "s:kreset"})
    assert resp.status in (200, 204)
    resp = await client.get(f"{url}/{seg['id']}", headers=kh("kreset"))
    await expect_error(resp, 404, "not_found", "Dataset not found.")


@pytest.mark.parametrize(
    ("version", "technique", "kept"),
    [
        ("1.16", "high_quality", True),
        ("1.14", "high_quality", True),
        ("1.12", "high_quality", False),
        ("1.16", "economy", False),
    ],
)
async def test_an_update_keeps_a_summary_from_1_14_in_high_quality_datasets(
    make_client: Any, version: str, technique: str, kept: bool
) -> None:
    client = await make_client(dify_version=version)
    _, url = await setup(client, "ksum", indexing_technique=technique)
    (seg,) = await add(client, url, "Summarise me", session="ksum")
    resp = await client.post(f"{url}/{seg['id']}", json={"segment": {"summary": "Short."}}, headers=kh("ksum"))
    assert (await resp.json())["data"]["summary"] == ("Short." if kept else None)
    listed = await (await client.get(url, headers=kh("ksum"))).json()
    assert listed["data"][-1]["summary"] == ("Short." if kept else None)
    resp = await client.post(f"{url}/{seg['id']}", json={"segment": {"summary": " "}}, headers=kh("ksum"))
    assert (await resp.json())["data"]["summary"] is None
