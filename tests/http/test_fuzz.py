"""Fuzz every operation of the served OpenAPI document (GET /_mock/openapi.json, built here as the server
builds it) with schemathesis, positive and negative (issue 13, robustness): no 5xx of the mock (only
Dify's own, DIFY_500), every error in Dify's envelope, every success conforming to its schema
(schemathesis' response_schema_conformance; the server also runs --strict, which answers 500
mock_schema_violation for a body or a stream's event its schema refuses), and no crash in the journal.

Cases come from schemathesis' strategies (`APIOperation.as_strategy`, one per operation and mode) under
plain pytest parametrization, not `schema.parametrize()`: pytest 9.2 makes a node id of an item's
`originalname` and its parametrization, and schemathesis 4.32 gives every operation's item the test
function's name as `originalname`, so all share one node id (which breaks selection, --lf and reports).
Bounded for CI: FUZZ_EXAMPLES per operation and mode, derandomized, one tenant per operation and mode, so
every run sends the same requests (~15 s with -n 2)."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import response_schema_conformance

from mockserver.app import create_app
from mockserver.catalogue import load_catalogue
from mockserver.control.openapi import emulated
from mockserver.keys import TENANTS
from mockserver.settings import Settings
from mockserver.testing.server import ThreadedMockServer

FUZZ_EXAMPLES = int(os.environ.get("DIFY_MOCK_FUZZ_EXAMPLES", "15"))
DOCUMENT = emulated(load_catalogue(Settings().schemas()))
ENVELOPE = {"code", "message", "status"}
# Dify's own 500s, which the mock emulates (not failures of the mock): `unknown` from its generic handler,
# for what escapes a controller (a JSON body that is not an object, a tag id Postgres refuses as a uuid,
# an action the match has no case for); `internal_server_error` from the controllers that wrap any
# exception in InternalServerError(str(e)) (hit testing's metadata filter with null conditions). The
# mock's own crash also answers `internal_server_error`, but its journal entry says `crash`: checked.
DIFY_500 = {"unknown", "internal_server_error"}
# An event stream's events are checked by the strict server (each against the events schema before the
# stream starts: 500 mock_schema_violation), not by schemathesis: the document's `text/event-stream` schema
# is the whole body, a string (OpenAPI 3.1), where schemathesis reads an event stream's `schema` as each
# event's (the convention before OpenAPI 3.2's itemSchema).
SSE = "text/event-stream"
HEADER = ParameterLocation.HEADER
# What Server.world makes, for its path values.
METADATA = {"type": "string", "name": "fuzz"}
DOCUMENT_BY_TEXT = {
    "name": "doc",
    "text": "Alpha line.",
    "indexing_technique": "economy",
    "process_rule": {"mode": "automatic"},
}
SEGMENTS = {"segments": [{"content": "Beta line."}]}
CHAT = {"inputs": {}, "query": "hi", "user": "fuzz", "response_mode": "blocking"}
ANNOTATION = {"question": "q", "answer": "a"}
WORKFLOW = {"inputs": {}, "user": "fuzz", "response_mode": "blocking"}
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz_schema(security: bool) -> Any:
    # Positive cases carry the operation's built-in key (key_for). Negative ones may break the
    # Authorization header too (with-security-parameters), so an operation with no parameter and no body
    # still has something to negate (`authorize`). A stream is read to its end (max-stream-events).
    config = schemathesis.Config.from_dict(
        {"generation": {"with-security-parameters": security}, "max-stream-events": 100_000}
    )
    return schemathesis.openapi.from_dict(DOCUMENT, config=config)


SCHEMAS = {GenerationMode.POSITIVE: fuzz_schema(False), GenerationMode.NEGATIVE: fuzz_schema(True)}
OPERATIONS = [
    (method.upper(), path, op)
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]


def negatable(op: dict[str, Any]) -> bool:
    """Whether a negative case exists: something declared to break (GET /v1/ has nothing)."""
    return bool(op.get("parameters") or op.get("requestBody") or op.get("security"))


CASES = [
    pytest.param(mode, method, path, op, id=f"{mode.value}-{method} {path}")
    for mode in SCHEMAS
    for method, path, op in OPERATIONS
    if mode is GenerationMode.POSITIVE or negatable(op)
]


class Server:
    """The real runner on its own thread, strict, and one keep-alive session to it."""

    def __init__(self) -> None:
        app = create_app(Settings(pace_scale=0.0, strict=True, seed=0))
        self.threaded = ThreadedMockServer(app=app)
        self.base_url = self.threaded.start()
        self.session = requests.Session()
        self.worlds: dict[str, dict[str, list[str]]] = {}

    def post(self, path: str, key: str, tenant: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}", "X-Mock-Session": tenant}
        resp = self.session.post(f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs)
        assert resp.status_code in (200, 201), f"{path}: {resp.status_code} {resp.text[:300]}"
        return resp.json()

    def world(self, tenant: str, names: set[str]) -> dict[str, list[str]]:
        """Path values that exist in the tenant, for the path parameters `names` (see `steer`): what a
        client would have made before calling the operation (a dataset, its document, segment, child
        chunk, metadata field; a conversation and message, an annotation, a file, a workflow run)."""
        if tenant in self.worlds:
            return self.worlds[tenant]
        known: dict[str, list[str]] = {"action": ["enable", "disable", "add", "remove"]}
        datasets = {"dataset_id", "document_id", "batch", "segment_id", "child_chunk_id", "metadata_id"}
        if names & datasets:
            key, base = "dataset-demo", "/v1/datasets"
            dataset = self.post(base, key, tenant, json={"name": "fuzz"})["id"]
            known["dataset_id"] = [dataset]
            known["metadata_id"] = [self.post(f"{base}/{dataset}/metadata", key, tenant, json=METADATA)["id"]]
            made = self.post(f"{base}/{dataset}/document/create-by-text", key, tenant, json=DOCUMENT_BY_TEXT)
            document, known["batch"] = made["document"]["id"], [made["batch"]]
            known["document_id"] = [document]
            status = f"{self.base_url}{base}/{dataset}/documents/{made['batch']}/indexing-status"
            for _ in range(10):  # each read moves indexing one step on
                answer = self.session.get(status, headers={"Authorization": f"Bearer {key}", "X-Mock-Session": tenant})
                if answer.json()["data"][0]["indexing_status"] == "completed":
                    break
            segment = self.post(f"{base}/{dataset}/documents/{document}/segments", key, tenant, json=SEGMENTS)
            known["segment_id"] = [segment["data"][0]["id"]]
            chunks = f"{base}/{dataset}/documents/{document}/segments/{known['segment_id'][0]}/child_chunks"
            known["child_chunk_id"] = [self.post(chunks, key, tenant, json={"content": "child"})["data"]["id"]]
        if names & {"conversation_id", "message_id", "task_id"}:
            chat = self.post("/v1/chat-messages", "app-chat", tenant, json=CHAT)
            known["conversation_id"], known["message_id"] = [chat["conversation_id"]], [chat["message_id"]]
            known["task_id"] = [chat["task_id"]]
        if "annotation_id" in names:
            known["annotation_id"] = [self.post("/v1/apps/annotations", "app-chat", tenant, json=ANNOTATION)["id"]]
        if "file_id" in names:
            upload = {"files": {"file": ("a.txt", b"hello", "text/plain")}, "data": {"user": "fuzz"}}
            known["file_id"] = [self.post("/v1/files/upload", "app-chat", tenant, **upload)["id"]]
        if "workflow_run_id" in names:
            run = self.post("/v1/workflows/run", "app-workflow", tenant, json=WORKFLOW)
            known["workflow_run_id"], known["task_id"] = [run["workflow_run_id"]], [run["task_id"]]
        self.worlds[tenant] = known
        return known

    def close(self) -> None:
        self.session.close()
        self.threaded.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    served = Server()
    yield served
    entries, _ = served.threaded.app[TENANTS].journal(None)
    served.close()
    broken_entries = [e["error"] for e in entries if (e.get("error") or {}).get("crash")]
    assert not broken_entries, f"the mock crashed: {broken_entries[:3]}"
    violations = [e["error"] for e in entries if (e.get("error") or {}).get("code") == "mock_schema_violation"]
    assert not violations, f"the mock emitted what its schema refuses: {violations[:3]}"


def key_for(path: str) -> str:
    if path.startswith(("/v1/datasets", "/v1/workspaces")):
        return "dataset-demo"
    if path.startswith(("/v1/workflow", "/v1/form")):
        return "app-workflow"
    if path.startswith(("/v1/completion", "/v1/completions")):
        return "app-completion"
    return "app-chat"


def steer(case: Any, known: dict[str, list[str]]) -> None:
    """Half of the generated values of a known path parameter become a value that exists (Server.world's,
    an action the route takes), so those operations reach past their 404; chosen by the generated value's
    checksum, which keeps the run deterministic."""
    for name, value in (case.path_parameters or {}).items():
        values = known.get(name)
        if isinstance(value, str) and values:
            digest = zlib.crc32(value.encode())
            if digest % 2 == 0:
                case.path_parameters[name] = values[digest // 2 % len(values)]


def authorize(case: Any, mode: GenerationMode, path: str) -> None:
    """The operation's built-in key, unless this negative case broke the Authorization header (a wrong
    value or none): a generated value elsewhere would stop every other negation at the 401."""
    if mode is GenerationMode.NEGATIVE and case.meta is not None and case.meta.is_negative_at(HEADER):
        return
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key_for(path)}"}


def check(case: Any, response: Any, server: Server, tenant: str) -> None:
    status, raw = response.status_code, response.content
    where = f"{case.method} {response.request.url} -> {status}: {raw[:300]!r}"
    content_type = (response.headers.get("content-type") or [""])[0]
    if status >= 500:
        body = json.loads(raw)
        assert set(body) == ENVELOPE and body["status"] == 500 and body["code"] in DIFY_500, where
        # A JSON answer is journaled before it is sent, so the tenant's last entry is this request's.
        entries, _ = server.threaded.app[TENANTS].journal(f"s:{tenant}")
        assert not entries[-1]["error"].get("crash"), f"the mock crashed: {where}"
        return
    if status < 400:
        if not content_type.startswith(SSE):
            case.validate_response(response, checks=[response_schema_conformance])
        return
    if content_type.startswith("text/html"):
        assert status == 404, where  # Flask's page for a path no route matches (a path value with `/`)
        return
    assert content_type.startswith("application/json"), where
    body = json.loads(raw)
    if set(body) == {"error"}:  # the segment create's own `return {"error": str(e)}, 400` (errors.py raw)
        return
    assert set(body) == ENVELOPE, where
    assert body["status"] == status, where
    assert isinstance(body["message"], str) and isinstance(body["code"], str), where


@pytest.mark.parametrize("mode, method, path, op", CASES)
def test_fuzz_operation(server: Server, mode: GenerationMode, method: str, path: str, op: dict[str, Any]) -> None:
    operation = SCHEMAS[mode][path][method]
    tenant = f"fuzz-{mode.value}-{op['x-endpoint-id']}"  # one per item: the same cases under any xdist split
    known = server.world(tenant, {p["name"] for p in op.get("parameters", []) if p["in"] == "path"})

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode, headers={"X-Mock-Session": tenant}))
    def run(case: Any) -> None:
        steer(case, known)
        if op.get("security"):
            authorize(case, mode, path)
        response = case.call(base_url=server.base_url, session=server.session, timeout=30)
        check(case, response, server, tenant)

    run()
    assert server.session.get(f"{server.base_url}/_mock/health").status_code == 200


def test_the_fuzzed_document_is_the_served_one(server: Server) -> None:
    assert server.session.get(f"{server.base_url}/_mock/openapi.json").json() == DOCUMENT


def test_every_operation_is_fuzzed() -> None:
    """The document serves every endpoint of the catalogue, so the fuzz above reaches each."""
    fuzzed = {op["x-endpoint-id"] for _, _, op in OPERATIONS}
    assert fuzzed == {spec.id for spec in load_catalogue(Settings().schemas())}
    assert len(CASES) == 2 * len(OPERATIONS) - sum(not negatable(op) for _, _, op in OPERATIONS)
