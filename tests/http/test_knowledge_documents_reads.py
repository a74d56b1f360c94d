"""Knowledge API documents: the list, the detail, delete, the status actions, the indexing scenarios
and reset, as Dify 1.12.0, 1.14.2 and 1.16.1 answer them (research/knowledge_documents.md §2, §4.6-§4.8,
§4.11; knowledge_indexing.md §1)."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import UNKNOWN_UUID
from knowledge_docs import DATASETS, DETAIL_KEYS, DOCUMENT_KEYS, h, made_by_text, new_dataset, status

from mockserver.keys import TENANTS

S = "kreads"


async def settled(client: Any, session: str = S) -> None:
    """Mock time enough for every document so far to finish indexing."""
    await client.post("/_mock/clock", json={"tenant": f"s:{session}", "advance": 30})


async def listing(client: Any, dataset: str, **query: Any) -> Any:
    return await client.get(f"{DATASETS}/{dataset}/documents", params=query, headers=h(S))


async def test_the_list_is_newest_first_and_echoes_page_and_limit(client: Any) -> None:
    dataset = await new_dataset(client, S)
    names = ["alpha", "Beta", "gamma_1", "gamma%2"]
    for name in names:
        await made_by_text(client, S, dataset, name=name, text=f"text of {name}")
    body = await (await listing(client, dataset)).json()
    assert list(body) == ["data", "has_more", "limit", "total", "page"]
    assert [d["name"] for d in body["data"]] == names[::-1]
    assert [d["position"] for d in body["data"]] == [4, 3, 2, 1]
    assert list(body["data"][0]) == DOCUMENT_KEYS
    assert (body["has_more"], body["limit"], body["total"], body["page"]) == (False, 20, 4, 1)
    page = await (await listing(client, dataset, page=2, limit=2)).json()
    assert [d["name"] for d in page["data"]] == ["Beta", "alpha"] and page["has_more"] is True  # a full last page
    assert (await (await listing(client, dataset, limit=500)).json())["limit"] == 500
    assert (await (await listing(client, dataset, page=0)).json())["page"] == 0
    assert [d["name"] for d in (await (await listing(client, dataset, keyword="a_")).json())["data"]] == [
        "gamma%2",
        "gamma_1",
        "alpha",
    ]  # LIKE: `_` is any one character
    assert [
        d["name"] for d in (await (await listing(client, dataset, keyword="beta")).json())["data"]
    ] == []  # LIKE: case
    assert (await (await listing(client, dataset, limit=0)).json())["data"].__len__() == 1  # 1.16: at least 1


async def test_before_1_16_a_limit_below_one_is_twenty(make_client: Any, expect_error: Any) -> None:
    client = await make_client(dify_version="1.14")
    dataset = await new_dataset(client, S)
    for n in range(3):
        await made_by_text(client, S, dataset, name=f"d{n}", text="t")
    body = await (await listing(client, dataset, limit=0)).json()
    assert (len(body["data"]), body["limit"], body["has_more"]) == (3, 0, False)
    resp = await listing(client, dataset, page="abc")
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for DocumentListQuery\npage\n  Input should be a valid integer, unable to parse string "
        "as an integer [type=int_parsing, input_value='abc', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/int_parsing",
    )


async def test_status_filters_follow_the_display_rules(make_client: Any) -> None:
    client = await make_client(clock_step=0)
    dataset = await new_dataset(client, S)
    done = await made_by_text(client, S, dataset, name="done", text="t")
    for _ in range(4):
        await status(client, S, dataset, done["batch"])
    queued = await made_by_text(client, S, dataset, name="queued", text="t")
    resp = await client.post(
        f"{DATASETS}/{dataset}/document/create-by-text",
        json={"name": "broken", "text": "t", "indexing_technique": "economy"},
        headers=h(S, **{"X-Mock-Scenario": "indexing_error"}),
    )
    broken = await resp.json()
    for _ in range(3):
        await status(client, S, dataset, broken["batch"])

    async def names(status_value: str) -> list[str]:
        return [d["name"] for d in (await (await listing(client, dataset, status=status_value)).json())["data"]]

    assert await names("AVAILABLE") == ["done"] and await names("enabled") == ["done"]
    assert await names("error") == ["broken"]
    assert "queued" in await names("queuing") or "queued" in await names("indexing")  # each list is a poll
    assert sorted(await names("nonsense")) == ["broken", "done", "queued"]
    assert queued["document"]["display_status"] == "queuing"


async def test_the_detail_and_its_metadata_modes(make_client: Any, expect_error: Any) -> None:
    client = await make_client(clock_step=0)
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="g", text="Some text here.")
    url = f"{DATASETS}/{dataset}/documents/{made['document']['id']}"
    detail = await (await client.get(url, headers=h(S))).json()
    assert list(detail) == DETAIL_KEYS
    assert detail["data_source_info"] == made["document"]["data_source_detail_dict"]
    assert (detail["indexing_status"], detail["completed_at"], detail["indexing_latency"]) == ("waiting", None, None)
    assert (detail["doc_type"], detail["doc_metadata"], detail["doc_language"]) == (None, None, "English")
    assert (detail["segment_count"], detail["average_segment_length"]) == (0, 0)
    document_rule = detail["document_process_rule"]
    assert list(document_rule) == ["id", "dataset_id", "mode", "rules"] and document_rule["dataset_id"] == dataset
    for _ in range(4):
        detail = await (await client.get(url, headers=h(S))).json()
    assert (detail["indexing_status"], detail["display_status"], detail["segment_count"]) == (
        "completed",
        "available",
        1,
    )
    assert detail["average_segment_length"] == len("Some text here.")  # word_count // segment_count
    assert isinstance(detail["indexing_latency"], float) and detail["completed_at"] == made["document"]["created_at"]
    only = await (await client.get(url, params={"metadata": "only"}, headers=h(S))).json()
    assert only == {"id": made["document"]["id"], "doc_type": None, "doc_metadata": None}
    without = await (await client.get(url, params={"metadata": "without"}, headers=h(S))).json()
    assert list(without) == [k for k in DETAIL_KEYS if k not in ("doc_type", "doc_metadata")]
    resp = await client.get(url, params={"metadata": "some"}, headers=h(S))
    await expect_error(resp, 400, "invalid_metadata", "Invalid metadata value: some")
    missing = f"{DATASETS}/{dataset}/documents/{UNKNOWN_UUID}"
    await expect_error(
        await client.get(missing, params={"metadata": "some"}, headers=h(S)), 404, "not_found", "Document not found."
    )


def _dataset(client: Any, dataset: str, session: str = S) -> Any:
    return client.app[TENANTS].get(f"s:{session}").state.datasets.get(dataset)


@pytest.mark.parametrize(("version", "value"), [("1.14", "file_upload"), ("1.16", "file_upload")])
async def test_built_in_metadata_of_a_new_document(make_client: Any, version: str, value: str) -> None:
    client = await make_client(dify_version=version)
    dataset = await new_dataset(client, S)
    _dataset(client, dataset).built_in_field_enabled = True  # the metadata routes' switch (another family)
    made = await made_by_text(client, S, dataset, name="g", text="t")
    fields = made["document"]["doc_metadata"]
    assert [(f["id"], f["name"], f["type"]) for f in fields] == [
        ("built-in", "document_name", "string"),
        ("built-in", "uploader", "string"),
        ("built-in", "upload_date", "time"),
        ("built-in", "last_update_date", "time"),
        ("built-in", "source", "string"),
    ]
    at = str(float(made["document"]["created_at"]))
    assert [f["value"] for f in fields] == ["g", "Admin", at, at, value]


async def test_delete_then_it_is_gone(make_client: Any, expect_error: Any) -> None:
    for version, expected in (("1.12", (200, b"204\n")), ("1.16", (204, b""))):
        client = await make_client(dify_version=version)
        dataset = await new_dataset(client, S)
        made = await made_by_text(client, S, dataset, name="g", text="t")
        url = f"{DATASETS}/{dataset}/documents/{made['document']['id']}"
        resp = await client.delete(url, headers=h(S))  # still indexing: deleted all the same
        assert (resp.status, await resp.read()) == expected
        await expect_error(await client.delete(url, headers=h(S)), 404, "not_found", "Document Not Exists.")
        await expect_error(await client.get(url, headers=h(S)), 404, "not_found", "Document not found.")
        await expect_error(await status(client, S, dataset, made["batch"]), 404, "not_found", "Documents not found.")
        state = client.app[TENANTS].get(f"s:{S}").state
        assert state.segments_of(made["document"]["id"]) == []


async def status_action(client: Any, dataset: str, action: str, body: Any) -> Any:
    return await client.patch(f"{DATASETS}/{dataset}/documents/status/{action}", json=body, headers=h(S))


async def test_status_actions(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="g", text="t")
    doc = made["document"]["id"]
    resp = await status_action(client, dataset, "frobnicate", {"document_ids": []})
    assert (resp.status, await resp.json()) == (200, {"result": "success"})  # no ids: nothing is checked
    resp = await status_action(client, dataset, "frobnicate", {"document_ids": [doc]})
    await expect_error(
        resp,
        400,
        "invalid_action",
        "Invalid action: frobnicate. Must be one of ['enable', 'disable', 'archive', 'un_archive']",
    )
    resp = await status_action(client, dataset, "disable", {"document_ids": [doc]})
    await expect_error(resp, 400, "invalid_action", "Document: g is not completed.")
    await settled(client)
    assert (await status_action(client, dataset, "disable", {"document_ids": [doc, UNKNOWN_UUID]})).status == 200
    listed = (await (await listing(client, dataset)).json())["data"][0]
    assert (listed["enabled"], listed["display_status"]) == (False, "disabled")
    assert listed["disabled_at"] is not None and listed["disabled_by"] == made["document"]["created_by"]
    assert (await status_action(client, dataset, "disable", {"document_ids": [doc]})).status == 200  # no-op
    assert (await status_action(client, dataset, "archive", {"document_ids": [doc]})).status == 200
    url = f"{DATASETS}/{dataset}/documents/{doc}"
    assert (await (await client.get(url, headers=h(S))).json())["display_status"] == "archived"
    await expect_error(await client.delete(url, headers=h(S)), 403, "archived_document_immutable")
    for action in ("un_archive", "enable"):
        assert (await status_action(client, dataset, action, {"document_ids": [doc]})).status == 200
    assert (await (await client.get(url, headers=h(S))).json())["display_status"] == "available"
    for raw in (f'["{doc}"]', "null", '"x"'):
        url = f"{DATASETS}/{dataset}/documents/status/enable"
        resp = await client.patch(url, data=raw, headers={**h(S), "Content-Type": "application/json"})
        await expect_error(resp, 500, "unknown", "Internal Server Error")


async def test_a_failed_check_changes_nothing(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    first = await made_by_text(client, S, dataset, name="done", text="t")
    await settled(client)
    second = await made_by_text(client, S, dataset, name="new", text="t")
    ids = [first["document"]["id"], second["document"]["id"]]
    resp = await status_action(client, dataset, "disable", {"document_ids": ids})
    await expect_error(resp, 400, "invalid_action", "Document: new is not completed.")
    detail = await (await client.get(f"{DATASETS}/{dataset}/documents/{ids[0]}", headers=h(S))).json()
    assert detail["enabled"] is True


async def test_indexing_scenarios(make_client: Any) -> None:
    client = await make_client(clock_step=0)
    dataset = await new_dataset(client, S)
    resp = await client.post(
        f"{DATASETS}/{dataset}/document/create-by-text",
        json={"name": "p", "text": "t", "indexing_technique": "economy"},
        headers=h(S, **{"X-Mock-Scenario": "indexing_paused"}),
    )
    made = await resp.json()
    items = [(await (await status(client, S, dataset, made["batch"])).json())["data"][0] for _ in range(6)]
    assert [i["indexing_status"] for i in items] == ["waiting", "parsing", "splitting", "indexing", "paused", "paused"]
    assert items[4]["paused_at"] is not None and items[4]["total_segments"] == 1
    doc = made["document"]["id"]
    detail = await (await client.get(f"{DATASETS}/{dataset}/documents/{doc}", headers=h(S))).json()
    assert (detail["indexing_status"], detail["display_status"]) == ("indexing", "paused")
    # an ad-hoc scenario: an error in the indexing step, segments kept
    scenario = {
        "match": {"body.name": {"startswith": "broken"}},
        "indexing": {"outcome": "error", "at": "indexing", "error": "boom"},
    }
    resp = await client.post(
        "/_mock/scenarios",
        json={"endpoint": "knowledge.create_document_by_text", "scenario": scenario, "tenant": f"s:{S}"},
    )
    assert resp.status in (200, 201), await resp.text()
    resp = await client.post(
        f"{DATASETS}/{dataset}/document/create-by-text",
        json={"name": "broken one", "text": "t", "indexing_technique": "economy"},
        headers=h(S),
    )
    assert resp.status == 200, await resp.text()
    made = await resp.json()
    items = [(await (await status(client, S, dataset, made["batch"])).json())["data"][0] for _ in range(5)]
    assert [i["indexing_status"] for i in items] == ["waiting", "parsing", "splitting", "indexing", "error"]
    assert (items[4]["error"], items[4]["total_segments"], items[4]["completed_segments"]) == ("boom", 1, 0)
    assert items[4]["stopped_at"] is not None and items[4]["completed_at"] is None


async def test_reset_empties_the_documents(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="g", text="t")
    assert (await client.post("/_mock/reset", json={"tenant": f"s:{S}"})).status == 200
    state = client.app[TENANTS].get(f"s:{S}").state
    assert len(state.documents) == 0 and len(state.segments) == 0
    resp = await status(client, S, dataset, made["batch"])
    await expect_error(resp, 404, "not_found", "Dataset not found.")


async def test_status_ids_are_read_as_postgres_reads_a_uuid(client: Any, expect_error: Any) -> None:
    # Postgres's uuid_in: either case and braces are the same id; a urn or a misplaced hyphen, which
    # Python's uuid.UUID would take, is a DataError no handler catches (Dify's 500).
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="pg", text="t")
    await settled(client)
    doc = made["document"]["id"]
    resp = await status_action(client, dataset, "disable", {"document_ids": ["{" + doc.upper() + "}"]})
    assert resp.status == 200
    listed = (await (await listing(client, dataset)).json())["data"][0]
    assert listed["enabled"] is False
    for refused in (f"urn:uuid:{doc}", doc.replace("-", "")[:7] + "-" + doc.replace("-", "")[7:]):
        resp = await status_action(client, dataset, "enable", {"document_ids": [refused]})
        await expect_error(resp, 500, "unknown", "Internal Server Error")
