"""F8 over HTTP: a user's scenario in run_workflow.yaml answers on both workflow run routes, because
run_workflow_by_id.yaml extends it; lint renders it on both."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mockserver.settings import Settings
from mockserver.tools import lint
from tests.support.cli_inprocess import invoke

WORKFLOW_ID = "7c3e33d4-2a8b-4e5f-9b1a-d3c6e8f12345"  # app-workflow's workflow_id in _apps.yaml
INVOICE = """
scenarios:
  invoice:
    match: {body.inputs.query: {startswith: INV}}
    respond:
      stream:
        events:
          - {event: workflow_started}
          - {event: workflow_finished, data: {outputs: {result: "invoice {{ request.inputs.query }}"}}}
"""


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "run_workflow.yaml").write_text(textwrap.dedent(INVOICE).lstrip())
    return tmp_path


@pytest.mark.parametrize("path", ["/v1/workflows/run", f"/v1/workflows/{WORKFLOW_ID}/run"])
async def test_a_user_scenario_in_run_workflow_answers_on_both_routes(make_client, user_dir, path):
    client = await make_client(fixtures=(user_dir,))
    body = {"inputs": {"query": "INV-7"}, "user": "u", "response_mode": "blocking"}
    resp = await client.post(path, json=body, headers={"Authorization": "Bearer app-workflow"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["data"]["outputs"] == {"result": "invoice INV-7"}
    other = {**body, "inputs": {"query": "hello"}}
    resp = await client.post(path, json=other, headers={"Authorization": "Bearer app-workflow"})
    assert (await resp.json())["data"]["outputs"] == {"result": "Processed: hello"}  # the inherited default


def test_lint_checks_the_inherited_scenario_once(user_dir: Path) -> None:
    catalogue, book = lint.load(Settings(fixtures=(user_dir,)))
    rendered = {p.spec.id for p in lint.probes(catalogue, book) if p.scenario.name == "invoice"}
    assert rendered == {"service.run_workflow", "service.run_workflow_by_id"}
    result = invoke("lint", str(user_dir))
    assert result.exit_code == 0, result.stdout
    broken = user_dir / "service" / "run_workflow.yaml"
    broken.write_text(broken.read_text().replace("workflow_finished, data", "workflow_finishd, data"))
    result = invoke("lint", str(user_dir))
    lines = [line for line in result.stdout.splitlines() if line and not line[0].isspace()]
    assert result.exit_code == 1 and lines == [
        f"{broken}:8:21: unknown event 'workflow_finishd' (did you mean 'workflow_finished'?)"
    ]
