"""Routes with variable segments (mockserver/routing.py matches them without a regex per route): what
Flask's converters let through reaches the endpoint, what they refuse is the HTML 404, other methods
are 405, a GET answers HEAD."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID, auth

from mockserver.app import create_app
from mockserver.routing import SegmentResource
from mockserver.settings import Settings

DATASETS = "/v1/datasets"


def h(key: str = "dataset-demo") -> dict[str, str]:
    return auth(key)


async def test_a_uuid_segment_takes_any_case_and_refuses_anything_else(client: Any, expect_error: Any) -> None:
    resp = await client.get(f"{DATASETS}/{UNKNOWN_UUID.upper()}", headers=h())
    await expect_error(resp, 404, "not_found", "Dataset not found.")  # the route matched; the id is unknown
    for bad in ("not-a-uuid", UNKNOWN_UUID[:-1], UNKNOWN_UUID + "0", UNKNOWN_UUID.replace("-", "")):
        resp = await client.get(f"{DATASETS}/{bad}", headers=h())
        assert (resp.status, await resp.text()) == (404, NOT_FOUND_HTML), bad


async def test_segment_counts_and_literals_must_match(client: Any) -> None:
    for path in (
        f"{DATASETS}/{UNKNOWN_UUID}/documents/x/y/z/extra",
        f"{DATASETS}/{UNKNOWN_UUID}/metadatum",
        "/v1/workflows/run/",  # an empty variable segment
        "/v1/workflows/run/a/b",
    ):
        resp = await client.get(path, headers=h())
        assert (resp.status, await resp.text()) == (404, NOT_FOUND_HTML), path


async def test_a_plain_variable_segment_reaches_the_endpoint(client: Any, expect_error: Any) -> None:
    resp = await client.get("/v1/workflows/run/some-run", headers=auth("app-workflow"))
    await expect_error(resp, 404, "not_found", "Workflow run not found.")
    resp = await client.post("/v1/chat-messages/task%2Fone/stop", json={"user": "u"}, headers=auth("app-chat"))
    assert resp.status == 200 and await resp.json() == {"result": "success"}


async def test_other_methods_are_405_and_get_answers_head(client: Any, expect_error: Any) -> None:
    resp = await client.put(f"{DATASETS}/{UNKNOWN_UUID}/metadata", json={}, headers=h())
    await expect_error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"] and "POST" in resp.headers["Allow"]
    got = await client.get(f"{DATASETS}/{UNKNOWN_UUID}", headers=h())
    head = await client.head(f"{DATASETS}/{UNKNOWN_UUID}", headers=h())
    assert (head.status, await head.read()) == (got.status, b"")


def test_the_catalogue_routes_are_segment_resources_with_names_and_urls() -> None:
    app = create_app(Settings())
    resources = [r for r in app.router.resources() if isinstance(r, SegmentResource)]
    assert len(resources) > 50  # every variable route of the catalogue
    run = app.router["service.get_workflow_run"]
    assert isinstance(run, SegmentResource) and run.canonical == "/v1/workflows/run/{workflow_run_id}"
    assert str(run.url_for(workflow_run_id="a b")) == "/v1/workflows/run/a%20b"


async def test_mounted_under_a_prefix_the_variable_routes_still_match() -> None:
    outer = web.Application()
    outer.add_subapp("/dify", create_app(Settings(pace_scale=0.0)))
    async with TestClient(TestServer(outer)) as client:
        resp = await client.get("/dify/v1/workflows/run/some-run", headers=auth("app-workflow"))
        assert resp.status == 404 and (await resp.json())["message"] == "Workflow run not found."
        resp = await client.get(f"/dify{DATASETS}/{UNKNOWN_UUID}", headers=h())
        assert resp.status == 404 and (await resp.json())["message"] == "Dataset not found."
        resp = await client.get(f"{DATASETS}/{UNKNOWN_UUID}", headers=h())  # not mounted there
        assert resp.status == 404
