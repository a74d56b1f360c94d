"""Fuzz every operation of the served OpenAPI document (GET /_mock/openapi.json), positive and negative
(issue 13, robustness): no 5xx of the mock, every error in Dify's envelope, every success conforming to
its schema (the server runs --strict, which answers 500 mock_schema_violation for a body its schema
refuses, so "no 5xx" covers it), and no crash in the journal.

Hypothesis with strategies built from the document's schemas (tests/support/schema_strategies.py says
why not schemathesis); examples and time are bounded (FUZZ_EXAMPLES per operation and kind,
derandomized, so CI runs the same cases every time)."""

from __future__ import annotations

import http.client
import json
import os
import string
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_strategies import JSON, broken, from_schema

from mockserver.app import create_app
from mockserver.catalogue import load_catalogue
from mockserver.control.openapi import emulated
from mockserver.keys import TENANTS
from mockserver.settings import Settings
from mockserver.testing.server import ThreadedMockServer

FUZZ_EXAMPLES = int(os.environ.get("DIFY_MOCK_FUZZ_EXAMPLES", "15"))  # ~10 s for all; more: set the variable
DOCUMENT = emulated(load_catalogue(Settings().schemas()))
OPERATIONS = [
    (method.upper(), path, op)
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]
ENVELOPE = {"code", "message", "status"}
# Dify's generic handler for what escapes a controller (a JSON body that is not an object, nesting past
# the recursion limit): Dify's own 500, not a failure of the mock (errors.py "unknown").
DIFY_UNKNOWN = {"message": "Internal Server Error", "code": "unknown", "status": 500}
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Server:
    """The real runner on its own thread, strict, and one keep-alive connection to it."""

    def __init__(self) -> None:
        app = create_app(Settings(pace_scale=0.0, strict=True, seed=0))
        self.threaded = ThreadedMockServer(app=app)
        self.threaded.start()
        parsed = urllib.parse.urlsplit(self.threaded.base_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        status, _, body = self.send("GET", "/v1/datasets", {"Authorization": "Bearer dataset-demo"})
        self.dataset_ids = [d["id"] for d in json.loads(body)["data"]] if status == 200 else []

    def send(self, method: str, target: str, headers: dict[str, str], body: bytes | None = None) -> Any:
        for attempt in (1, 2):
            try:
                self.conn.request(method, target, body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.getheader("Content-Type") or "", resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()
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


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def path_value(name: str, server: Server, valid: bool) -> st.SearchStrategy[str]:
    ids = st.uuids().map(str)
    if name == "dataset_id" and server.dataset_ids:
        ids = st.sampled_from(server.dataset_ids) | ids
    if name in ("action",):
        ids = st.sampled_from(["enable", "disable", "add", "remove"]) | ids
    if valid:
        return ids
    return ids | st.text(string.printable, min_size=1, max_size=40)


@st.composite
def requests(draw: st.DrawFn, method: str, path: str, op: dict[str, Any], server: Server, valid: bool) -> Any:
    target = path
    query: dict[str, str] = {}
    for param in op.get("parameters", []):
        schema = param.get("schema", {})
        if param["in"] == "path":
            value = draw(path_value(param["name"], server, valid))
            target = target.replace("{" + param["name"] + "}", urllib.parse.quote(value, safe=""))
        elif param["in"] == "query":
            if not valid and draw(st.booleans()):
                query[param["name"]] = draw(st.text(max_size=12))
            elif param.get("required") or draw(st.booleans()):
                value = draw(from_schema(schema, DOCUMENT))
                if value is not None:
                    query[param["name"]] = as_text(value)
    if query:
        target += "?" + urllib.parse.urlencode(query)
    headers = {"Authorization": f"Bearer {key_for(path)}", "X-Mock-Session": f"fuzz-{op['x-endpoint-id']}"}
    if not valid and draw(st.integers(0, 9)) == 0:
        headers["Authorization"] = draw(st.sampled_from(["Bearer nope", "Basic abc", ""]))
    body: bytes | None = None
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        schema = content["application/json"].get("schema", {})
        headers["Content-Type"] = "application/json"
        if valid:
            body = json.dumps(draw(from_schema(schema, DOCUMENT))).encode()
        else:
            choice = draw(st.integers(0, 3))
            if choice == 0:
                body = draw(st.binary(max_size=64))
            elif choice == 1:
                headers["Content-Type"] = draw(st.sampled_from(["text/plain", "application/x-www-form-urlencoded"]))
                body = json.dumps(draw(broken(schema, DOCUMENT))).encode()
            else:
                body = json.dumps(draw(broken(schema, DOCUMENT))).encode()
    elif "multipart/form-data" in content:
        schema = content["multipart/form-data"].get("schema", {})
        boundary = "fuzzboundary"
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        if valid:
            parts = b""
            for name, prop in (schema.get("properties") or {}).items():
                if prop.get("format") == "binary" or name == "file":
                    filename = draw(st.sampled_from(["a.txt", "a.png", "a.mp3", "a.pdf", "noext"]))
                    data = draw(st.binary(max_size=256))
                    parts += (
                        (
                            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                            f"Content-Type: application/octet-stream\r\n\r\n"
                        ).encode()
                        + data
                        + b"\r\n"
                    )
                else:
                    value = draw(from_schema(prop, DOCUMENT))
                    text = json.dumps(value) if isinstance(value, dict | list) else as_text(value)
                    parts += (
                        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'
                    ).encode()
            body = parts + f"--{boundary}--\r\n".encode()
        else:
            body = draw(st.binary(max_size=256))
    elif method in ("POST", "PUT", "PATCH") and not valid and draw(st.booleans()):
        headers["Content-Type"] = "application/json"
        body = json.dumps(draw(JSON)).encode()
    return method, target, headers, body


def check(method: str, target: str, status: int, content_type: str, raw: bytes) -> None:
    where = f"{method} {target} -> {status}: {raw[:300]!r}"
    if status >= 500:
        assert json.loads(raw) == DIFY_UNKNOWN, where
        return
    if status < 400:
        return
    if content_type.startswith("text/html"):
        assert status == 404, where  # Flask's page for a path no route matches (a path value with `/`)
        return
    assert content_type.startswith("application/json"), where
    body = json.loads(raw)
    if set(body) == {"error"}:  # the segment create's own `return {"error": str(e)}, 400` (errors.py raw)
        return
    assert set(body) >= ENVELOPE, where
    assert body["status"] == status, where
    assert isinstance(body["message"], str) and isinstance(body["code"], str), where


IDS = [f"{method} {path}" for method, path, _ in OPERATIONS]


@pytest.mark.parametrize("method, path, op", OPERATIONS, ids=IDS)
@pytest.mark.parametrize("valid", [True, False], ids=["positive", "negative"])
def test_fuzz_operation(server: Server, method: str, path: str, op: dict[str, Any], valid: bool) -> None:
    @FUZZ
    @given(request=requests(method, path, op, server, valid))
    def run(request: tuple[str, str, dict[str, str], bytes | None]) -> None:
        method_, target, headers, body = request
        status, content_type, raw = server.send(method_, target, headers, body)
        check(method_, target, status, content_type, raw)

    run()
    status, _, _ = server.send("GET", "/_mock/health", {"Host": "127.0.0.1"})
    assert status == 200


def test_every_operation_is_fuzzed() -> None:
    """The document serves every endpoint of the catalogue, so the fuzz above reaches each."""
    served = {op["x-endpoint-id"] for _, _, op in OPERATIONS}
    assert served == {spec.id for spec in load_catalogue(Settings().schemas())}
