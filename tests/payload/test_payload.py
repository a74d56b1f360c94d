"""The request-body check gives pydantic's own text (audit F1, F2, F4): compared with real pydantic
running models declared as Dify 1.12.0-1.16.1 declares them (api/controllers/service_api/app/
completion.py ChatRequestPayload/CompletionRequestPayload, workflow.py WorkflowRunPayload)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from mockserver.errors import DifyError
from mockserver.payload import compile_model, input_value

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "service"


class ChatRequestPayload(BaseModel):  # the fields Dify declares, in its order
    inputs: dict[str, Any]
    query: str
    files: list[dict[str, Any]] | None = None
    response_mode: Literal["blocking", "streaming"] | None = None
    conversation_id: str | None = None
    retriever_from: str = "dev"
    auto_generate_name: bool = True
    workflow_id: str | None = None

    @field_validator("conversation_id", mode="before")
    @classmethod
    def _conversation(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        if not value:
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise ValueError("conversation_id must be a valid UUID") from exc


class CompletionRequestPayload(BaseModel):
    inputs: dict[str, Any]
    query: str = ""
    files: list[dict[str, Any]] | None = None
    response_mode: Literal["blocking", "streaming"] | None = None
    retriever_from: str = "dev"


class WorkflowRunPayload(BaseModel):
    inputs: dict[str, Any]
    files: list[dict[str, Any]] | None = None
    response_mode: Literal["blocking", "streaming"] | None = None


MODELS = {
    "send_chat_message": ChatRequestPayload,
    "create_completion_message": CompletionRequestPayload,
    "run_workflow": WorkflowRunPayload,
}


def ours(stem: str):
    doc = json.loads((SCHEMAS / f"{stem}.json").read_text())
    return compile_model(
        doc["x-endpoint"]["request_model"], doc["$defs"]["request"]["properties"]["body"], frozenset({"user"})
    )


def theirs(model: type[BaseModel], body: dict[str, Any]) -> str | None:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return re.sub(r"errors\.pydantic\.dev/[\d.]+/", "errors.pydantic.dev/2.12/", str(exc))
    return None


LONG = "x" * 60
CASES = [
    ("send_chat_message", {"user": "u"}),
    ("send_chat_message", {}),
    ("send_chat_message", {"inputs": [], "query": "q"}),
    ("send_chat_message", {"inputs": {}, "query": 5}),
    ("send_chat_message", {"inputs": {}, "query": None}),
    ("send_chat_message", {"inputs": {}, "query": "q", "response_mode": "fast"}),
    ("send_chat_message", {"inputs": {}, "query": "q", "conversation_id": "abc"}),
    ("send_chat_message", {"inputs": {}, "query": "q", "conversation_id": LONG}),
    ("send_chat_message", {"inputs": {}, "query": "q", "conversation_id": "  not a uuid  "}),
    ("send_chat_message", {"inputs": {}, "query": "q", "auto_generate_name": "maybe"}),
    ("send_chat_message", {"inputs": {}, "query": "q", "auto_generate_name": 2}),
    ("send_chat_message", {"inputs": {}, "query": "q", "auto_generate_name": None}),
    ("send_chat_message", {"inputs": {}, "query": "q", "auto_generate_name": 1.5}),
    ("send_chat_message", {"inputs": {}, "query": "q", "auto_generate_name": " yes"}),
    ("send_chat_message", {"inputs": {}, "query": "q", "files": "x"}),
    ("send_chat_message", {"inputs": {}, "query": "q", "files": [1, {}, "a"]}),
    ("send_chat_message", {"inputs": {}, "query": "q", "workflow_id": 5}),
    ("send_chat_message", {"inputs": {}, "query": "q", "retriever_from": 5}),
    ("send_chat_message", {"user": "u" * 60}),
    (
        "send_chat_message",
        {
            "inputs": "s",
            "query": [],
            "files": "x",
            "response_mode": "fast",
            "conversation_id": "abc",
            "auto_generate_name": "maybe",
            "workflow_id": 5,
        },
    ),
    ("send_chat_message", {"inputs": {"é" * 40: 1}, "query": 1}),
    ("create_completion_message", {"inputs": {}, "query": 5}),
    ("create_completion_message", {"user": "u"}),
    ("run_workflow", {"user": "u"}),
    ("run_workflow", {"inputs": [], "files": "x", "response_mode": "fast"}),
    ("run_workflow", {"inputs": {}, "files": [1, {}, "a"]}),
]


@pytest.mark.parametrize(("stem", "body"), CASES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(CASES)])
def test_the_message_is_pydantics(stem, body):
    expected = theirs(MODELS[stem], body)
    assert expected is not None
    with pytest.raises(DifyError) as caught:
        ours(stem).validate(body, "2.12")
    assert caught.value.code == "invalid_param" and caught.value.status == 400
    assert caught.value.message == expected


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": {}, "query": "q", "auto_generate_name": word}
        for word in ("yes", "YES", "True", "y", "t", "on", "1", 1, 1.0, "no", "n", "f", "off", "0", 0, 0.0)
    ]
    + [
        {"inputs": {}, "query": "q", "files": [{}], "conversation_id": value}
        for value in (
            "",
            "  ",
            None,
            0,
            False,
            {},
            [],
            "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D",
            "a1b2c3d4e5f64a7b8c9d0e1f2a3b4c5d",
        )
    ],
)
def test_what_pydantic_accepts_is_accepted_and_coerced_alike(body):
    assert theirs(ChatRequestPayload, body) is None
    coerced = ours("send_chat_message").validate(body, "2.12")
    expected = ChatRequestPayload.model_validate(body).model_dump(exclude_unset=True)
    assert coerced == {k: v for k, v in expected.items() if k in body}


@pytest.mark.parametrize("value", [5, 1.5, True, ["x"], {"a": 1}])
def test_a_truthy_non_string_conversation_id_escapes_pydantic_as_a_500(value):
    # uuid.UUID(5) raises AttributeError inside the before-validator; pydantic does not wrap it and
    # Dify's generic handler answers {"message": "Internal Server Error", "code": "unknown", "status": 500}.
    with pytest.raises(DifyError) as caught:
        ours("send_chat_message").validate({"inputs": {}, "query": "q", "conversation_id": value}, "2.12")
    assert caught.value.body() == {"message": "Internal Server Error", "code": "unknown", "status": 500}


def test_the_url_names_the_releases_pydantic():
    with pytest.raises(DifyError) as caught:
        ours("run_workflow").validate({}, "2.11")
    assert caught.value.message.endswith("For further information visit https://errors.pydantic.dev/2.11/v/missing")


@pytest.mark.parametrize(
    ("value", "shown"), [("x" * 48, repr("x" * 48)), ("x" * 49, "'xxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxx'")]
)
def test_input_value_is_cut_past_fifty_bytes(value, shown):
    assert input_value(value) == shown
