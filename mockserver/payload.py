"""Request bodies checked as Dify's pydantic models check them (lax mode), with pydantic's exact text.

A body schema (JSON Schema, its properties in the model's declaration order) compiles once into a
Model; `Model.validate(body, pydantic_version)` returns the coerced fields or raises DifyError 400
invalid_param whose message is what `str(ValidationError)` gives in Dify:

    2 validation errors for ChatRequestPayload
    inputs
      Field required [type=missing, input_value={'user': 'u'}, input_type=dict]
        For further information visit https://errors.pydantic.dev/2.12/v/missing
    ...

Facts reproduced with pydantic 2.11.10 and 2.12.5 against models declared as Dify 1.12.0-1.16.1
declare them (api/controllers/service_api/app/completion.py, workflow.py): every error in field
order, `input_value` the Python repr cut to 25 + "..." + 24 bytes past 50, lax booleans, and the
conversation_id before-validator whose non-string values escape pydantic as a 500."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mockserver.errors import DifyError

_MISSING: Final = object()
_TRUE: Final = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE: Final = frozenset({"0", "off", "f", "false", "n", "no"})
_MESSAGES: Final = {
    "missing": "Field required",
    "dict_type": "Input should be a valid dictionary",
    "string_type": "Input should be a valid string",
    "list_type": "Input should be a valid list",
    "bool_type": "Input should be a valid boolean",
    "bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "float_type": "Input should be a valid number",
    "float_parsing": "Input should be a valid number, unable to parse string as a number",
}


class Invalid(Exception):
    """One pydantic error at a location inside the field."""

    def __init__(self, kind: str, value: Any, loc: tuple[str | int, ...] = (), message: str | None = None) -> None:
        super().__init__(kind)
        self.kind, self.value, self.loc = kind, value, loc
        self.message = message if message is not None else _MESSAGES[kind]


Check = Callable[[Any], Any]  # returns the coerced value or raises Invalid


def input_value(value: Any) -> str:
    """pydantic-core's `input_value=`: the repr, cut to 25 bytes + '...' + 24 bytes beyond 50 bytes."""
    text = repr(value)
    raw = text.encode()
    if len(raw) <= 50:
        return text
    head = raw[:25].decode(errors="ignore")
    tail = raw[-24:].decode(errors="ignore")
    return f"{head}...{tail}"


def _type_name(value: Any) -> str:
    return type(value).__name__


