"""Dify's stream events as data: which envelope each gets, their fields in Dify's order and defaults.

Read from api/core/app/entities/task_entities.py and common/workflow_response_converter.py at dify
1.12.0, 1.14.2 and 1.16.1 (07119e3f); fields the converter fills per event (ids, times, counters) are
the builder's (render/builder.py), and `None` below marks them."""

from __future__ import annotations

from typing import Any, Final

REPLY_EVENTS: Final = frozenset({"message", "agent_message"})
# Events with a `data` object (in any stream).
DATA_EVENTS: Final = frozenset(
    {
        "workflow_started",
        "workflow_finished",
        "workflow_paused",
        "node_started",
        "node_finished",
        "node_retry",
        "iteration_started",
        "iteration_next",
        "iteration_completed",
        "loop_started",
        "loop_next",
        "loop_completed",
        "text_chunk",
        "text_replace",
        "reasoning_chunk",
        "human_input_required",
        "human_input_form_filled",
        "human_input_form_timeout",
        "agent_log",
    }
)
# In a chatflow stream only these models carry a top-level `workflow_run_id` (after task_id); a workflow
# stream's converter puts it second on every frame instead.
RUN_ENVELOPED: Final = DATA_EVENTS - {"text_chunk", "text_replace", "reasoning_chunk", "agent_log"}
TERMINAL: Final = frozenset({"message_end", "workflow_finished", "workflow_paused", "error"})
RUN_TERMINAL: Final = frozenset({"workflow_finished", "workflow_paused"})  # where a relayed stream ends
NODE_EVENTS: Final = frozenset({"node_started", "node_finished", "node_retry"})

# In-stream errors (base_app_generate_response_converter.py _error_to_stream_response): the frame is
# code, status, message, except where the mapping presets the message (code, message, status).
MESSAGE_FIRST: Final = frozenset({"provider_quota_exceeded", "internal_server_error"})
IN_STREAM_TEXT: Final = {
    "internal_server_error": "Internal Server Error, please contact support.",
    "provider_quota_exceeded": (
        "Your quota for Dify Hosted Model Provider has been exhausted. Please go to Settings -> Model "
        "Provider to complete your own provider credentials."
    ),
}
# A model error arrives with the provider's own description, never the HTTP class text.
MODEL_ERROR: Final = "[openai] Connection Error, Request timed out."

