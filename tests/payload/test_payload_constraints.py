"""Constraints, UUID fields and Dify's named validators give pydantic's own text: each input is
validated by a real pydantic model declared as Dify declares it (conversation.py
ConversationListQuery, message.py MessageListQuery, controller_schemas.py ConversationRenamePayload,
dataset.py, segment.py) and by the emulator's model compiled from the equivalent schema; the
message must be str(ValidationError) byte for byte, the coerced fields model_dump()'s."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

import pydantic
import pytest
from pydantic import AfterValidator, BaseModel, Field, TypeAdapter, ValidationError, model_validator

from mockserver.errors import DifyError
from mockserver.payload import compile_model
from mockserver.payload.constraints import rust_regex, shown
from mockserver.payload.uuids import parse_uuid

VERSION = "2.12"


def normalize_uuid(value: str) -> str:  # Dify's libs/helper.py, uuid_value folded in
    if not value:
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise ValueError("must be a valid UUID") from exc


UUIDStrOrEmpty = Annotated[str, AfterValidator(normalize_uuid)]
UUID_STR_OR_EMPTY = {
    "type": "string",
    "x-pydantic": {"validator": "uuid_str_or_empty", "message": "must be a valid UUID"},
}
LIMIT = {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}


class ConversationListQuery(BaseModel):
    last_id: UUIDStrOrEmpty | None = None
    limit: int = Field(default=20, ge=1, le=100)
    sort_by: Literal["created_at", "-created_at", "updated_at", "-updated_at"] = "-updated_at"


class MessageListQuery(BaseModel):
    conversation_id: UUIDStrOrEmpty
    first_id: UUIDStrOrEmpty | None = None
    limit: int = Field(default=20, ge=1, le=100)


class ConversationRenamePayload(BaseModel):
    name: str | None = None
    auto_generate: bool = False

    @model_validator(mode="after")
    def validate_name_requirement(self) -> ConversationRenamePayload:
        if not self.auto_generate and (self.name is None or not self.name.strip()):
            raise ValueError("name is required when auto_generate is false")
        return self


class Bounds(BaseModel):  # every numeric keyword, on ints and floats
    page: int = Field(default=1, ge=1, le=99999)
    top_k: int = Field(default=1, gt=0, lt=10)
    score: float = Field(default=1.0, gt=0.5, lt=2)
    ratio: float = Field(default=0.0, ge=0, le=1)
    tiny: float = Field(default=1.0, gt=1e-7)
    huge: float = Field(default=1.0, lt=1e21)
    step: int = Field(default=0, multiple_of=5)
    half: float = Field(default=0.0, multiple_of=0.5)
    either: int | None = Field(default=None, ge=10, le=0)  # contradictory: which check comes first


class Texts(BaseModel):  # dataset.py / conversation.py / segment.py declarations, and a pattern
    name: str = Field(min_length=1, max_length=40)
    description: str = Field(default="", max_length=400)
    variable_name: str | None = Field(default=None, min_length=1, max_length=255)
    one: str = Field(default="a", max_length=1)
    code: str = Field(default="ab", min_length=2, pattern=r"^[a-z]+$")
    segments: list[dict[str, Any]] = Field(default_factory=lambda: [{}], min_length=1)
    tags: list[str] = Field(default_factory=lambda: ["t"], min_length=1, max_length=2)
    ids: list[int] = Field(default_factory=list, max_length=3)
    pair: list[int] = Field(default_factory=lambda: [1, 2], min_length=2)


class Uuids(BaseModel):
    id: uuid.UUID
    maybe: uuid.UUID | None = None


SCHEMAS: dict[type[BaseModel], dict[str, Any]] = {
    ConversationListQuery: {
        "properties": {
            "last_id": {**UUID_STR_OR_EMPTY, "type": ["string", "null"]},
            "limit": LIMIT,
            "sort_by": {"enum": ["created_at", "-created_at", "updated_at", "-updated_at"]},
            "user": {"type": "string"},
        }
    },
    MessageListQuery: {
        "required": ["conversation_id"],
        "properties": {
            "conversation_id": UUID_STR_OR_EMPTY,
            "first_id": {**UUID_STR_OR_EMPTY, "type": ["string", "null"]},
            "limit": LIMIT,
            "user": {"type": "string"},
        },
    },
    ConversationRenamePayload: {
        "x-pydantic": {"model_validator": "name_unless_auto_generate"},
        "properties": {
            "name": {"type": ["string", "null"]},
            "auto_generate": {"type": "boolean"},
            "user": {"type": "string"},
        },
    },
    Bounds: {
        "properties": {
            "page": {"type": "integer", "minimum": 1, "maximum": 99999},
            "top_k": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
            "score": {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 2},
            "ratio": {"type": "number", "minimum": 0, "maximum": 1},
            "tiny": {"type": "number", "exclusiveMinimum": 1e-7},
            "huge": {"type": "number", "exclusiveMaximum": 1e21},
            "step": {"type": "integer", "multipleOf": 5},
            "half": {"type": "number", "multipleOf": 0.5},
            "either": {"type": ["integer", "null"], "minimum": 10, "maximum": 0},
        }
    },
    Texts: {
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 40},
            "description": {"type": "string", "maxLength": 400},
            "variable_name": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
            "one": {"type": "string", "maxLength": 1},
            "code": {"type": "string", "minLength": 2, "pattern": "^[a-z]+$"},
            "segments": {"type": "array", "items": {"type": "object"}, "minItems": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
            "ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
            "pair": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
        },
    },
    Uuids: {
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "maybe": {"type": ["string", "null"], "format": "uuid"},
        },
    },
}


def theirs(model: type[BaseModel], given: dict[str, Any]) -> str | dict[str, Any]:
    """pydantic's message (its URL at VERSION), or the fields it coerced, UUIDs as text."""
    try:
        made = model.model_validate(given)
    except ValidationError as exc:
        return re.sub(r"errors\.pydantic\.dev/[\d.]+/", f"errors.pydantic.dev/{VERSION}/", str(exc))
    dumped = made.model_dump(exclude_unset=True)
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in dumped.items()}


