"""A `str | int | float | None` field (pydantic's smart-mode Union) and Dify's UUIDStr (libs/helper.py
_strict_uuid, 1.16.1): the emulated values and texts are real pydantic's (MetadataDetail of
services/entities/knowledge_entities/knowledge_entities.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, BaseModel, ValidationError

from mockserver.errors import DifyError
from mockserver.payload import compile_model


def _strict_uuid(value: str) -> str:
    if not value:
        raise ValueError("must be a non-empty valid UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise ValueError("must be a valid UUID") from exc


class Detail(BaseModel):
    id: Annotated[str, AfterValidator(_strict_uuid)]
    value: str | int | float | None = None


SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "x-pydantic": {"validator": "uuid_str", "message": "must be a valid UUID"}},
        "value": {"type": ["string", "integer", "number", "null"]},
    },
}
ID = "abcdef01-2345-4789-abcd-ef0123456789"


@pytest.mark.parametrize(
    "body",
    [
        {"id": ID, "value": "5"},
        {"id": ID, "value": 5},
        {"id": ID, "value": 1.5},
        {"id": ID, "value": 2.0},
        {"id": ID, "value": True},
        {"id": ID, "value": False},
        {"id": ID, "value": None},
        {"id": ID},
        {"id": ID.upper().replace("-", "")},
        {"id": "{" + ID + "}"},
        {"id": "urn:uuid:" + ID},
    ],
)
def test_values_and_ids_come_out_as_pydantics(body: dict[str, Any]) -> None:
    real = Detail.model_validate(body).model_dump(exclude_unset=True)
    emulated = compile_model("Detail", SCHEMA).validate(body, "2.12")
    assert emulated == real
    assert [type(v) for v in emulated.values()] == [type(v) for v in real.values()]


@pytest.mark.parametrize(
    "body",
    [
        {"id": "", "value": [1]},
        {"id": "x", "value": {"a": 1}},
        {"id": 5},
        {"id": ID + "0"},
        {"value": "v"},
    ],
)
def test_refusals_read_as_pydantics(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as real:
        Detail.model_validate(body)
    with pytest.raises(DifyError) as emulated:
        compile_model("Detail", SCHEMA).validate(body, "2.12")
    assert emulated.value.message == str(real.value)