_NODE: Final[dict[str, Any]] = {
    "id": None,
    "node_id": None,
    "node_type": "llm",
    "title": None,
    "index": None,
    "predecessor_node_id": None,
}
NODE_STARTED: Final[dict[str, Any]] = {
    **_NODE,
    "inputs": None,  # the converter never fills it
    "inputs_truncated": False,
    "created_at": None,
    "extras": {},
    "iteration_id": None,
    "loop_id": None,
    "agent_strategy": None,
}
NODE_FINISHED: Final[dict[str, Any]] = {
    **_NODE,
    "inputs": {},
    "inputs_truncated": False,
    "process_data": {},
    "process_data_truncated": False,
    "outputs": {},
    "outputs_truncated": False,
    "status": "succeeded",
    "error": None,
    "elapsed_time": None,
    "execution_metadata": None,
    "created_at": None,
    "finished_at": None,
    "files": [],
    "iteration_id": None,
    "loop_id": None,
}
_CONTAINER: Final[dict[str, Any]] = {"id": None, "node_id": None, "node_type": None, "title": None}
_CONTAINER_STARTED: Final[dict[str, Any]] = {
    **_CONTAINER,
    "created_at": None,
    "extras": {},
    "metadata": {},
    "inputs": {},
    "inputs_truncated": False,
}
_CONTAINER_COMPLETED: Final[dict[str, Any]] = {
    **_CONTAINER,
    "outputs": {},
    "outputs_truncated": False,
    "created_at": None,
    "extras": {},
    "inputs": {},
    "inputs_truncated": False,
    "status": "succeeded",
    "error": None,
    "elapsed_time": 0.0,
    "total_tokens": 0,
    "execution_metadata": None,
    "finished_at": None,
    "steps": 0,
}
# `data` defaults of the other events, in Dify's field order.
DATA: Final[dict[str, dict[str, Any]]] = {
    "node_started": NODE_STARTED,
    "node_finished": NODE_FINISHED,
    "node_retry": {**NODE_FINISHED, "status": "retry", "retry_index": 0},
    "iteration_started": {**_CONTAINER_STARTED, "node_type": "iteration"},
    "iteration_next": {**_CONTAINER, "node_type": "iteration", "index": 0, "created_at": None, "extras": {}},
    "iteration_completed": {**_CONTAINER_COMPLETED, "node_type": "iteration"},
    "loop_started": {**_CONTAINER_STARTED, "node_type": "loop"},
    "loop_next": {
        **_CONTAINER,
        "node_type": "loop",
        "index": 0,
        "created_at": None,
        "pre_loop_output": {},
        "extras": {},
    },
    "loop_completed": {**_CONTAINER_COMPLETED, "node_type": "loop"},
    "text_chunk": {"text": "", "from_variable_selector": []},
    "text_replace": {"text": ""},
    "reasoning_chunk": {"message_id": None, "reasoning": "", "node_id": None, "is_final": False},
    "agent_log": {
        "node_execution_id": None,
        "id": None,
        "label": "",
        "parent_id": None,
        "error": None,
        "status": "success",
        "data": {},
        "metadata": {},
        "node_id": None,
    },
    "workflow_paused": {
        "workflow_run_id": None,
        "paused_nodes": [],
        "outputs": {},
        "reasons": [],
        "status": "paused",
        "created_at": None,
        "elapsed_time": None,
        "total_tokens": 0,
        "total_steps": None,
    },
    "human_input_required": {
        "form_id": None,
        "node_id": None,
        "node_title": None,
        "form_content": "",
        "inputs": [],
        "actions": [],
        "display_in_ui": True,
        "form_token": None,
        "resolved_default_values": {},
        "expiration_time": None,
    },
    "human_input_form_filled": {
        "node_id": None,
        "node_title": None,
        "rendered_content": "",
        "action_id": None,
        "action_text": None,
        "submitted_data": None,
    },
    "human_input_form_timeout": {"node_id": None, "node_title": None, "expiration_time": None},
}

# Human input (graphon nodes/human_input/entities.py, 0.4.0 and Dify 1.16.1): a Human Input node's
# form waits 36 hours by default (HumanInputNodeData.timeout, timeout_unit hour); every form expires
# 7 days after it was made whatever its own timeout (HUMAN_INPUT_GLOBAL_TIMEOUT_SECONDS). Its token is
# 22 letters and digits (models/human_input.py generate_string(22)).
FORM_TIMEOUT_S: Final = 36 * 3600
FORM_GLOBAL_TIMEOUT_S: Final = 7 * 24 * 3600
FORM_TOKEN_LENGTH: Final = 22
# Each form input config as model_dump() writes it, by `type`, in pydantic's field order (the base
# class's output_variable_name first); values the fixture gives go over these.
FORM_INPUTS: Final[dict[str, dict[str, Any]]] = {
    "paragraph": {"output_variable_name": "", "type": "paragraph", "default": None},
    "select": {
        "output_variable_name": "",
        "type": "select",
        "option_source": {"type": "constant", "selector": [], "value": []},
    },
    "file": {
        "output_variable_name": "",
        "allowed_file_types": [],
        "allowed_file_extensions": [],
        "allowed_file_upload_methods": [],
        "type": "file",
    },
    "file-list": {
        "output_variable_name": "",
        "allowed_file_types": [],
        "allowed_file_extensions": [],
        "allowed_file_upload_methods": [],
        "type": "file-list",
        "number_limits": 0,
    },
}


def form_input(given: Any) -> Any:
    """A form input config in Dify's shape (a paragraph's `default: null`, ...); an unknown type as given."""
    if not isinstance(given, dict):
        return given
    base = FORM_INPUTS.get(str(given.get("type", "paragraph")))
    return {**base, **given} if base is not None else given


def user_action(given: Any) -> Any:
    """A user action: {id, title, button_style} (button_style `default` unless given)."""
    if not isinstance(given, dict):
        return given
    return {"id": given.get("id"), "title": given.get("title", given.get("id")), "button_style": "default", **given}
