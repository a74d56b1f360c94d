"""Workflow and node events as Dify's converters build them (audit C1-C5), from the event builder and
over HTTP. Sources: api/core/app/entities/task_entities.py and
api/core/app/apps/common/workflow_response_converter.py (WRC) at dify 1.12.0, 1.14.2 and 1.16.1."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.determinism import Draws, FakerSource
from mockserver.dify.versions import RELEASES
from mockserver.render.builder import EventBuilder
from mockserver.render.envelope import Envelope

NODE_STARTED_KEYS = [
    "id", "node_id", "node_type", "title", "index", "predecessor_node_id", "inputs", "inputs_truncated",
    "created_at", "extras", "iteration_id", "loop_id", "agent_strategy",
]  # fmt: skip
NODE_FINISHED_KEYS = [
    "id", "node_id", "node_type", "title", "index", "predecessor_node_id", "inputs", "inputs_truncated",
    "process_data", "process_data_truncated", "outputs", "outputs_truncated", "status", "error", "elapsed_time",
    "execution_metadata", "created_at", "finished_at", "files", "iteration_id", "loop_id",
]  # fmt: skip


def builder(mode: str = "workflow", release: str = "1.16") -> EventBuilder:
    family = "workflow" if mode == "workflow" else "chat"
    env = Envelope(
        family=family,  # type: ignore[arg-type]
        mode=mode,
        release=RELEASES[release],
        task_id="task",
        created_at=1000,
        draws=Draws(0, "t", "app:k", "e", 0, FakerSource()),
        message_id="msg" if family == "chat" else None,
        conversation_id="conv" if family == "chat" else None,
        workflow_run_id="run",
        workflow_id="wf",
        app_id="app",
        inputs={"query": "q"},
        user="alice",
        user_id="eu",
        query="hello",
        dialogue_count=2,
    )
    return EventBuilder(env)


def node(b: EventBuilder, name: str, at_s: float, **data: Any) -> dict[str, Any]:
    return b.build(name, {"data": {"node_id": "llm", "node_type": "llm", "title": "LLM", **data}}, at_s)["data"]


def test_c1_node_started_has_difys_fields_with_inputs_and_predecessor_null():
    # WRC 1.16.1 :509-560 never passes inputs or predecessor_node_id; task_entities.py :384-396.
    data = node(builder(), "node_started", 2.0)
    assert list(data) == NODE_STARTED_KEYS
    assert data["inputs"] is None and data["predecessor_node_id"] is None
    assert data["inputs_truncated"] is False and data["agent_strategy"] is None
    assert data["created_at"] == 1002


def test_c2_node_finished_has_no_extras_and_times_the_node_itself():
    # task_entities.py :433-453 (no extras); WRC :563-619: created_at = the node's start,
    # elapsed_time = finished - start; process_data {} from the queue event's default.
    b = builder()
    node(b, "node_started", 2.0)
    data = node(b, "node_finished", 3.5, outputs={"text": "t"})
    assert list(data) == NODE_FINISHED_KEYS
    assert "extras" not in data
    assert data["process_data"] == {} and data["inputs"] == {}
    assert data["elapsed_time"] == 1.5 and data["created_at"] == 1002 and data["finished_at"] == 1003
    assert (data["inputs_truncated"], data["process_data_truncated"], data["outputs_truncated"]) == (False,) * 3


@pytest.mark.parametrize(
    ("mode", "release", "keys"),
    [
        ("workflow", "1.16", ["sys.files", "sys.user_id", "sys.app_id", "sys.workflow_id", "sys.workflow_run_id"]),
        ("workflow", "1.12", ["sys.files", "sys.user_id", "sys.app_id", "sys.workflow_id", "sys.workflow_run_id"]),
        (
            "advanced-chat",
            "1.16",
            ["sys.query", "sys.files", "sys.user_id", "sys.dialogue_count", "sys.app_id", "sys.workflow_id",
             "sys.workflow_run_id"],
        ),
        (
            "advanced-chat",
            "1.12",
            ["sys.files", "sys.user_id", "sys.app_id", "sys.workflow_id", "sys.workflow_run_id", "sys.query",
             "sys.dialogue_count"],
        ),
    ],
)  # fmt: skip
def test_c3_workflow_started_inputs_carry_the_system_variables(mode, release, keys):
    # WRC _prepare_workflow_inputs (1.16.1 :152-163): the user's inputs, then sys.* except conversation_id,
    # in the order the pipeline builds them (workflow :112-118; advanced-chat 1.12.0 :114-123, 1.14.2 :175-184).
    data = builder(mode, release).build("workflow_started", {}, 0.0)["data"]
    assert list(data["inputs"]) == ["query", *keys]
    assert data["inputs"]["sys.user_id"] == "alice" and data["inputs"]["sys.files"] == []
    if mode == "advanced-chat":
        assert data["inputs"]["sys.query"] == "hello" and data["inputs"]["sys.dialogue_count"] == 2


@pytest.mark.parametrize(("release", "with_system"), [("1.12", True), ("1.14", False), ("1.16", False)])
def test_c3_the_start_node_shows_the_system_pool_only_on_1_12(release, with_system):
    # 1.12.0 nodes/start/start_node.py :21-31 outputs the whole pool (a workflow's timestamp too); from 1.14
    # Dify shows the user inputs only (core/workflow/workflow_run_outputs.py).
    b = builder("workflow", release)
    b.build("node_started", {"data": {"node_id": "start", "node_type": "start"}}, 0.1)
    data = b.build("node_finished", {"data": {"node_id": "start", "node_type": "start", "outputs": {"q": 1}}}, 0.2)[
        "data"
    ]
    assert data["inputs"] == data["outputs"]
    assert ("sys.timestamp" in data["outputs"]) == with_system
    assert data["outputs"]["q"] == 1


def test_c4_rare_events_get_difys_fields():
    b = builder()
    retry = node(b, "node_retry", 1.0)
    assert retry["status"] == "retry" and list(retry)[-1] == "retry_index"
    iteration = b.build("iteration_started", {"data": {"node_id": "it", "title": "Loop over"}}, 1.0)["data"]
    assert iteration["id"] == "it" and iteration["node_type"] == "iteration"  # id = the container's node id
    assert list(iteration) == [
        "id", "node_id", "node_type", "title", "created_at", "extras", "metadata", "inputs", "inputs_truncated"
    ]  # fmt: skip
    loop_next = b.build("loop_next", {"data": {"node_id": "lp"}}, 1.0)["data"]
    assert loop_next["pre_loop_output"] == {} and loop_next["index"] == 0
    paused = b.build("workflow_paused", {}, 2.0)["data"]
    assert paused["status"] == "paused" and paused["workflow_run_id"] == "run"
    assert list(b.build("reasoning_chunk", {}, 1.0)["data"]) == ["message_id", "reasoning", "node_id", "is_final"]
    assert list(b.build("agent_log", {}, 1.0)["data"])[:3] == ["node_execution_id", "id", "label"]


@pytest.mark.parametrize(
    ("name", "has_run_id"),
    [
        ("node_started", True),
        ("workflow_paused", True),
        ("text_chunk", False),
        ("agent_log", False),
        ("reasoning_chunk", False),
    ],
)
def test_c5_in_a_chatflow_only_workflow_models_carry_the_run_id(name, has_run_id):
    # advanced_chat/generate_response_converter.py passes the model through: only models with the
    # field have it (task_entities.py); a workflow stream's converter puts it second on every frame.
    event = builder("advanced-chat").build(name, {"data": {}}, 1.0)
    assert ("workflow_run_id" in event) == has_run_id
    if has_run_id:
        assert list(event)[:7] == [
            "event", "conversation_id", "message_id", "created_at", "task_id", "workflow_run_id", "data"
        ]  # fmt: skip
    workflow = builder("workflow").build(name, {"data": {}}, 1.0)
    assert list(workflow)[:2] == ["event", "workflow_run_id"]


def test_error_frames_order_their_keys_as_difys_converter():
    # _error_to_stream_response: code, status, message; a preset message comes before status.
    b = builder("chat")
    assert list(b.build("error", {"code": "completion_request_error"}, 0.0))[-3:] == ["code", "status", "message"]
    quota = b.build("error", {"code": "provider_quota_exceeded"}, 0.0)
    assert list(quota)[-3:] == ["code", "message", "status"]
    assert quota["message"].startswith("Your quota for Dify Hosted Model Provider has been exhausted.")
    assert "task_id" not in quota


@pytest.mark.parametrize("release", ["1.14", "1.16"])
def test_c6_a_human_input_pause_carries_its_form_in_difys_shape(release):
    # WRC 1.14.2 :302-414 workflow_pause_to_stream_response; HEAD adds approval_channels (1.15+).
    b = builder(release=release)
    node(b, "node_started", 1.0, node_id="review", node_type="human-input", title="Review")
    fields = {"node_id": "review", "inputs": [{"output_variable_name": "c", "type": "paragraph"}]}
    form = b.build("human_input_required", {"data": {**fields, "actions": [{"id": "ok", "title": "OK"}]}}, 2.0)["data"]
    assert "id" not in form  # no container id: only iteration and loop events name their node so
    assert form["node_title"] == "Review" and form["expiration_time"] == 1002 + 36 * 3600
    assert len(form["form_token"]) == 22 and form["form_token"].isalnum()
    assert form["inputs"] == [{"output_variable_name": "c", "type": "paragraph", "default": None}]
    assert form["actions"] == [{"id": "ok", "title": "OK", "button_style": "default"}]
    assert ("approval_channels" in form) == (release == "1.16")
    paused = b.build("workflow_paused", {}, 3.5)["data"]
    assert (paused["created_at"], paused["elapsed_time"], paused["paused_nodes"]) == (1000, 3.5, ["review"])
    reason = paused["reasons"][0]
    assert list(reason)[:8] == [
        "TYPE", "form_id", "form_content", "inputs", "actions", "node_id", "node_title", "resolved_default_values"
    ]  # fmt: skip
    assert list(reason)[-1] == "expiration_time" and reason["form_token"] == form["form_token"]
    assert b.build("workflow_paused", {}, 4.0)["data"]["reasons"] == []  # each pause names its own forms


def test_c7_a_reasoning_chunk_naming_its_node_gets_no_id():
    chunk = builder().build("reasoning_chunk", {"data": {"node_id": "llm"}}, 1.0)["data"]
    assert "id" not in chunk and chunk["node_id"] == "llm"