def ours(model: type[BaseModel], given: dict[str, Any]) -> str | dict[str, Any]:
    compiled = compile_model(model.__name__, SCHEMAS[model], frozenset({"user"}))
    try:
        return compiled.validate(given, VERSION)
    except DifyError as exc:
        assert exc.code == "invalid_param" and exc.status == 400
        return exc.message


def short(value: Any) -> str:
    return repr(value)[:40]


def assert_alike(model: type[BaseModel], given: dict[str, Any]) -> None:
    expected, got = theirs(model, given), ours(model, given)
    if isinstance(expected, str):
        assert got == expected
    else:  # repr: 1 and 1.0, nan and nan, told apart and alike
        assert repr(got) == repr(expected)


INT_TEXTS = [
    *("0", "101", "1", "100", "-5", "-0", "+5", "+-5", "-+5", "--5", "0005", "-05", "0_1", "1_0", "1_000"),
    *("_1", "1_", "1__0", " 5 ", "\t7\n", "\u30007", "\x1c7", "7\x85", "2.0", "2.00", "1_0.0", "00.00", "-0.0"),
    *("2.", "5.", ".5", ".0", "2._0", "1.5", "2.0000000001", "", "  ", "-", "+", "abc", "0x10", "1e3", "inf"),
    *("nan", "\u0665", "1 0", "0-5", "00-5", "9" * 30, "9" * 30 + ".0", "1" * 4300, "1" * 4301, "-" + "1" * 4299),
    *("1" * 4301 + "x", " " + "1" * 4301, "0" * 5000, "9223372036854775807", "9223372036854775808"),
]
INT_VALUES = [
    *(0, 1, 100, 101, -1, True, False, None, 1.0, 0.5, 2.5, 100.0, 1e19, 9.2e18, -9.3e18, 2.0**63),
    *(float("inf"), float("nan"), [], {}, [1]),
]
FLOAT_TEXTS = [
    *("1_0", " 5 ", "+5", "inf", "-Infinity", "+nan", "NaN", "iNf", "infinity", "1e3", "1E5", ".5", "5."),
    *("0x1", "1__0", "_1", "", "  ", "1_0.5", "1.5_0", "1_e5", " 1_0", "1_0 ", "\x1c7", "\u0661", "1e", "e5"),
    *("0.5", "0.50000001", "2", "1.999", "1e-7", "1.0000001e-7", "1e21", "9.99e20"),
]


@pytest.mark.parametrize("field", ["page", "top_k", "step", "either"])
@pytest.mark.parametrize("value", INT_TEXTS + INT_VALUES, ids=short)
def test_an_integer_is_read_and_bounded_as_pydantic_does(field, value):
    assert_alike(Bounds, {field: value})


@pytest.mark.parametrize("field", ["score", "ratio", "tiny", "huge", "half"])
@pytest.mark.parametrize("value", FLOAT_TEXTS + INT_VALUES, ids=short)
def test_a_number_is_read_and_bounded_as_pydantic_does(field, value):
    assert_alike(Bounds, {field: value})


