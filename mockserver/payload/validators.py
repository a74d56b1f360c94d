"""Dify's own validators, by the names a schema's `x-pydantic` gives them: field validators
(`{"validator": name, "message": text}`, VALIDATORS), model validators that run once every field is
valid (`{"model_validator": name}`, MODEL_VALIDATORS) and model before-validators that rewrite the
input first (`{"model_before": name}`, MODEL_BEFORE). Each cites the Dify model it copies."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Final, Literal

from msgspec import Struct

from mockserver.errors import DifyError


def _uuid_or_empty(message: str) -> Callable[[Any], Any]:
    """Dify's conversation_id before-validator (completion.py ChatRequestPayload): blank means none; a
    string must be a UUID; a truthy non-string makes uuid.UUID raise AttributeError, which pydantic
    does not wrap (a 500)."""

    def validate(value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        if not value:
            return None
        if not isinstance(value, str):
            raise DifyError("unknown")
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(message) from None

    return validate


def _uuid_str_or_empty(message: str) -> Callable[[Any], Any]:
    """Dify's UUIDStrOrEmpty (libs/helper.py normalize_uuid), after the str check: "" stays ""; what
    uuid.UUID reads (any case, no hyphens, {...}, urn:uuid:) comes back canonical; nothing is stripped."""

    def validate(value: str) -> str:
        if not value:
            return ""
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(message) from None

    return validate


def _uuid_str(message: str) -> Callable[[Any], Any]:
    """Dify's UUIDStr (libs/helper.py _strict_uuid, 1.16.1), after the str check: "" is refused with
    its own text, else what uuid.UUID reads comes back canonical; `message` is the other refusal."""

    def validate(value: str) -> str:
        if not value:
            raise ValueError("must be a non-empty valid UUID")
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(message) from None

    return validate


_SQLISH: Final = ("'", '"', ";", "--", "/*", "*/", "xp_", "sp_")


def _variable_name(_message: str) -> Callable[[Any], Any]:
    """ConversationVariablesQuery.variable_name's before-validator (controllers/service_api/app/
    conversation.py): Python's Unicode isalnum once `-`, `_` and `.` are taken out, then no SQL-ish
    pattern (case-insensitive); the length constraints come after it."""

    def validate(value: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value
        if not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValueError(
                "Variable name can only contain letters, numbers, hyphens (-), underscores (_), and periods (.)"
            )
        for pattern in _SQLISH:
            if pattern in value.lower():
                raise ValueError(f"Variable name contains invalid characters: {pattern}")
        return value

    return validate


class Named(Struct, eq=False):
    """A Dify field validator: a before one sees the raw input (None too), an after one the checked value."""

    mode: Final[Literal["before", "after"]]
    make: Final[Callable[[str], Callable[[Any], Any]]]  # x-pydantic's message -> the validator, raising ValueError


def _not_blank(message: str) -> Callable[[Any], Any]:
    """A str field's after-validator refusing text that is only whitespace, with Dify's text
    (SegmentCreateItemPayload.content: "Content is empty", controllers/service_api/dataset/segment.py
    from 1.15)."""

    def validate(value: str) -> str:
        if not value.strip():
            raise ValueError(message)
        return value

    return validate


def _doc_form(message: str) -> Callable[[Any], Any]:
    """The Knowledge API's doc_form field validator (Dataset.DOC_FORM_LIST, dify 1.14.2 and 1.16.1
    controllers/service_api/dataset/document.py validate_doc_form)."""

    def validate(value: Any) -> Any:
        if value not in ("text_model", "qa_model", "hierarchical_model"):
            raise ValueError(message)
        return value

    return validate


def _not_empty(message: str) -> Callable[[Any], Any]:
    """A field validator refusing an empty value with Dify's text (TagBindingPayload.tag_ids:
    "Tag IDs is required.", controllers/service_api/dataset/dataset.py)."""

    def validate(value: Any) -> Any:
        if not value:
            raise ValueError(message)
        return value

    return validate


VALIDATORS: Final[dict[str, Named]] = {
    "uuid_str": Named("after", _uuid_str),
    "doc_form": Named("after", _doc_form),
    "not_blank": Named("after", _not_blank),
    "uuid_or_empty": Named("before", _uuid_or_empty),
    "uuid_str_or_empty": Named("after", _uuid_str_or_empty),
    "variable_name": Named("before", _variable_name),
    "not_empty": Named("after", _not_empty),
}


def _name_unless_auto_generate(fields: dict[str, Any]) -> None:
    """ConversationRenamePayload (controllers/common/controller_schemas.py), its defaults name=None and
    auto_generate=False standing in for fields not given."""
    name = fields.get("name")
    if not fields.get("auto_generate", False) and (name is None or not name.strip()):
        raise ValueError("name is required when auto_generate is false")


def _name_with_text(fields: dict[str, Any]) -> None:
    """DocumentTextUpdate.check_text_and_name (controllers/service_api/dataset/document.py, dify 1.12.0-1.16.1)."""
    if fields.get("text") is not None and fields.get("name") is None:
        raise ValueError("name is required when text is provided")


def _tag_ids_required(fields: dict[str, Any]) -> None:
    """TagUnbindingPayload's after-validator (1.13+): no tag id left once the legacy one was read."""
    if not fields.get("tag_ids"):
        raise ValueError("Tag IDs is required.")


MODEL_VALIDATORS: Final[dict[str, Callable[[dict[str, Any]], None]]] = {
    "name_unless_auto_generate": _name_unless_auto_generate,
    "name_with_text": _name_with_text,
    "tag_ids_required": _tag_ids_required,
}


def _legacy_tag_id(data: dict[str, Any]) -> dict[str, Any]:
    """TagUnbindingPayload's before-validator (1.13+): a legacy `tag_id` stands in for an empty or
    missing `tag_ids`; the errors then show the input as it left here."""
    if not data.get("tag_ids") and data.get("tag_id"):
        return {**data, "tag_ids": [data["tag_id"]]}
    return data


# Model validators of mode="before": the raw input dict -> the dict the fields are read from.
MODEL_BEFORE: Final[dict[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "legacy_tag_id": _legacy_tag_id,
}
