"""`extends: <api>/<stem>` (F8): a fixture inherits another's action, defaults, vars and scenarios
after every directory is merged; a broken `extends` is a located problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixture_dirs import problems, write

from mockserver.app import load
from mockserver.errors import FixtureError
from mockserver.paths import fixtures_dir
from mockserver.settings import Settings

INVOICE = """
scenarios:
  invoice:
    match: {body.inputs.query: {startswith: INV}}
    respond: {blocking: {data: {outputs: {result: invoiced}}}}
"""


def test_builtin_copies_are_one_fixture_now() -> None:
    _, book = load(Settings())
    by_id, run = book.fixtures["service.run_workflow_by_id"], book.fixtures["service.run_workflow"]
    assert by_id.action == run.action == "workflow.run"
    assert by_id.default.file == run.default.file == str(fixtures_dir() / "service" / "run_workflow.yaml")
    assert by_id.file.endswith("run_workflow_by_id.yaml") and by_id.endpoint == "service.run_workflow_by_id"
    assert set(by_id.vars) == set(run.vars) == {"result"}
    for stem in ("stop_completion_message", "stop_workflow_task"):
        assert book.fixtures[f"service.{stem}"].default.file.endswith("stop_chat_message.yaml")


def test_a_user_scenario_in_the_extended_file_applies_to_both(tmp_path: Path) -> None:
    write(tmp_path, "service/run_workflow.yaml", INVOICE)
    _, book = load(Settings(fixtures=(tmp_path,)))
    for endpoint in ("service.run_workflow", "service.run_workflow_by_id"):
        assert book.fixtures[endpoint].rules[0].name == "invoice", endpoint


def test_own_keys_override_by_name(tmp_path: Path) -> None:
    write(tmp_path, "service/run_workflow.yaml", INVOICE)
    write(
        tmp_path,
        "service/run_workflow_by_id.yaml",
        """
        vars: {result: "by id"}
        scenarios:
          invoice:
            respond: {blocking: {data: {outputs: {result: only here}}}}
          extra: {respond: {blocking: {data: {outputs: {}}}}}
          default: null
        """,
    )
    with pytest.raises(FixtureError) as info:  # removing the inherited default leaves none
        load(Settings(fixtures=(tmp_path,)))
    assert [p.message for p in info.value.problems] == ["no 'default' scenario (every fixture needs one)"]
    text = (tmp_path / "service/run_workflow_by_id.yaml").read_text().replace("  default: null\n", "")
    (tmp_path / "service/run_workflow_by_id.yaml").write_text(text)
    _, book = load(Settings(fixtures=(tmp_path,)))
    by_id = book.fixtures["service.run_workflow_by_id"]
    assert [s.name for s in by_id.rules] == ["extra", "invoice", "human_input"]  # the built-in one last
    assert by_id.rules[1].file.endswith("run_workflow_by_id.yaml")  # replaced in place, by name
    assert book.fixtures["service.run_workflow"].rules[0].file.endswith("run_workflow.yaml")
    assert by_id.vars["result"].constant and "result" in book.fixtures["service.run_workflow"].vars


def test_an_unknown_target_suggests_the_right_one(tmp_path: Path) -> None:
    found = problems(tmp_path, "service/run_workflow_by_id.yaml", "extends: service.run_workflow\n")
    assert found == ["1:10: extends: no fixture 'service.run_workflow' (did you mean 'service/run_workflow'?)"]


def test_a_cycle_is_blamed_on_the_file_that_closed_it(tmp_path: Path) -> None:
    # The built-in run_workflow_by_id.yaml extends run_workflow: this closes the loop.
    found = problems(tmp_path, "service/run_workflow.yaml", "extends: service/run_workflow_by_id\n")
    assert found == [
        "1:10: extends: a cycle: service/run_workflow -> service/run_workflow_by_id -> service/run_workflow"
    ]


def test_extending_itself_is_a_cycle(tmp_path: Path) -> None:
    found = problems(tmp_path, "service/get_app_info.yaml", "extends: service/get_app_info\n")
    assert found == ["1:10: extends: a cycle: service/get_app_info -> service/get_app_info"]


def test_only_an_endpoint_of_the_same_kind_can_be_extended(tmp_path: Path) -> None:
    found = problems(tmp_path, "service/stop_workflow_task.yaml", "extends: service/run_workflow\n")
    assert found == [
        "1:10: extends: 'service/run_workflow' is a generate endpoint and service/stop_workflow_task is a json "
        "one; a fixture extends one of its own kind"
    ]


def test_a_file_needs_scenarios_or_extends(tmp_path: Path) -> None:
    found = problems(tmp_path, "service/get_app_info.yaml", "vars: {a: 1}\n")
    assert found == ["1:1: needs 'scenarios' or 'extends'"]


def test_an_inherited_problem_is_reported_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/run_workflow.yaml",
        """
        scenarios:
          broken:
            respond: {blocking: {data: {outputs: "{{ request.body.x | shout }}"}}}
        """,
    )
    assert len(found) == 1 and found[0].startswith("3:42: unknown filter 'shout'")


def test_a_wrong_endpoint_key_is_located_in_its_own_file(tmp_path: Path) -> None:
    # The first scenario of run_workflow_by_id comes from run_workflow.yaml: the key is not there.
    found = problems(tmp_path, "service/run_workflow_by_id.yaml", "endpoint: service.run_workflow\nscenarios: {}\n")
    assert found == [
        "1:11: endpoint 'service.run_workflow' does not match the file's path (service.run_workflow_by_id)"
    ]