def test_a_number_past_4300_characters_sign_included_is_too_big():
    # pydantic 2.11/2.12's jiter counts the sign (2.14's does not): Dify's pins are the former.
    message = ours(Bounds, {"page": "-" + "1" * 4300})
    assert "  Unable to parse input string as an integer, exceeded maximum size [type=int_parsing_size," in message


def test_a_query_strings_limit_is_text_checked_after_it_is_an_int():
    assert ours(ConversationListQuery, {"user": "u", "limit": "0"}) == theirs(ConversationListQuery, {"limit": "0"})
    assert (
        "Input should be greater than or equal to 1 [type=greater_than_equal, input_value='0', input_type=str]"
        in str(ours(ConversationListQuery, {"limit": "0"}))
    )
    assert ours(ConversationListQuery, {"limit": " 1_0 "}) == {"limit": 10}


@pytest.mark.parametrize(
    "given",
    [
        *({"name": v} for v in ("", "x", "x" * 40, "x" * 41, "é" * 40, "é" * 41, 5, None, ["x"])),
        *({"name": "n", "description": v} for v in ("x" * 400, "x" * 401, None)),
        *({"name": "n", "variable_name": v} for v in ("", "v", "v" * 255, "v" * 256, None, 0)),
        *({"name": "n", "one": v} for v in ("", "a", "ab", "😀", "😀😀")),
        *({"name": "n", "code": v} for v in ("a", "A", "ab", "Ab", "ab\n", "a\nb", "abc", "ab1", "ABC", "")),
        *({"name": "n", "segments": v} for v in ([], [{}], [1], [{}, "x"], "x", None)),
        *({"name": "n", "tags": v} for v in ([], ["a"], ["a", "b"], ["a", "b", "c"], [1], [1, "b", 3], ["a", 2])),
        *({"name": "n", "ids": v} for v in ([], [1, 2, 3], [1, 2, 3, 4], ["x", 2, 3, 4, "y"], ["1", "x"], ["1_0"])),
        *({"name": "n", "pair": v} for v in ([], [1], ["a"], [1, "a"], ["1", "2"], [1, 2, 3])),
        {"name": "", "description": "x" * 401, "code": "A", "tags": [], "ids": [1, 2, 3, 4], "pair": ["a"]},
        {},
        {"user": "u"},
    ],
    ids=short,
)
def test_lengths_and_patterns_are_checked_as_pydantic_does(given):
    assert_alike(Texts, given)


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"^[a-z]+$", "abc\n"),
        (r"^[a-z]+$", "abc"),
        (r"a$", "a\n"),
        (r"a$|^b", "a\nb"),
        (r"[$]x", "$x"),
        (r"\$$", "$"),
        (r"\$$", "$\n"),
        (r"[^]a]$", "b\n"),
        (r"(?m)^a$", "a\nb"),
        (r"^\d+$", "\u0663\u0664"),
        (r"\w+", "é"),
    ],
)
def test_a_pattern_is_rusts_regex(pattern, text):
    adapter = TypeAdapter(Annotated[str, Field(pattern=pattern)])
    try:
        adapter.validate_python(text)
        matched = True
    except ValidationError:
        matched = False
    assert (rust_regex(pattern).search(text) is not None) == matched


@pytest.mark.parametrize(
    ("number", "text"),
    [(1, "1"), (1.0, "1"), (0.5, "0.5"), (1e-7, "0.0000001"), (1e21, "1" + "0" * 21), (-2.5, "-2.5")],
)
def test_a_bound_is_printed_as_rust_prints_it(number, text):
    assert shown(number) == text


VALID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _mutations() -> list[str]:
    """Every single-character deletion, insertion and substitution of four well-formed UUIDs."""
    seeds = [VALID, VALID.replace("-", ""), "{" + VALID + "}", "urn:uuid:" + VALID]
    found = set(seeds)
    for seed in seeds:
        for i in range(len(seed) + 1):
            found.add(seed[:i] + seed[i + 1 :])
            for char in "-0aFG{}é :\n":
                found.update((seed[:i] + char + seed[i:], seed[:i] + char + seed[i + 1 :]))
    return sorted(found)


