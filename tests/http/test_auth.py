"""Service API authentication and routing errors (REFERENCE §1.3, §1.4, §2.1, §11.1)."""

from __future__ import annotations

import json

import pytest
from dify_facts import NOT_FOUND_HTML

MISSING = "Authorization header must be provided and start with 'Bearer'"
SCHEME = "Authorization scheme must be 'Bearer'"
INVALID = "Access token is invalid"
NOT_ALLOWED = "The method is not allowed for the requested URL."

CHAT_BODY = {"inputs": {}, "query": "hi", "user": "u1"}

# (method, path, json body) of app routes that need a key.
APP_ROUTES = [
    ("GET", "/v1/info", None),
    ("GET", "/v1/parameters", None),
    ("POST", "/v1/chat-messages", CHAT_BODY),
    ("POST", "/v1/workflows/run", {"inputs": {}, "user": "u1"}),
    ("POST", "/v1/chat-messages/some-task/stop", {"user": "u1"}),
]


@pytest.mark.parametrize(("method", "path", "body"), APP_ROUTES)
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, MISSING),
        ({"Authorization": "app-chat"}, MISSING),  # no space at all
        ({"Authorization": "Bearer"}, MISSING),
        ({"Authorization": "Basic x"}, SCHEME),
        ({"Authorization": "Token app-chat"}, SCHEME),
        ({"Authorization": "Bearer app-unknown"}, INVALID),
        ({"Authorization": "Bearer app-CHAT"}, INVALID),  # the lookup is exact
        ({"Authorization": "Bearer dataset-demo"}, INVALID),  # knowledge key on an app route
    ],
    ids=["no-header", "no-space", "bearer-only", "basic", "token-scheme", "unknown", "wrong-case", "dataset-key"],
)
async def test_rejected_credentials(client, expect_error, method, path, body, headers, message):
    resp = await client.request(method, path, json=body, headers=headers)
    await expect_error(resp, 401, "unauthorized", message)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
async def test_scheme_is_case_insensitive(client, scheme):
    resp = await client.get("/v1/info", headers={"Authorization": f"{scheme} app-chat"})
    assert resp.status == 200
    body = await resp.json()
    assert body["mode"] == "chat"


async def test_auth_is_checked_before_the_body(client, expect_error):
    # Pipeline order (§1.4): a request with a bad key and a bad body is a 401, not a 400/415.
    resp = await client.post("/v1/chat-messages", data=b"not json", headers={"Content-Type": "text/plain"})
    await expect_error(resp, 401, "unauthorized", MISSING)
    resp = await client.post("/v1/chat-messages", json={"inputs": {}}, headers={"Authorization": "Bearer nope"})
    await expect_error(resp, 401, "unauthorized", INVALID)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer app-chat"}])
async def test_index_needs_no_auth(client, headers):
    resp = await client.get("/v1/", headers=headers)
    assert resp.status == 200
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"welcome", "api_version", "server_version"}
    assert body["welcome"] == "Dify OpenAPI"
    assert body["api_version"] == "v1"
    assert isinstance(body["server_version"], str) and body["server_version"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer app-chat"}, {"Authorization": "Basic x"}], ids=["none", "valid", "bad"]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/nope"), ("POST", "/v1/chat-message"), ("GET", "/v1/info/extra"), ("GET", "/nowhere")],
)
async def test_unknown_route_is_404_before_auth(client, headers, method, path):
    # Dify's Service API has no catch-all 404 handler: an unknown route is Flask's HTML page
    # (api/libs/external_api.py, dify 1.16.1 :167-191 sets catch_all_404s only for /openapi/v1).
    resp = await client.request(method, path, headers=headers)
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert await resp.text() == NOT_FOUND_HTML
    assert "WWW-Authenticate" not in resp.headers


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer app-chat"}, {"Authorization": "Basic x"}], ids=["none", "valid", "bad"]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/info"),
        ("POST", "/v1/parameters"),
        ("GET", "/v1/chat-messages"),
        ("PUT", "/v1/workflows/run"),
        ("GET", "/v1/chat-messages/t1/stop"),
    ],
)
async def test_wrong_method_is_405_before_auth(client, expect_error, headers, method, path):
    resp = await client.request(method, path, headers=headers)
    await expect_error(resp, 405, "method_not_allowed", NOT_ALLOWED)
    assert "WWW-Authenticate" not in resp.headers


