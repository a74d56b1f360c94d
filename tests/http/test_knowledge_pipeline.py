"""The knowledge pipeline routes (1.13+) with a knowledge key: the pipeline file upload, and a dataset's
datasource plugins, datasource node run and pipeline run, which no dataset of the mock has a pipeline
for (research/knowledge_retrieval_pipeline.md §1.2, §3, §4)."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID, auth, is_uuid4, multipart

UPLOAD = "/v1/datasets/pipeline/file-upload"
UPLOAD_KEYS = ["id", "name", "size", "extension", "mime_type", "created_by", "created_at"]
NO_PIPELINE = b'{"code":"invalid_param","message":"Pipeline not found","status":400}\n'
RUN_BODY = {
    "inputs": {},
    "datasource_type": "local_file",
    "datasource_info_list": [{"related_id": UNKNOWN_UUID, "name": "a.pdf"}],
    "start_node_id": "1750836380067",
    "is_published": True,
    "response_mode": "blocking",
}
NODE_BODY = {"inputs": {}, "datasource_type": "online_document", "is_published": True}


def h(key: str = "dataset-demo", session: str = "kpipe") -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session})


async def post_parts(client: Any, *parts: tuple[str, str | None, str | None, bytes]) -> Any:
    body, headers = multipart(*parts)
    return await client.post(UPLOAD, data=body, headers={**h(), **headers})


async def dataset(client: Any) -> str:
    resp = await client.post("/v1/datasets", json={"name": "Docs"}, headers=h())
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["id"])


def missing(model: str, *names: str) -> str:
    lines = [f"{len(names)} validation error{'s' if len(names) != 1 else ''} for {model}"]
    for name in names:
        lines += [
            name,
            "  Field required [type=missing, input_value={}, input_type=dict]",
            "    For further information visit https://errors.pydantic.dev/2.12/v/missing",
        ]
    return "\n".join(lines)


# The file upload ---------------------------------------------------------------------------------


async def test_an_upload_is_201_with_the_owners_file(client):
    resp = await post_parts(client, ("file", "Handbook.PDF", "application/pdf", b"%PDF-1.4 hello"))
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    assert list(made) == UPLOAD_KEYS and is_uuid4(made["id"])
    assert (made["name"], made["size"], made["extension"], made["mime_type"]) == (
        "Handbook.PDF",
        14,
        "pdf",
        "application/pdf",
    )
    created = await (await client.post("/v1/datasets", json={"name": "Docs"}, headers=h())).json()
    assert made["created_by"] == created["created_by"]  # the workspace owner a knowledge key acts as
    assert made["created_at"][:2] == "20" and "T" in made["created_at"] and not made["created_at"].endswith("Z")
    resp = await post_parts(client, ("file", "run.exe", "application/x-msdownload", b"MZ"))
    assert resp.status == 201  # any extension: the source is not `datasets`


async def test_upload_refusals_in_difys_order(client, expect_error):
    resp = await post_parts(client, ("note", None, None, b"x"))
    await expect_error(resp, 400, "no_file_uploaded", "Please upload your file.")
    resp = await post_parts(client, ("file", "a.txt", "text/plain", b"a"), ("other", "b.txt", "text/plain", b"b"))
    await expect_error(resp, 400, "too_many_files", "Only one file is allowed.")
    resp = await post_parts(client, ("file", "", None, b"a"))  # no type before no name
    assert resp.status == 400 and await resp.read() == b'{"code":"invalid_param","message":"","status":400}\n'
    resp = await post_parts(client, ("file", "", "text/plain", b"a"))
    await expect_error(resp, 400, "filename_not_exists_error", "The specified filename does not exist.")
    resp = await post_parts(client, ("file", "a/b.txt", "text/plain", b"a"))
    await expect_error(resp, 400, "invalid_param", "Filename contains invalid characters")


@pytest.mark.parametrize(
    ("version", "answer", "status"),
    [
        ("1.14", b'{"code":"invalid_param","message":"","status":400}\n', 400),
        ("1.16", b'{"code":"file_too_large","message":"","status":413}\n', 413),
    ],
)
async def test_a_file_over_its_limit_is_each_releases_error(make_client, version, answer, status):
    client = await make_client(dify_version=version, upload_limit=(("other", 1),))
    resp = await post_parts(client, ("file", "a.txt", "text/plain", b"x" * (1024 * 1024 + 1)))
    assert resp.status == status and await resp.read() == answer
    resp = await post_parts(client, ("file", "a.txt", "text/plain", b"x" * (1024 * 1024)))
    assert resp.status == 201


async def test_an_app_key_is_refused(client, expect_error):
    body, headers = multipart(("file", "a.txt", "text/plain", b"a"))
    resp = await client.post(UPLOAD, data=body, headers={**h("app-chat"), **headers})
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")


# A dataset's pipeline ------------------------------------------------------------------------------


async def test_a_dataset_without_a_pipeline_is_refused_after_the_checks(client, expect_error):
    ds = await dataset(client)
    resp = await client.get(f"/v1/datasets/{ds}/pipeline/datasource-plugins", headers=h())
    assert resp.status == 400 and await resp.read() == NO_PIPELINE
    resp = await client.post(f"/v1/datasets/{ds}/pipeline/datasource/nodes/start/run", json=NODE_BODY, headers=h())
    assert resp.status == 400 and await resp.read() == NO_PIPELINE
    resp = await client.post(f"/v1/datasets/{ds}/pipeline/run", json=RUN_BODY, headers=h())
    assert resp.status == 400 and await resp.read() == NO_PIPELINE


async def test_the_bodies_are_checked_before_the_pipeline(client, expect_error):
    ds = await dataset(client)
    resp = await client.post(f"/v1/datasets/{ds}/pipeline/datasource/nodes/n1/run", json={}, headers=h())
    text = missing("DatasourceNodeRunPayload", "inputs", "datasource_type", "is_published")
    await expect_error(resp, 400, "invalid_param", text)
    resp = await client.post(f"/v1/datasets/{ds}/pipeline/run", json={}, headers=h())
    names = ("inputs", "datasource_type", "datasource_info_list", "start_node_id", "is_published", "response_mode")
    await expect_error(resp, 400, "invalid_param", missing("PipelineRunApiEntity", *names))


async def test_is_published_is_a_pydantic_bool_from_1_15_and_any_text_before(make_client, expect_error):
    new = await make_client()
    ds = await dataset(new)
    resp = await new.get(f"/v1/datasets/{ds}/pipeline/datasource-plugins?is_published=abc", headers=h())
    text = (
        "1 validation error for DatasourcePluginsQuery\nis_published\n  Input should be a valid boolean, unable to "
        "interpret input [type=bool_parsing, input_value='abc', input_type=str]\n    For further information visit "
        "https://errors.pydantic.dev/2.12/v/bool_parsing"
    )
    await expect_error(resp, 400, "invalid_param", text)
    old = await make_client(dify_version="1.14")
    ds = await dataset(old)
    for query in ("?is_published=abc", "?is_published=", ""):
        resp = await old.get(f"/v1/datasets/{ds}/pipeline/datasource-plugins{query}", headers=h())
        assert resp.status == 400 and await resp.read() == NO_PIPELINE


async def test_an_unknown_dataset_is_404_with_the_hint_only_on_datasource_plugins(client, expect_error):
    path = f"/v1/datasets/{UNKNOWN_UUID}/pipeline/datasource-plugins"
    resp = await client.get(path, headers=h())
    hint = f"You have requested this URI [{path}] but did you mean {path.replace(UNKNOWN_UUID, '<uuid:dataset_id>')} ?"
    await expect_error(resp, 404, "not_found", f"Dataset not found. {hint}")
    resp = await client.post(f"/v1/datasets/{UNKNOWN_UUID}/pipeline/run", json=RUN_BODY, headers=h())
    await expect_error(resp, 404, "not_found", "Dataset not found.")
    resp = await client.post(
        f"/v1/datasets/{UNKNOWN_UUID}/pipeline/datasource/nodes/n1/run", json=NODE_BODY, headers=h()
    )
    await expect_error(resp, 404, "not_found", "Dataset not found.")


async def test_1_12_has_none_of_the_four_routes(make_client):
    client = await make_client(dify_version="1.12")
    ds = await dataset(client)
    body, headers = multipart(("file", "a.txt", "text/plain", b"a"))
    for method, path, kw in [
        ("POST", UPLOAD, {"data": body, "headers": {**h(), **headers}}),
        ("GET", f"/v1/datasets/{ds}/pipeline/datasource-plugins", {"headers": h()}),
        ("POST", f"/v1/datasets/{ds}/pipeline/datasource/nodes/n1/run", {"json": NODE_BODY, "headers": h()}),
        ("POST", f"/v1/datasets/{ds}/pipeline/run", {"json": RUN_BODY, "headers": h()}),
    ]:
        resp = await client.request(method, path, **kw)
        assert resp.status == 404 and await resp.text() == NOT_FOUND_HTML


async def test_a_scenario_can_answer_a_node_runs_event_stream(client, parse_sse):
    ds = await dataset(client)
    frames = (
        'data: {"event":"datasource_processing","total":0,"completed":0}\n\n'
        'data: {"event":"datasource_completed","data":[],"total":0,"completed":0,"time_consuming":0.01}\n\n'
    )
    stub = {"endpoint": "knowledge.run_datasource_node", "tenant": "s:kpipe"}
    resp = await client.post(
        "/_mock/scenarios", json={**stub, "scenario": {"action": "none", "respond": {"blocking": frames}}}
    )
    assert resp.status == 201, await resp.text()
    resp = await client.post(f"/v1/datasets/{ds}/pipeline/datasource/nodes/n1/run", json=NODE_BODY, headers=h())
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    events = parse_sse(await resp.read())
    assert [e["event"] for e in events] == ["datasource_processing", "datasource_completed"]
