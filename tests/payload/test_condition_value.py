"""Dify's metadata ConditionValue union (`str | Sequence[str] | None | int | float`, x-pydantic
{"type": "ConditionValue"}) checks and coerces as pydantic's smart union does, with its text."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from mockserver.errors import DifyError
from mockserver.payload import compile_model


class Condition(BaseModel):
    name: str
    value: str | Sequence[str] | None | int | float = None  # noqa: RUF036 (as Dify declares it)


class Block(BaseModel):
    conditions: list[Condition] | None = None


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "conditions": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "title": "Condition",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "value": {"x-pydantic": {"type": "ConditionValue"}},
                },
            },
        }
    },
}
MODEL = compile_model("Block", SCHEMA)


@pytest.mark.parametrize("value", ["x", ["a", "b"], [], None, 5, 2.5, 5.0, True, False])
def test_a_valid_value_comes_back_as_pydantic_makes_it(value: Any) -> None:
    made = Block.model_validate({"conditions": [{"name": "n", "value": value}]}).conditions
    assert made is not None
    want = made[0].value
    got = MODEL.validate({"conditions": [{"name": "n", "value": value}]}, "2.12")["conditions"][0]["value"]
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("value", [[1, "a", 2.5], {"a": 1}, [["x"]], [None]])
def test_a_wrong_value_fails_every_branch_as_pydantic_says(value: Any) -> None:
    body = {"conditions": [{"name": "n", "value": value}, {"value": "x"}]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValidationError) as real:
            Block.model_validate(body)
    with pytest.raises(DifyError) as ours:
        MODEL.validate(body, "2.12")
    assert ours.value.message == str(real.value)