# Recorded from pydantic 2.12.5 (and equal in 2.11.10): what follows "Input should be a valid UUID, ".
UUID_TEXTS_212 = {
    "x": "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `x` at 1",
    "é": "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `é` at 1",
    VALID[:-1]
    + "é": "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `é` at 36",
    " "
    + VALID: "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found ` ` at 1",
    "-{"
    + VALID
    + "}": "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `{` at 2",
    "": "invalid length: expected length 32 for simple format, found 0",
    "0" + VALID.replace("-", ""): "invalid length: expected length 32 for simple format, found 33",
    "{" + VALID.replace("-", "") + "aaaa}": "invalid length: expected length 32 for simple format, found 36",
    "urn:uuid:" + VALID.replace("-", ""): "invalid group count: expected 5, found 1",
    VALID[:23]: "invalid group count: expected 5, found 4",
    VALID[:-1]: "invalid group length in group 4: expected 12, found 11",
    VALID + "a": "invalid group length in group 4: expected 12, found 13",
    "7c9e667-97425-40de-944b-e07fc1f90ae7": "invalid group length in group 0: expected 8, found 7",
    "urn:uuid:aaaaaaaa-aaaa-aaaa-aaaa-a": "invalid group length in group 4: expected 12, found 10",
}


def _uuid_texts_are_212s() -> bool:
    """pydantic 2.14's newer uuid crate counts from 0 and words lengths otherwise; Dify pins 2.11/2.12."""
    try:
        TypeAdapter(uuid.UUID).validate_python("x")
    except ValidationError as exc:
        return "expected an optional prefix" in str(exc)
    return False


@pytest.mark.parametrize(("text", "error"), UUID_TEXTS_212.items(), ids=short)
def test_a_uuid_field_words_its_errors_as_pydantic_2_12(text, error):
    message = ours(Uuids, {"id": text})
    assert f"  Input should be a valid UUID, {error} [type=uuid_parsing," in message
    if _uuid_texts_are_212s():
        assert message == theirs(Uuids, {"id": text})


@pytest.mark.skipif(
    not _uuid_texts_are_212s(), reason=f"pydantic {pydantic.VERSION} words UUID errors unlike 2.11/2.12"
)
def test_malformed_uuids_fail_as_in_pydantic():
    for text in _mutations():
        assert_alike(Uuids, {"id": text, "maybe": text})


@pytest.mark.parametrize(
    "value",
    [VALID, VALID.upper(), VALID.replace("-", ""), "{" + VALID + "}", "urn:uuid:" + VALID, 5, 5.5, True, None, [], {}],
    ids=short,
)
def test_a_uuid_field_takes_four_forms_and_hands_on_canonical_text(value):
    assert_alike(Uuids, {"id": value})
    assert_alike(Uuids, {"id": VALID, "maybe": value})


def test_parse_uuid_reads_what_the_crate_reads():
    for text in (VALID, VALID.upper(), VALID.replace("-", ""), "{" + VALID + "}", "urn:uuid:" + VALID):
        assert parse_uuid(text) == uuid.UUID(VALID)


UUID_STR_VALUES = [
    *("", " ", "not-a-uuid", " " + VALID + " ", VALID, VALID.upper(), VALID.replace("-", ""), "{" + VALID + "}"),
    *("urn:uuid:" + VALID, "{{" + VALID + "}}", " " + "a" * 31, "+" + "a" * 31, "a_" * 16, "x" * 60),
    *(5, 0, None, True, [], {}),
]


@pytest.mark.parametrize("value", UUID_STR_VALUES, ids=short)
def test_uuid_str_or_empty_is_difys_after_validator(value):
    assert_alike(ConversationListQuery, {"user": "u", "last_id": value})
    assert_alike(MessageListQuery, {"user": "u", "conversation_id": value, "first_id": value})


@pytest.mark.parametrize(
    "given",
    [
        {"user": "a"},
        {},
        {"name": None},
        {"name": ""},
        {"name": "  "},
        {"name": " \t", "user": "x" * 60},
        {"name": "n"},
        {"name": None, "auto_generate": True},
        {"name": None, "auto_generate": "yes"},
        {"auto_generate": "0"},
        {"auto_generate": "maybe"},
        {"name": 5},
        {"name": 5, "auto_generate": "x"},
    ],
    ids=short,
)
def test_the_rename_model_validator_has_no_location_and_the_whole_input(given):
    assert_alike(ConversationRenamePayload, given)


def test_a_missing_query_field_shows_the_whole_query():
    query = {"user": "u", "limit": "5", "first_id": ""}
    assert ours(MessageListQuery, query) == theirs(MessageListQuery, query)
    assert "input_value={'user': 'u', 'limit': '5', 'first_id': ''}, input_type=dict]" in str(
        ours(MessageListQuery, query)
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"properties": {"a": {"type": "string", "x-pydantic": {"validator": "uuid_or_nothing"}}}},
        {"x-pydantic": {"model_validator": "name_required"}, "properties": {}},
    ],
)
def test_an_unknown_x_pydantic_name_is_refused_when_compiled(schema):
    with pytest.raises(ValueError, match="x-pydantic names"):
        compile_model("M", schema)
