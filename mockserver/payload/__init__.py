"""Request bodies and query strings checked as Dify's pydantic models check them (lax mode), with
pydantic's exact text.

An object schema (JSON Schema, its properties in the model's declaration order) compiles once into
a Model; `Model.validate(body, pydantic_version)` returns the coerced fields or raises DifyError 400
invalid_param whose message is what `str(ValidationError)` gives in Dify:

    2 validation errors for ChatRequestPayload
    inputs
      Field required [type=missing, input_value={'user': 'u'}, input_type=dict]
        For further information visit https://errors.pydantic.dev/2.12/v/missing
    ...

A property's `type`, `format: uuid` and `enum` are pydantic's types (payload/types.py, which reads
text as numbers with payload/numbers.py and as UUIDs with payload/uuids.py); its constraints are
Field() arguments (payload/constraints.py). This module keeps the model and the text; Dify's own
validators (payload/validators.py) are found by the names a schema's `x-pydantic` gives them:
`{"validator": name, "message": text}` on a property (VALIDATORS), `{"type": name}` on a property
for one of Dify's union types (types.NAMED_TYPES), `{"model_validator": name}` on the object (MODEL_VALIDATORS; its
error has no location and the whole input as its value, and it runs only once every field is valid),
`{"model_before": name}` on the object (MODEL_BEFORE: rewrites the input before any field is read).
An `x-pydantic` with `"since": "1.14"` is what that release added: a model compiled for an older
release (`compile_model(..., release="1.12")`) leaves it out (no validator; a Literal, not an Enum).

Facts reproduced with pydantic 2.11.10, 2.12.5 and 2.14.4 against models declared as Dify 1.12.0-
1.16.1 declare them (api/controllers/service_api/app/completion.py, workflow.py, conversation.py,
controllers/common/controller_schemas.py): every error in field order, `input_value` the Python
repr cut to 25 + "..." + 24 bytes past 50, lax booleans, and the conversation_id before-validator
whose non-string values escape pydantic as a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from msgspec import Struct
from msgspec.structs import force_setattr

from mockserver.errors import DifyError
from mockserver.payload import constraints
from mockserver.payload.types import (
    NAMED_TYPES,
    TYPES,
    Check,
    Invalid,
    Several,
    constrained,
    list_of,
    literal,
    smart_union,
    uuid_text,
)
from mockserver.payload.validators import MODEL_BEFORE, MODEL_VALIDATORS, VALIDATORS, Named

_T = TypeVar("_T")
_MISSING: Final = object()


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


_RULES: Final[dict[str, Callable[[dict[str, Any]], list[constraints.Constraint]]]] = {
    "integer": lambda schema: constraints.numeric(schema, real=False),
    "number": lambda schema: constraints.numeric(schema, real=True),
    "string": constraints.text,
}


def _known(table: dict[str, _T], name: Any) -> _T:
    """A name from a schema's x-pydantic; one the table lacks is the schema's mistake, not ignored."""
    if name not in table:
        raise ValueError(f"x-pydantic names {name!r}, not one of {', '.join(sorted(table))}")
    return table[name]


def _validated(named: Named, message: str, check: Check, nullable: bool) -> tuple[Check, bool]:
    """A field with a Dify validator around its type check; its ValueError is pydantic's value_error
    on the value the field was given."""
    validator = named.make(message)
    if named.mode == "after":

        def after(value: Any) -> Any:
            checked = check(value)
            try:
                return validator(checked)
            except ValueError as exc:
                raise Invalid.raised(exc, value) from None

        return after, nullable

    def before(value: Any) -> Any:
        try:
            given = validator(value)
        except ValueError as exc:
            raise Invalid.raised(exc, value) from None
        return None if given is None and nullable else check(given)

    return before, False  # None goes to the validator too


def _before(release: str, since: Any) -> bool:
    """Whether `release` ("1.12") is older than `since` ("1.14")."""

    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split(".") if p.isdigit())

    return parts(release) < parts(str(since))


def compile_field(schema: dict[str, Any], release: str | None = None) -> tuple[Check, bool]:
    """(check, accepts None) for one property schema, as `release` declares it (None: the newest)."""
    named = schema.get("x-pydantic")
    if isinstance(named, dict) and release is not None and "since" in named and _before(release, named["since"]):
        schema, named = {k: v for k, v in schema.items() if k != "x-pydantic"}, None
    if isinstance(named, dict) and "validator" in named:
        # Dify's validated fields are strs: the type check is the schema's without x-pydantic and format
        plain = {k: v for k, v in schema.items() if k not in ("x-pydantic", "format")}
        rule = _known(VALIDATORS, named["validator"])
        return _validated(rule, str(named.get("message", "")), *compile_field(plain, release))
    if isinstance(named, dict) and "type" in named:
        return _known(NAMED_TYPES, named["type"]), False  # a union of Dify's: None is one of its branches
    if "enum" in schema:
        options = [o for o in schema["enum"] if o is not None]
        # x-pydantic {"enum": "RetrievalMethod"}: a str Enum (type=enum), not a Literal (type=literal_error)
        kind = "enum" if isinstance(named, dict) and "enum" in named else "literal_error"
        return literal(options, kind), None in schema["enum"]
    kinds = schema.get("type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    nullable = "null" in kinds
    members = [str(k) for k in kinds if k != "null"]
    if len(members) > 1:  # `str | int | float`: pydantic's smart-mode Union
        return smart_union(members), nullable
    kind = str(next(iter(members), None))
    if kind == "object" and isinstance(schema.get("properties"), dict):
        return _nested(compile_model(str(schema.get("title") or "Model"), schema, release=release)), nullable
    if kind == "array":
        items = schema.get("items")
        check = compile_field(items, release)[0] if isinstance(items, dict) and items else None
        return list_of(check, *constraints.items(schema)), nullable
    if kind == "string" and schema.get("format") == "uuid":
        return uuid_text, nullable
    if kind not in TYPES:
        return (lambda value: value), nullable
    rules = _RULES.get(kind)
    return constrained(TYPES[kind], rules(schema) if rules else []), nullable


class Field(Struct, eq=False):
    """One field of a request model: its compiled check and whether it may be null or missing."""

    name: Final[str]
    check: Final[Check]
    nullable: Final[bool]
    required: Final[bool]


class Model(Struct, eq=False):
    """A compiled request model: its fields and model validators. `check(body)` gives the coerced fields
    present in `body` and every error, in field order."""

    name: Final[str]
    fields: Final[tuple[Field, ...]]
    after: Final[Callable[[dict[str, Any]], None] | None] = None  # the model validator, once every field is valid
    before: Final[Callable[[dict[str, Any]], dict[str, Any]] | None] = None  # a mode="before" model validator
    check: Final[Callable[[dict[str, Any]], tuple[dict[str, Any], list[Invalid]]]] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        force_setattr(self, "check", _checker(self))

    def validate(self, body: dict[str, Any], version: str) -> dict[str, Any]:
        """The coerced fields present in `body`; DifyError 400 invalid_param with pydantic's text."""
        out, errors = self.check(body)
        if errors:
            raise DifyError("invalid_param", self.describe(errors, version))
        return out

    def describe(self, errors: list[Invalid], version: str) -> str:
        count = len(errors)
        lines = [f"{count} validation error{'s' if count != 1 else ''} for {self.name}"]
        for exc in errors:
            if exc.loc:
                lines.append(".".join(str(p) for p in exc.loc))
            lines.append(
                f"  {exc.message} [type={exc.kind}, input_value={input_value(exc.value)}, "
                f"input_type={_type_name(exc.value)}]"
            )
            lines.append(f"    For further information visit https://errors.pydantic.dev/{version}/v/{exc.kind}")
        return "\n".join(lines)