async def test_oversize_body_is_413_in_difys_envelope(make_client):
    client = await make_client(max_body_bytes=1024)
    body = {"inputs": {}, "query": "x" * 4096, "user": "u"}
    resp = await client.post("/v1/chat-messages", json=body, headers={"Authorization": "Bearer app-chat"})
    assert resp.status == 413
    payload = await resp.json()
    assert set(payload) == {"code", "message", "status"} and payload["status"] == 413
    assert payload["code"] == "request_entity_too_large"


async def test_body_at_the_limit_is_read_and_one_byte_over_is_413(make_client):
    body = json.dumps({"inputs": {}, "query": "x" * 100, "user": "u"}).encode()
    client = await make_client(max_body_bytes=len(body))
    headers = {"Authorization": "Bearer app-chat", "Content-Type": "application/json"}
    resp = await client.post("/v1/chat-messages", data=body, headers=headers)
    assert resp.status == 200 and (await resp.json())["answer"] == "You asked: " + "x" * 100
    over = body[:-1] + b" }"  # the same document, one byte longer
    resp = await client.post("/v1/chat-messages", data=over, headers=headers)
    assert resp.status == 413 and (await resp.json())["code"] == "request_entity_too_large"


@pytest.mark.parametrize(
    ("method", "path", "api"),
    [
        ("GET", "/console/api/apps", "Console API"),
        ("GET", "/api/parameters", "Web App API"),
    ],
)
async def test_a_dify_route_not_emulated_yet_says_so(client, expect_error, method, path, api):
    # newcomer-trial F2: not "check your spelling" for a route real Dify serves.
    resp = await client.request(method, path, headers={"Authorization": "Bearer app-chat"})
    body = await expect_error(resp, 404, "not_found")
    assert body["message"].startswith("dify-mockserver does not emulate") and api in body["message"]
    entry = (await (await client.get("/_mock/journal")).json())["data"][-1]
    assert entry["unmatched"] is True and entry["unmatched_reason"] == "not emulated"


async def test_every_dify_response_names_the_release(client):
    # Dify's after-request hook (extensions/ext_app_metrics.py) sends X-Version and X-Env everywhere:
    # answers, errors, Flask's HTML 404, a stream's head, a dribbled body (both sent before the
    # middleware sees them).
    chat = {"Authorization": "Bearer app-chat"}
    body = {"inputs": {}, "query": "hi", "user": "u1"}
    answers = [
        await client.get("/v1/"),
        await client.get("/v1/info", headers=chat),
        await client.get("/v1/info"),
        await client.get("/v1/nope"),
        await client.get("/v1/conversations/", headers=chat),
        await client.post("/v1/chat-messages", json=body, headers=chat),
        await client.post("/v1/chat-messages", json={**body, "response_mode": "streaming"}, headers=chat),
        await client.post("/v1/chat-messages", json=body, headers={**chat, "X-Mock-Fault": "dribble;bytes=64;ms=1"}),
        await client.post("/v1/chat-messages", json=body, headers={**chat, "X-Mock-Fault": "rate_limit"}),
    ]
    for resp in answers:
        await resp.read()
        assert (resp.status, resp.headers["X-Version"], resp.headers["X-Env"]) == (resp.status, "1.16.1", "PRODUCTION")
    assert [r.status for r in answers] == [200, 200, 401, 404, 404, 200, 200, 200, 429]
    assert answers[6].headers["Content-Type"].startswith("text/event-stream")
    assert "X-Version" not in (await client.get("/_mock/health")).headers


@pytest.mark.parametrize(
    "path", ["/v1/apps/annotations/0b0e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/", "/v1/conversations/", "/v1/datasets/"]
)
async def test_a_trailing_slash_is_flasks_html_404(client, path):
    # Flask's strict slashes: a rule written without one matches no path that has one, emulated or not.
    resp = await client.delete(path, headers={"Authorization": "Bearer app-chat"})
    assert resp.status == 404 and resp.content_type == "text/html"