def _dict(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    raise Invalid("dict_type", value)


def _str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise Invalid("string_type", value)


def _bool(value: Any) -> Any:
    """pydantic's lax bool: booleans, 0/1, and the words of _TRUE/_FALSE in any case (no stripping)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise Invalid("bool_parsing", value)
    if isinstance(value, float) and value in (0.0, 1.0):
        return bool(value)
    if isinstance(value, str):
        word = value.lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise Invalid("bool_parsing", value)
    raise Invalid("bool_type", value)


def _int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise Invalid("int_from_float", value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise Invalid("int_parsing", value) from None
    raise Invalid("int_type", value)


def _float(value: Any) -> Any:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise Invalid("float_parsing", value) from None
    raise Invalid("float_type", value)


def _list(items: Check | None) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise Invalid("list_type", value)
        if items is None:
            return value
        out, errors = [], []
        for i, item in enumerate(value):
            try:
                out.append(items(item))
            except Invalid as exc:
                errors.append(Invalid(exc.kind, exc.value, (i, *exc.loc), exc.message))
        if errors:
            raise _Several(errors)
        return out

    return check


class _Several(Exception):
    def __init__(self, errors: list[Invalid]) -> None:
        super().__init__(len(errors))
        self.errors = errors


def _literal(options: list[Any]) -> Check:
    quoted = [f"'{o}'" if isinstance(o, str) else repr(o) for o in options]
    text = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def check(value: Any) -> Any:
        if value in options and type(value) in (type(o) for o in options):
            return value
        raise Invalid("literal_error", value, message=f"Input should be {text}")

    return check


def _uuid_or_empty(message: str) -> Check:
    """Dify's conversation_id before-validator: blank means none; a string must be a UUID; a truthy
    non-string makes uuid.UUID raise AttributeError, which pydantic does not wrap (a 500)."""

    def check(given: Any) -> Any:
        value = given.strip() if isinstance(given, str) else given
        if not value:
            return None
        if not isinstance(value, str):
            raise DifyError("unknown")
        try:
            return str(uuid.UUID(value))
        except ValueError:  # pydantic reports the value the validator was given, unstripped
            raise Invalid("value_error", given, message=f"Value error, {message}") from None

    return check


_VALIDATORS: Final[dict[str, Callable[[str], Check]]] = {"uuid_or_empty": _uuid_or_empty}
_TYPES: Final[dict[str, Check]] = {
    "object": _dict,
    "string": _str,
    "boolean": _bool,
    "integer": _int,
    "number": _float,
}


def compile_field(schema: dict[str, Any]) -> tuple[Check, bool]:
    """(check, accepts None) for one property schema."""
    named = schema.get("x-pydantic")
    if isinstance(named, dict) and named.get("validator") in _VALIDATORS:
        return _VALIDATORS[named["validator"]](str(named.get("message", ""))), True
    if "enum" in schema:
        options = [o for o in schema["enum"] if o is not None]
        return _literal(options), None in schema["enum"]
    kinds = schema.get("type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    nullable = "null" in kinds
    kind = next((k for k in kinds if k != "null"), None)
    if kind == "array":
        items = schema.get("items")
        return _list(compile_field(items)[0] if isinstance(items, dict) and items else None), nullable
    check = _TYPES.get(str(kind))
    return (check or (lambda v: v)), nullable


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    check: Check
    nullable: bool
    required: bool


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    fields: tuple[Field, ...]

    def validate(self, body: dict[str, Any], version: str) -> dict[str, Any]:
        """The coerced fields present in `body`; DifyError 400 invalid_param with pydantic's text."""
        out: dict[str, Any] = {}
        errors: list[tuple[str, Invalid]] = []
        for field in self.fields:
            value = body.get(field.name, _MISSING)
            if value is _MISSING:
                if field.required:
                    errors.append((field.name, Invalid("missing", body)))
                continue
            if value is None and field.nullable:
                out[field.name] = None
                continue
            try:
                out[field.name] = field.check(value)
            except Invalid as exc:
                errors.append((field.name, exc))
            except _Several as several:
                errors.extend((field.name, exc) for exc in several.errors)
        if errors:
            raise DifyError("invalid_param", self.describe(errors, version))
        return out

    def describe(self, errors: list[tuple[str, Invalid]], version: str) -> str:
        count = len(errors)
        lines = [f"{count} validation error{'s' if count != 1 else ''} for {self.name}"]
        for name, exc in errors:
            lines.append(".".join(str(p) for p in (name, *exc.loc)))
            lines.append(
                f"  {exc.message} [type={exc.kind}, input_value={input_value(exc.value)}, "
                f"input_type={_type_name(exc.value)}]"
            )
            lines.append(f"    For further information visit https://errors.pydantic.dev/{version}/v/{exc.kind}")
        return "\n".join(lines)


def compile_model(name: str, schema: dict[str, Any], skip: frozenset[str] = frozenset()) -> Model:
    """A Model from an object schema; `skip` names properties the model does not declare (the
    `user` Dify reads before the model, and ignores there)."""
    required = set(schema.get("required") or ())
    fields = []
    for prop, sub in (schema.get("properties") or {}).items():
        if prop in skip:
            continue
        check, nullable = compile_field(sub if isinstance(sub, dict) else {})
        fields.append(Field(prop, check, nullable, prop in required))
    return Model(name, tuple(fields))