def _checker(model: Model) -> Callable[[dict[str, Any]], tuple[dict[str, Any], list[Invalid]]]:
    """The model's check, written out field by field and compiled: a loop over the fields read each
    field's name, flags and check as attributes on every request, which cost a blocking chat more than
    the checks themselves. What it does is that loop's, field for field:
    a missing field is `missing` when required and left out otherwise; None passes a nullable field;
    any other value goes through the field's check, whose errors are located at the field."""
    names: dict[str, Any] = {"MISSING": _MISSING, "Invalid": Invalid, "Several": Several}
    lines = ["def check(body):"]
    if model.before is not None:
        names["before"] = model.before
        lines.append("    body = before(body)")
    lines += ["    out = {}", "    errors = []"]
    for i, field in enumerate(model.fields):
        names[f"N{i}"], names[f"C{i}"] = field.name, field.check
        lines += [f"    v = body.get(N{i}, MISSING)", "    if v is MISSING:"]
        lines.append(f"        errors.append(Invalid('missing', body, (N{i},)))" if field.required else "        pass")
        if field.nullable:
            lines += ["    elif v is None:", f"        out[N{i}] = None"]
        lines += [
            "    else:",
            "        try:",
            f"            out[N{i}] = C{i}(v)",
            "        except Invalid as exc:",
            f"            errors.append(exc.at(N{i}))",
            "        except Several as several:",
            f"            errors.extend(exc.at(N{i}) for exc in several.errors)",
        ]
    if model.after is not None:
        # The model's own validator: no location, the whole input as its value.
        names["after"] = model.after
        lines += [
            "    if not errors:",
            "        try:",
            "            after(out)",
            "        except ValueError as exc:",
            "            errors.append(Invalid.raised(exc, body))",
        ]
    lines.append("    return out, errors")
    exec(compile("\n".join(lines), f"<model {model.name}>", "exec"), names)  # the text is ours, names only
    checker: Callable[[dict[str, Any]], tuple[dict[str, Any], list[Invalid]]] = names["check"]
    return checker


def _nested(model: Model) -> Check:
    """A field whose type is another model (its schema's `title`): a dict, checked field by field; its
    errors are located under the field (`retrieval_model.top_k`)."""

    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            text = f"Input should be a valid dictionary or instance of {model.name}"
            raise Invalid("model_type", value, message=text)
        out, errors = model.check(value)
        if errors:
            raise Several(errors)
        return out

    return check


def compile_model(
    name: str, schema: dict[str, Any], skip: frozenset[str] = frozenset(), release: str | None = None
) -> Model:
    """A Model from an object schema; `skip` names properties the model does not declare (the
    `user` Dify reads before the model, and ignores there); `release` the Dify release it is
    compiled for (x-pydantic `since`)."""
    required = set(schema.get("required") or ())
    fields = []
    for prop, sub in (schema.get("properties") or {}).items():
        if prop in skip:
            continue
        check, nullable = compile_field(sub if isinstance(sub, dict) else {}, release)
        fields.append(Field(prop, check, nullable, prop in required))
    named = schema.get("x-pydantic")
    after = before = None
    if isinstance(named, dict) and "model_validator" in named:
        after = _known(MODEL_VALIDATORS, named["model_validator"])
    if isinstance(named, dict) and "model_before" in named:
        before = _known(MODEL_BEFORE, named["model_before"])
    return Model(name, tuple(fields), after, before)
