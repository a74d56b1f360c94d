"""The README's endpoint table and coverage line are generated from the catalogue and checked against
Dify's published Service API spec (DESIGN §10, "Coverage is generated")."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec.structs import replace

from mockserver.catalogue import load_catalogue
from mockserver.endpoint import EndpointSpec
from mockserver.paths import schemas_dir
from mockserver.tools import coverage
from mockserver.tools.coverage import COMMAND, Operation, load_operations, match, normalise_path, render_region

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Read-only, beside the checkout (not in the wheel, not in the sdist).
OPENAPI = ROOT / ".." / "shared" / "dify-api" / "openapi" / "openapi_service.json"

needs_spec = pytest.mark.skipif(not OPENAPI.is_file(), reason=f"{OPENAPI} is not beside this checkout")


@pytest.fixture(scope="module")
def endpoints() -> list[EndpointSpec]:
    return list(load_catalogue(schemas_dir()))


@pytest.fixture(scope="module")
def operations() -> list[Operation]:
    return load_operations(OPENAPI)


@needs_spec
def test_the_published_spec_has_82_operations(operations):
    assert len(operations) == 82
    assert len({op.key for op in operations}) == 82


@needs_spec
def test_the_readme_region_is_what_the_generator_produces(endpoints, operations):
    region = coverage.current_region(README.read_text(encoding="utf-8"))
    assert region == render_region(endpoints, operations), f"README.md's endpoint table is stale: run `{COMMAND}`"


@needs_spec
def test_every_operation_id_names_a_published_operation_at_the_endpoints_route(endpoints, operations):
    result = match(endpoints, operations)
    assert result.problems == ()
    published = {op.operation_id for op in operations}
    for spec in endpoints:
        if spec.operation_id and spec.path.startswith("/v1/"):
            assert spec.operation_id in published, spec.id
    line = result.line
    print(line)
    assert line == f"{len(result.covered)} of 82 Dify Service API operations emulated"
    assert line in README.read_text(encoding="utf-8").splitlines()
    assert len(result.covered) + len(result.missing) == 82


def test_path_parameter_names_do_not_matter():
    assert normalise_path("/chat-messages/{task_id}/stop") == "/chat-messages/{}/stop"
    assert normalise_path("/datasets/{id:uuid}/documents/{batch}") == "/datasets/{}/documents/{}"
    assert normalise_path("/info") == "/info"


def _spec(endpoints: list[EndpointSpec], endpoint_id: str, **changes: object) -> EndpointSpec:
    spec = next(s for s in endpoints if s.id == endpoint_id)
    return replace(spec, **changes)


def test_matching_by_operation_id_by_route_and_what_never_counts(endpoints):
    ops = [
        Operation("/chat-messages/{task_id}/stop", "POST", "stopChatMessageGeneration"),
        Operation("/completion-messages", "POST", "createCompletionMessage"),
        Operation("/workflows/run", "POST", None),
        Operation("/completions", "PUT", "somethingElse"),
    ]
    catalogue = [
        # by route, parameter renamed, no operation_id
        _spec(endpoints, "service.stop_chat_message", path="/v1/chat-messages/{id}/stop", operation_id=None),
        # by operation_id; its seed alias /v1/completions is never counted
        _spec(endpoints, "service.create_completion_message", aliases=("/v1/completions",)),
        # a route the spec does not have: emulated beyond it, not counted
        _spec(endpoints, "service.get_index"),
        # the same published operation twice counts once
        _spec(endpoints, "service.run_workflow", operation_id=None),
        _spec(endpoints, "service.run_workflow_by_id", path="/v1/workflows/run", operation_id=None, id="service.x"),
    ]
    result = match(catalogue, ops)
    assert [op.path for op, _ in result.covered] == [
        "/chat-messages/{task_id}/stop",
        "/completion-messages",
        "/workflows/run",
    ]
    assert [op.operation_id for op in result.missing] == ["somethingElse"]
    assert [s.id for s in result.extra] == ["service.get_index"]
    assert result.problems == ()
    assert result.line == "3 of 4 Dify Service API operations emulated"


def test_an_operation_id_typo_or_one_naming_another_route_is_a_problem(endpoints):
    ops = [Operation("/chat-messages", "POST", "sendChatMessage"), Operation("/info", "GET", "getChatAppInfo")]
    catalogue = [
        _spec(endpoints, "service.send_chat_message", operation_id="sendChatMesage"),
        _spec(endpoints, "service.get_app_meta", operation_id="getChatAppInfo"),
    ]
    result = match(catalogue, ops)
    assert len(result.problems) == 2
    assert "'sendChatMesage' is no operationId" in result.problems[1]
    assert "is GET /v1/info in the published spec, but the endpoint is GET /v1/meta" in result.problems[0]
    assert [op.operation_id for op in result.missing] == ["sendChatMessage"]


def test_the_table_groups_by_api_and_sorts_by_path_then_method(endpoints):
    table = coverage.endpoint_table(endpoints)
    groups = table.split("**")[1:]  # title, table, title, table ...: one pair per API
    assert groups[0:3:2] == ["Service API (`/v1`, app keys)", "Knowledge API (`/v1`, knowledge keys)"]
    for group in groups:
        lines = group.splitlines()
        rows = [line for line in lines if line.startswith("| ") and not line.startswith("| Method")]
        keys = [(row.split(" | ")[1].strip("`"), row.split(" | ")[0].removeprefix("| ")) for row in rows]
        assert keys == sorted(keys)
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| Method")]
    chat = next(r for r in rows if "`service.send_chat_message`" in r)
    assert chat == (
        "| POST | `/v1/chat-messages` | `service.send_chat_message` | chat, advanced-chat, agent-chat, agent"
        " | json / SSE |  |"
    )
    assert "| `/v1/completions` |" in next(r for r in rows if "create_completion_message" in r)
    assert "| no key | json |" in next(r for r in rows if "`service.get_index`" in r)


@needs_spec
def test_check_fails_on_a_stale_region_and_write_fixes_it(tmp_path, capsys, endpoints, operations):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{coverage.START}\n| old |\n{coverage.END}\n\ntail\n", encoding="utf-8")
    assert coverage.main(["--check", str(readme), "--openapi", str(OPENAPI)]) == 1
    err = capsys.readouterr().err
    assert COMMAND in err and "-| old |" in err
    assert coverage.main(["--write", str(readme), "--openapi", str(OPENAPI)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# x\n\n") and text.endswith("\n\ntail\n")
    assert coverage.current_region(text) == render_region(endpoints, operations)
    assert coverage.main(["--check", str(readme), "--openapi", str(OPENAPI)]) == 0


def test_missing_markers_are_reported(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n", encoding="utf-8")
    spec = tmp_path / "openapi.json"
    spec.write_text('{"paths": {"/info": {"get": {"operationId": "getChatAppInfo"}}}}', encoding="utf-8")
    assert coverage.main(["--check", str(readme), "--openapi", str(spec)]) == 1
    assert "expected one <!-- endpoints:start -->" in capsys.readouterr().err
