"""code-review §1.3 "Schema strictness": a generate endpoint's `blocking:` keys are checked at load,
as event keys are, since the envelope silently ignores any key it does not read."""

from __future__ import annotations

from pathlib import Path

from fixture_dirs import problems

from mockserver.app import load
from mockserver.catalogue import load_catalogue
from mockserver.paths import schemas_dir
from mockserver.scenarios.vocabulary import blocking_keys
from mockserver.settings import Settings


def test_each_generate_endpoint_has_its_family_from_the_response_schema() -> None:
    families = {
        s.id: keys.family
        for s in load_catalogue(schemas_dir())
        if (keys := blocking_keys(s.response, s.response_schema)) is not None
    }
    assert families == {
        "service.send_chat_message": "chat",
        "service.create_completion_message": "completion",
        "service.run_workflow": "workflow",
        "service.run_workflow_by_id": "workflow",
    }


def test_completion_and_sequence_items_are_checked(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/create_completion_message.yaml",
        """
        scenarios:
          turns:
            sequence:
              - {blocking: {answer: one, metdata: {}}}
              - {blocking: {answer: two}}
        """,
    )
    assert found == ["4:34: unknown key 'metdata' in a blocking body (did you mean 'metadata'?)"]


def test_the_workflow_data_fields_are_checked_too(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/run_workflow_by_id.yaml",
        """
        scenarios:
          slow:
            respond: {blocking: {data: {status: succeeded, elapsed: 3}}}
        """,
    )
    assert found == ["3:52: unknown key 'elapsed' in a blocking body's data (did you mean 'elapsed_time'?)"]


def test_valid_bodies_templates_and_other_endpoints_pass(tmp_path: Path) -> None:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "run_workflow.yaml").write_text(
        "scenarios:\n  all:\n    respond:\n      blocking:\n        data: {id: x, workflow_id: x, status: failed,"
        " outputs: {}, error: boom, elapsed_time: 1, total_tokens: 2, total_steps: 3, created_at: 4,"
        " finished_at: 5}\n"
    )
    (tmp_path / "service" / "send_chat_message.yaml").write_text(
        "scenarios:\n  whole:\n    respond: {blocking: '{{ vars.body }}', stream: {events: [{event: message_end}]}}\n"
    )
    (tmp_path / "service" / "stop_chat_message.yaml").write_text(
        "scenarios:\n  custom:\n    respond: {blocking: {result: success, anything: 1}}\n"
    )
    _, book = load(Settings(fixtures=(tmp_path,)))
    assert book.fixtures["service.run_workflow"].rules[0].name == "all"
