"""Knowledge API documents from files: create-by-file, update by file (POST and 1.14's PATCH) and by
text, the download URL and the ZIP, as Dify 1.12.0, 1.14.2 and 1.16.1 answer them
(research/knowledge_documents.md §4.2-§4.5, §4.9-§4.10; knowledge_indexing.md §1, §3)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID
from knowledge_docs import DATASETS, DOCUMENT_KEYS, file_form, h, made_by_text, new_dataset, raw_form, status

from mockserver.keys import TENANTS

S = "kfiles"
ECONOMY = {"indexing_technique": "economy", "process_rule": {"mode": "automatic"}}
MB = 1024 * 1024


async def by_file(client: Any, dataset: str, form: Any, spelling: str = "create-by-file", session: str = S) -> Any:
    return await client.post(f"{DATASETS}/{dataset}/document/{spelling}", data=form, headers=h(session))


async def made_by_file(client: Any, dataset: str, name: str, data: bytes, **fields: Any) -> dict[str, Any]:
    resp = await by_file(client, dataset, file_form(name, data, {**ECONOMY, **fields}))
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


def segments(client: Any, document_id: str, session: str = S) -> list[str]:
    """The document's segment texts, as the store holds them (the segment routes are another family's)."""
    return [s.content for s in client.app[TENANTS].get(f"s:{session}").state.segments_of(document_id)]


async def polled(client: Any, dataset: str, batch: str, times: int, session: str = S) -> list[dict[str, Any]]:
    out = []
    for _ in range(times):
        resp = await status(client, session, dataset, batch)
        assert resp.status == 200
        out.append((await resp.json())["data"][0])
    return out


MARKDOWN = (
    b"# C# Guide\r\nIntro <b>bold</b> text.\r\n\r\n```\r\n# not a header\r\n```\r\n## Sub-section #2\nBody of two.\n"
)


@pytest.mark.parametrize(
    ("name", "data", "mime", "texts"),
    [
        (
            "notes.txt",
            b"First paragraph.\r\n\r\nSecond paragraph.",
            "text/plain",
            ["First paragraph.\n\nSecond paragraph."],
        ),
        (
            "guide.md",
            MARKDOWN,
            "text/markdown",
            ["C Guide\nIntro bold text.\n\n```\n# not a header\n```", "Sub-section 2\nBody of two."],
        ),
    ],
)
async def test_a_file_is_indexed_stage_by_stage_into_its_segments(
    make_client: Any, name: str, data: bytes, mime: str, texts: list[str]
) -> None:
    client = await make_client(clock_step=0)  # the clock stands still: each status read moves a stage
    dataset = await new_dataset(client, S)
    resp = await by_file(client, dataset, file_form(name, data, ECONOMY, mime=mime), spelling="create_by_file")
    assert resp.status == 200, await resp.text()
    made = await resp.json()
    doc = made["document"]
    assert list(doc) == DOCUMENT_KEYS and doc["name"] == name
    upload = doc["data_source_detail_dict"]["upload_file"]
    assert (upload["name"], upload["size"], upload["extension"], upload["mime_type"]) == (
        name,
        len(data),
        name.rsplit(".", 1)[1],
        mime,
    )
    assert (doc["indexing_status"], doc["display_status"]) == ("waiting", "queuing")
    seen = await polled(client, dataset, made["batch"], 5)
    assert [i["indexing_status"] for i in seen] == ["waiting", "parsing", "splitting", "indexing", "completed"]
    at = doc["created_at"]
    order = ["processing_started_at", "parsing_completed_at", "splitting_completed_at", "completed_at"]
    for stage, item in enumerate(seen):
        assert [item[k] for k in order] == [at if n < stage else None for n in range(4)]
        assert item["cleaning_completed_at"] == item["splitting_completed_at"]
    assert (seen[3]["completed_segments"], seen[3]["total_segments"]) == (0, len(texts))
    assert (seen[4]["completed_segments"], seen[4]["total_segments"]) == (len(texts), len(texts))
    assert segments(client, doc["id"]) == texts
    detail = await (await client.get(f"{DATASETS}/{dataset}/documents/{doc['id']}", headers=h(S))).json()
    assert detail["segment_count"] == len(texts) and detail["tokens"] == 0  # economy: no tokens
    assert detail["display_status"] == "available"


async def test_segments_are_not_there_before_the_indexing_stage(make_client: Any) -> None:
    client = await make_client(clock_step=0)
    dataset = await new_dataset(client, S)
    made = await made_by_file(client, dataset, "a.txt", b"Some words here.")
    detail = await (await client.get(f"{DATASETS}/{dataset}/documents/{made['document']['id']}", headers=h(S))).json()
    assert (detail["indexing_status"], detail["segment_count"], detail["tokens"]) == ("waiting", 0, None)


async def raw_by_file(client: Any, dataset: str, filename: str, data_json: Any = ECONOMY) -> Any:
    body, headers = raw_form(filename, b"x", data_json)
    return await client.post(f"{DATASETS}/{dataset}/document/create-by-file", data=body, headers={**h(S), **headers})


async def test_the_file_checks_in_difys_order(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    resp = await client.post(f"{DATASETS}/{dataset}/document/create-by-file", json={}, headers=h(S))
    await expect_error(resp, 400, "invalid_param", "indexing_technique is required.")  # before the file
    dataset = await new_dataset(client, S, name="Eco", indexing_technique="economy")
    resp = await client.post(f"{DATASETS}/{dataset}/document/create-by-file", json={}, headers=h(S))
    await expect_error(resp, 400, "no_file_uploaded", "Please upload your file.")
    await expect_error(await by_file(client, dataset, file_form(None, b"", ECONOMY)), 400, "no_file_uploaded")
    two = file_form("a.txt", b"a", ECONOMY)
    two.add_field("other", b"b", filename="b.txt", content_type="text/plain")
    await expect_error(await by_file(client, dataset, two), 400, "too_many_files", "Only one file is allowed.")
    same = file_form("a.txt", b"first", ECONOMY)
    same.add_field("file", b"second", filename="b.txt", content_type="text/plain")
    resp = await by_file(client, dataset, same)
    assert resp.status == 200 and (await resp.json())["document"]["name"] == "a.txt"  # the first part named file
    resp = await raw_by_file(client, dataset, "")
    await expect_error(resp, 400, "filename_not_exists_error", "The specified filename does not exist.")
    resp = await raw_by_file(client, dataset, "dir/b.txt")
    await expect_error(resp, 400, "invalid_param", "Filename contains invalid characters")
    resp = await by_file(client, dataset, file_form("photo.png", b"x", ECONOMY, mime="image/png"))
    assert resp.status == 400 and await resp.json() == {"code": "invalid_param", "message": "", "status": 400}


@pytest.mark.parametrize(
    ("version", "too_large"),
    [
        ("1.12", (400, {"code": "invalid_param", "message": "", "status": 400})),
        ("1.14", (400, {"code": "invalid_param", "message": "", "status": 400})),
        ("1.16", (413, {"code": "file_too_large", "message": "", "status": 413})),
    ],
)
async def test_fifteen_megabytes_at_most(make_client: Any, version: str, too_large: tuple[int, Any]) -> None:
    client = await make_client(dify_version=version)
    dataset = await new_dataset(client, S)
    resp = await by_file(client, dataset, file_form("big.txt", b"a" * (15 * MB + 1), ECONOMY))
    assert (resp.status, await resp.json()) == too_large
    made = await made_by_file(client, dataset, "edge.txt", b"a" * (15 * MB))
    assert made["document"]["data_source_detail_dict"]["upload_file"]["size"] == 15 * MB


async def test_release_differences_of_names_and_types(make_client: Any, expect_error: Any) -> None:
    old = await make_client(dify_version="1.12")
    dataset = await new_dataset(old, S)
    resp = await raw_by_file(old, dataset, "a:b.txt")
    await expect_error(resp, 400, "invalid_param", "Filename contains invalid characters")
    resp = await by_file(old, dataset, file_form("a.odt", b"x", ECONOMY))
    assert resp.status == 400 and (await resp.json())["message"] == ""
    new = await make_client(dify_version="1.16")
    dataset = await new_dataset(new, S)
    resp = await raw_by_file(new, dataset, "a:b.txt")
    assert resp.status == 200 and (await resp.json())["document"]["name"] == "a:b.txt"
    made = await made_by_file(new, dataset, "report.odt", b"PK\x03\x04 binary")  # odt from 1.16, no text read
    assert made["document"]["data_source_detail_dict"]["upload_file"]["extension"] == "odt"
    assert segments(new, made["document"]["id"]) == []


async def test_the_data_field(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    resp = await by_file(client, dataset, file_form("a.txt", b"x", "{bad"))
    await expect_error(
        resp, 400, "invalid_param", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    )
    resp = await by_file(client, dataset, file_form("a.txt", b"x", ""))
    await expect_error(resp, 400, "invalid_param", "Expecting value: line 1 column 1 (char 0)")
    for not_an_object in ("null", "[]", '"x"', "1"):
        resp = await by_file(client, dataset, file_form("a.txt", b"x", not_an_object))
        await expect_error(resp, 500, "unknown", "Internal Server Error")
    resp = await by_file(client, dataset, file_form("a.txt", b"x", {"process_rule": {"mode": "automatic"}}))
    await expect_error(resp, 400, "invalid_param", "indexing_technique is required.")
    resp = await by_file(client, dataset, file_form("a.txt", b"x", {"indexing_technique": "economy"}))
    await expect_error(resp, 400, "invalid_param", "process_rule is required.")
    bad = {"indexing_technique": "economy", "process_rule": {"mode": "x"}}
    resp = await by_file(client, dataset, file_form("a.txt", b"x", bad))
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for KnowledgeConfig\nprocess_rule.mode\n  Input should be 'automatic', 'custom' or "
        "'hierarchical' [type=enum, input_value='x', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/enum",
    )
    resp = await by_file(client, dataset, file_form("a.txt", b"x", {**ECONOMY, "embedding_model_provider": "openai"}))
    await expect_error(resp, 500, "unknown")  # args["embedding_model"]: a KeyError
    first = await made_by_file(client, dataset, "a.txt", b"x")
    # later documents reuse the dataset's latest rule, and inherit its technique
    resp = await by_file(client, dataset, file_form("b.txt", b"y", {}))
    assert resp.status == 200, await resp.text()
    later = (await resp.json())["document"]
    assert later["dataset_process_rule_id"] == first["document"]["dataset_process_rule_id"]
    # an explicit null process_rule hides the dataset's rule from the controller
    resp = await by_file(client, dataset, file_form("c.txt", b"z", {"process_rule": None}))
    await expect_error(resp, 400, "invalid_param", "process_rule is required.")
    resp = await by_file(client, dataset, file_form("d.txt", b"z", {"doc_form": "qa_model"}))
    await expect_error(resp, 400, "invalid_param", "doc_form is different from the dataset doc_form.")


async def test_duplicate_false_makes_a_second_document_of_the_same_name(client: Any) -> None:
    dataset = await new_dataset(client, S)
    one = await made_by_file(client, dataset, "a.txt", b"x")
    again = await made_by_file(client, dataset, "a.txt", b"y")
    assert again["document"]["id"] == one["document"]["id"]
    other = await made_by_file(client, dataset, "a.txt", b"z", duplicate=False)
    assert other["document"]["id"] != one["document"]["id"] and other["document"]["position"] == 2


async def available(client: Any, dataset: str, batch: str, session: str = S) -> None:
    await client.post("/_mock/clock", json={"tenant": f"s:{session}", "advance": 30})
    assert (await polled(client, dataset, batch, 1, session))[0]["indexing_status"] == "completed"


async def test_update_by_file_replaces_the_file_and_reindexes(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    made = await made_by_file(client, dataset, "a.txt", b"Old text.")
    doc = made["document"]["id"]
    url = f"{DATASETS}/{dataset}/documents/{doc}/update-by-file"
    resp = await client.post(url, data=file_form("b.md", b"# New\nbody", {}), headers=h(S))
    await expect_error(resp, 400, "invalid_param", "Document is not available")  # still queued
    await available(client, dataset, made["batch"])
    resp = await client.post(url, data=file_form("b.png", b"x", {}, mime="image/png"), headers=h(S))
    await expect_error(resp, 415, "unsupported_file_type", "File type not allowed.")
    resp = await client.post(url, data=file_form("b.txt", b"a" * (15 * MB + 1), {}), headers=h(S))
    assert (resp.status, await resp.json()) == (413, {"code": "file_too_large", "message": "", "status": 413})
    resp = await client.post(url, data=file_form(None, b"", {}), headers=h(S))
    await expect_error(resp, 400, "invalid_param", "Data source or Process rule is required")
    resp = await client.post(url, data=file_form("b.md", b"# New\nbody", {}), headers=h(S))
    assert resp.status == 200, await resp.text()
    updated = await resp.json()
    assert updated["batch"] == made["batch"]  # the document's own batch
    assert updated["document"]["id"] == doc and updated["document"]["name"] == "b.md"
    assert updated["document"]["indexing_status"] == "waiting"
    await available(client, dataset, made["batch"])
    assert segments(client, doc) == ["New\nbody"]
    missing = f"{DATASETS}/{dataset}/documents/{UNKNOWN_UUID}/update_by_file"
    resp = await client.post(missing, data=file_form("b.txt", b"x", {}), headers=h(S))
    await expect_error(resp, 404, "not_found", "Document not found")


async def test_patch_updates_by_file_from_1_14_and_is_405_before(make_client: Any, expect_error: Any) -> None:
    old = await make_client(dify_version="1.12")
    dataset = await new_dataset(old, S)
    made = await made_by_file(old, dataset, "a.txt", b"x")
    url = f"{DATASETS}/{dataset}/documents/{made['document']['id']}"
    resp = await old.patch(url, data=file_form("b.txt", b"y", {}), headers=h(S))
    await expect_error(resp, 405, "method_not_allowed", "The method is not allowed for the requested URL.")
    assert resp.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS"
    resp = await old.post(f"{url}/update_by_file", data=file_form("b.txt", b"a" * (15 * MB + 1), {}), headers=h(S))
    await expect_error(resp, 413, "file_too_large", "File size exceeded. {message}")
    new = await make_client(dify_version="1.14")
    dataset = await new_dataset(new, S)
    made = await made_by_file(new, dataset, "a.txt", b"x")
    await available(new, dataset, made["batch"])
    url = f"{DATASETS}/{dataset}/documents/{made['document']['id']}"
    resp = await new.patch(url, data=file_form("b.txt", b"y", {}), headers=h(S))
    assert resp.status == 200 and (await resp.json())["document"]["name"] == "b.txt"


async def test_update_by_text(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="a", text="old")
    await available(client, dataset, made["batch"])
    url = f"{DATASETS}/{dataset}/documents/{made['document']['id']}/update-by-text"
    resp = await client.post(url, json={"text": "x"}, headers=h(S))
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for DocumentTextUpdate\n  Value error, name is required when text is provided "
        "[type=value_error, input_value={'text': 'x'}, input_type=dict]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/value_error",
    )
    resp = await client.post(url, json={"name": "renamed"}, headers=h(S))
    await expect_error(resp, 400, "invalid_param", "Data source or Process rule is required")
    resp = await client.post(url, json={"name": "b", "text": "new", "doc_form": "qa_model"}, headers=h(S))
    await expect_error(resp, 400, "invalid_param", "doc_form is different from the dataset doc_form.")
    resp = await client.post(
        url.replace("update-by-text", "update_by_text"), json={"name": "b" * 210, "text": "new"}, headers=h(S)
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["batch"] == made["batch"] and body["document"]["name"] == "b" * 210  # the name, uncut
    assert body["document"]["data_source_detail_dict"]["upload_file"]["name"] == "b" * 200
    await available(client, dataset, made["batch"])
    assert segments(client, made["document"]["id"]) == ["new"]


async def test_an_update_with_a_rule_only_reindexes_the_same_text(client: Any) -> None:
    dataset = await new_dataset(client, S)
    made = await made_by_text(client, S, dataset, name="a", text="one. two. three.")
    await available(client, dataset, made["batch"])
    url = f"{DATASETS}/{dataset}/documents/{made['document']['id']}/update-by-text"
    rule = {
        "mode": "custom",
        "rules": {"pre_processing_rules": [], "segmentation": {"separator": ". ", "max_tokens": 50}},
    }
    resp = await client.post(url, json={"process_rule": rule}, headers=h(S))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["document"]["dataset_process_rule_id"] != made["document"]["dataset_process_rule_id"]
    await available(client, dataset, made["batch"])
    assert segments(client, made["document"]["id"]) == ["one", "two", "three."]


async def test_the_download_url_is_signed_and_relative(make_client: Any, expect_error: Any) -> None:
    client = await make_client()
    dataset = await new_dataset(client, S)
    made = await made_by_file(client, dataset, "a.txt", b"x")
    upload = made["document"]["data_source_info"]["upload_file_id"]
    resp = await client.get(f"{DATASETS}/{dataset}/documents/{made['document']['id']}/download", headers=h(S))
    assert resp.status == 200
    raw = await resp.text()
    assert raw.startswith('{"url":"\\/files\\/')  # ujson escapes the slashes
    url = (await resp.json())["url"]
    assert url.startswith(f"/files/{upload}/file-preview?timestamp=")
    assert "&nonce=" in url and "&sign=" in url and url.endswith("%3D&as_attachment=true")
    resp = await client.get(f"{DATASETS}/{dataset}/documents/{UNKNOWN_UUID}/download", headers=h(S))
    await expect_error(resp, 404, "not_found", "Document not found.")
    old = await make_client(dify_version="1.12")
    dataset = await new_dataset(old, S)
    resp = await old.get(f"{DATASETS}/{dataset}/documents/{UNKNOWN_UUID}/download", headers=h(S))
    assert resp.status == 404 and await resp.text() == NOT_FOUND_HTML


async def test_the_zip_holds_the_files_in_request_order(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    one = (await made_by_file(client, dataset, "a.txt", b"first"))["document"]["id"]
    two = (await made_by_file(client, dataset, "a.txt", b"second", duplicate=False))["document"]["id"]
    text = (await made_by_text(client, S, dataset, name="note", text="typed"))["document"]["id"]
    url = f"{DATASETS}/{dataset}/documents/download-zip"
    resp = await client.post(url, json={"document_ids": [two, one, text, two]}, headers=h(S))
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/zip"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and len(disposition) == len("attachment; filename=") + 36
    archive = zipfile.ZipFile(io.BytesIO(await resp.read()))
    assert archive.namelist() == ["a.txt", "a (1).txt", "note", "a (2).txt"]
    assert [archive.read(n) for n in archive.namelist()] == [b"second", b"first", b"typed", b"second"]
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    resp = await client.post(url, json={"document_ids": [one, UNKNOWN_UUID]}, headers=h(S))
    rule = "/v1/datasets/<uuid:dataset_id>/documents/download-zip"
    await expect_error(
        resp,
        404,
        "not_found",
        f"Document not found. You have requested this URI [{url}] but did you mean {rule} ?",
    )


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ({}, "document_ids\n  Field required [type=missing, input_value={}, input_type=dict]"),
        (
            {"document_ids": []},
            "document_ids\n  List should have at least 1 item after validation, not 0 "
            "[type=too_short, input_value=[], input_type=list]",
        ),
        (
            {"document_ids": ["abc"]},
            "document_ids.0\n  Input should be a valid UUID, invalid length: expected length 32 for simple format, "
            "found 3 [type=uuid_parsing, input_value='abc', input_type=str]",
        ),
        (
            {"document_ids": "abc"},
            "document_ids\n  Input should be a valid list [type=list_type, input_value='abc', input_type=str]",
        ),
    ],
)
async def test_the_zip_request_model(client: Any, expect_error: Any, body: Any, line: str) -> None:
    dataset = await new_dataset(client, S)
    resp = await client.post(f"{DATASETS}/{dataset}/documents/download-zip", json=body, headers=h(S))
    message = (await expect_error(resp, 400, "invalid_param"))["message"]
    assert message.startswith(f"1 validation error for DocumentBatchDownloadZipPayload\n{line}\n"), message


async def test_a_hundred_and_one_ids_are_too_many(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    ids = [f"00000000-0000-0000-0000-{n:012x}" for n in range(1, 102)]
    resp = await client.post(f"{DATASETS}/{dataset}/documents/download-zip", json={"document_ids": ids}, headers=h(S))
    message = (await expect_error(resp, 400, "invalid_param"))["message"]
    assert (
        "List should have at most 100 items after validation, not 101 [type=too_long, "
        "input_value=['00000000-0000-0000-0000...0000-0000-000000000065'], input_type=list]" in message
    )


async def test_the_zip_route_is_1_13_and_later(make_client: Any) -> None:
    old = await make_client(dify_version="1.12")
    dataset = await new_dataset(old, S)
    resp = await old.post(
        f"{DATASETS}/{dataset}/documents/download-zip", json={"document_ids": [UNKNOWN_UUID]}, headers=h(S)
    )
    assert resp.status == 404 and await resp.text() == NOT_FOUND_HTML


async def test_the_download_url_serves_the_file(client: Any, expect_error: Any) -> None:
    dataset = await new_dataset(client, S)
    made = await made_by_file(client, dataset, "notes.txt", "Grüße\n".encode())
    doc = made["document"]["id"]
    url = (await (await client.get(f"{DATASETS}/{dataset}/documents/{doc}/download", headers=h(S))).json())["url"]
    session = {"X-Mock-Session": S}  # no key: the tenant is the session's
    resp = await client.get(url, headers=session)
    assert resp.status == 200 and await resp.read() == "Grüße\n".encode()
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-Disposition"] == "attachment; filename*=UTF-8''notes.txt"
    inline = url.replace("&as_attachment=true", "")
    resp = await client.get(inline, headers=session)
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8" and "Content-Disposition" not in resp.headers
    typed = (await made_by_text(client, S, dataset, name="typed", text="by text"))["document"]["id"]
    url = (await (await client.get(f"{DATASETS}/{dataset}/documents/{typed}/download", headers=h(S))).json())["url"]
    assert await (await client.get(url, headers=session)).read() == b"by text"
    gone = "File not found or signature is invalid"
    await expect_error(await client.get(url.replace("sign=", "sign=x"), headers=session), 404, "not_found", gone)
    await expect_error(await client.get(url, headers={"X-Mock-Session": "other"}), 404, "not_found", gone)
    await client.post("/_mock/clock", json={"tenant": f"s:{S}", "advance": 301})
    await expect_error(await client.get(url, headers=session), 404, "not_found", gone)  # FILES_ACCESS_TIMEOUT
    resp = await client.get(f"/files/{UNKNOWN_UUID}/file-preview", headers=session)
    message = (await expect_error(resp, 400, "invalid_param"))["message"]
    assert message.startswith("3 validation errors for FilePreviewQuery\ntimestamp\n  Field required")
