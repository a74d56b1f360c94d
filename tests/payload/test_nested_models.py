"""A field whose type is another pydantic model (a dataset's `retrieval_model`, a segment list's items)
and a str Enum field: the emulated text is real pydantic's, located under the field and the index."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from mockserver.errors import DifyError
from mockserver.payload import compile_model


class RetrievalMethod(StrEnum):
    SEMANTIC_SEARCH = "semantic_search"
    KEYWORD_SEARCH = "keyword_search"


class RetrievalModel(BaseModel):
    search_method: RetrievalMethod
    reranking_enable: bool
    top_k: int
    score_threshold: float | None = None


class Item(BaseModel):
    content: str


class Payload(BaseModel):
    name: str
    retrieval_model: RetrievalModel | None = None
    segments: list[Item] = []


SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "retrieval_model": {
            "type": ["object", "null"],
            "title": "RetrievalModel",
            "required": ["search_method", "reranking_enable", "top_k"],
            "properties": {
                "search_method": {
                    "enum": ["semantic_search", "keyword_search"],
                    "x-pydantic": {"enum": "RetrievalMethod"},
                },
                "reranking_enable": {"type": "boolean"},
                "top_k": {"type": "integer"},
                "score_threshold": {"type": ["number", "null"]},
            },
        },
        "segments": {
            "type": "array",
            "items": {
                "type": "object",
                "title": "Item",
                "required": ["content"],
                "properties": {"content": {"type": "string"}},
            },
        },
    },
}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "n", "retrieval_model": {}},
        {"name": "n", "retrieval_model": {"search_method": "fuzzy", "reranking_enable": "yes", "top_k": "2x"}},
        {"name": "n", "retrieval_model": [1]},
        {"retrieval_model": "x", "segments": [{"content": 1}, {}, 3]},
        {"name": "n", "segments": [{"content": "a"}, {"content": None}]},
    ],
)
def test_a_nested_model_fails_as_pydantic_does(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as real:
        Payload.model_validate(body)
    with pytest.raises(DifyError) as emulated:
        compile_model("Payload", SCHEMA).validate(body, "2.12")
    assert emulated.value.message == str(real.value)


def test_a_valid_nested_model_is_coerced() -> None:
    body = {
        "name": "n",
        "retrieval_model": {"search_method": "keyword_search", "reranking_enable": "true", "top_k": "3"},
    }
    out = compile_model("Payload", SCHEMA).validate(body, "2.12")
    assert out["retrieval_model"] == {"search_method": "keyword_search", "reranking_enable": True, "top_k": 3}
